"""``admfit-torch train``: the whole loop on toy data, and the stages' skip / refuse / force / resume logic."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from admfit.errors import InputError
from admfit_cli.torch_main import app
from admfit_torch.config import preset
from admfit_torch.data import VideoItem, inference_sample, training_sample
from admfit_torch.pseudo import attach_pseudo_labels
from admfit_torch.run.layout import FIELDS_ADDED, RunLayout
from admfit_torch.run.stages import STAGE_NAMES, stage_named, stage_settings
from admfit_torch.run.state import StageState, fork_run

from ..helpers import assert_one_line_error, invoke
from .toydata import write_toy_dataset

FAST = ["--config", "cpu-small", "--set", "optim.epochs=2", "--set", "run.figures=0", "--no-progress"]


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    return write_toy_dataset(tmp_path_factory.mktemp("toy"), 6, length=96, seed=3)


def _data(toy):
    return ["--features", toy["features"], "--annotations", toy["annotations"], "--points", toy["points"]]


@pytest.fixture(scope="module")
def finished(toy, tmp_path_factory):
    out = tmp_path_factory.mktemp("loop")
    code, stdout, stderr = run("train", "--output", out, *_data(toy), *FAST, "--set", "run.figures=1")
    assert code == 0, stderr
    return out, stdout


def test_the_loop_writes_every_stage_and_a_report(finished, toy):
    out, stdout = finished
    layout = RunLayout(out)
    for stage in ("base", "pseudo", "main", "eval"):
        assert stage_named(stage).artefact(layout).is_file() and f"{stage}: running" in stdout
    report = json.loads(layout.report_json.read_text())
    assert set(report) >= {"base", "main", "pseudo_labels", "dataset", "tious"}
    assert len(report["base"]["map"]) == len(report["tious"]) == 7
    points = report["dataset"]["train_points"]
    psi = json.loads(layout.pseudo_labels.read_text())["results"]
    assert sum(len(v) for v in psi.values()) == points  # one pseudo-label per point (eq. 13)
    assert report["pseudo_labels"]["adm"]["alpha"] == pytest.approx(points / report["pseudo_labels"]["adm"]["num_ground_truth"], abs=1e-3)
    markdown = layout.report_md.read_text()
    assert "ADM pseudo-labels" in markdown and "ADM-Loc main model" in markdown
    assert len(report["figures"]) == 1 and (out / report["figures"][0]).stat().st_size > 1000
    assert f"]({report['figures'][0]})" in markdown
    state = json.loads(layout.state.read_text())
    assert all(state[s]["finished"] for s in ("base", "pseudo", "main", "eval"))
    checkpoint = torch.load(layout.main_checkpoint, weights_only=True)
    assert checkpoint["stage"] == "main" and checkpoint["config"]["main"]["sigma_samples"] >= 2
    assert any(".sigma_head." in key for key in checkpoint["ema"])


def test_a_finished_run_is_skipped_stage_by_stage(finished, toy):
    out, _ = finished
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file() and p.name != "config.yaml"}
    code, stdout, stderr = run("train", "--output", out, *_data(toy), *FAST)
    assert code == 0, stderr
    assert stdout.count("done, skipped") == 4
    after = {p: p.stat().st_mtime_ns for p in before}
    assert after == before


def test_changed_settings_are_refused_with_the_field(finished, toy):
    out, _ = finished
    code, stdout, stderr = run("train", "--output", out, *_data(toy), *FAST, "--set", "main.lambda_gauss=0.5")
    assert_one_line_error(code, stdout, stderr, "main.lambda_gauss")


@pytest.mark.parametrize("field, other", [("main.init", "base"), ("adm.tuning", "auto")])
def test_a_field_added_after_a_stage_ran_is_no_change_at_its_default(finished, toy, tmp_path, field, other):
    """A run folder of an older admfit has no record of a newer field (main.init, adm.tuning): at the value that
    reproduces the older behaviour (FIELDS_ADDED) the stages are skipped, at another value the stage is refused."""
    out = tmp_path / "older"
    shutil.copytree(finished[0], out)
    layout = RunLayout(out)
    state = json.loads(layout.state.read_text())
    for record in state.values():
        record.get("settings", {}).pop(field, None)
    layout.state.write_text(json.dumps(state))
    code, stdout, stderr = run("train", "--output", out, *_data(toy), *FAST, "--set", f"{field}={FIELDS_ADDED[field]}")
    assert code == 0, stderr
    assert stdout.count("done, skipped") == 4
    code, stdout, stderr = run("train", "--output", out, *_data(toy), *FAST, "--set", f"{field}={other}")
    assert_one_line_error(code, stdout, stderr, field)


def test_main_init_base_starts_the_main_model_from_the_base_model(finished, toy, tmp_path):
    from admfit_torch.checkpoint import load_checkpoint
    from admfit_torch.train import initial_model, load_start_weights

    out, _ = finished
    cfg = preset("cpu-small", main={"sigma_samples": 4})
    state = load_checkpoint(RunLayout(out).base_checkpoint)
    classes = list(state["classes"])
    model = initial_model(cfg, len(classes), "main", sigma_scale=10.0)
    fresh_head = {k: v.clone() for k, v in model.state_dict().items() if k.startswith("sigma_head.")}
    load_start_weights(model, RunLayout(out).base_checkpoint, classes)
    loaded = model.state_dict()
    ema = {k.removeprefix("module."): v for k, v in state["ema"].items() if k != "n_averaged"}
    assert ema and all(torch.equal(loaded[k], v) for k, v in ema.items())
    assert fresh_head and all(torch.equal(loaded[k], v) for k, v in fresh_head.items())
    with pytest.raises(InputError, match="other classes"):
        load_start_weights(model, RunLayout(out).base_checkpoint, classes[::-1])


def test_force_redoes_one_stage_and_forgets_the_later_ones(toy, tmp_path, finished):
    import shutil

    out = tmp_path / "copy"
    shutil.copytree(finished[0], out)
    layout = RunLayout(out)
    base_time = layout.base_checkpoint.stat().st_mtime_ns
    code, stdout, stderr = run("train", "--output", out, *_data(toy), *FAST, "--set", "main.sampling_radius=inf",
                               "--stage", "main", "--force")
    assert code == 0, stderr
    assert "main: running" in stdout and "r_s=inf" in stdout
    assert not layout.report_json.exists()  # eval was built on the old main model
    assert layout.base_checkpoint.stat().st_mtime_ns == base_time
    code, stdout, stderr = run("train", "--output", out, *_data(toy), *FAST, "--set", "main.sampling_radius=inf")
    assert code == 0, stderr
    assert stdout.count("done, skipped") == 3 and "eval: running" in stdout


def test_a_stage_needs_the_one_before(toy, tmp_path):
    code, stdout, stderr = run("train", "--output", tmp_path / "run", *_data(toy), *FAST, "--stage", "pseudo")
    assert code == 2 and "needs the 'base' stage" in stderr


def test_an_interrupted_training_stage_resumes(toy, tmp_path):
    out = tmp_path / "run"
    code, _, stderr = run("train", "--output", out, *_data(toy), *FAST, "--stage", "base")
    assert code == 0, stderr
    layout = RunLayout(out)
    records = json.loads(layout.state.read_text())
    records["base"]["finished"] = None  # as if killed after the last epoch's checkpoint, before the record
    layout.state.write_text(json.dumps(records))
    metrics = (layout.base / "metrics.jsonl").read_text().splitlines()
    code, stdout, stderr = run("train", "--output", out, *_data(toy), "--config", "cpu-small", "--set", "optim.epochs=3",
                               "--set", "optim.warmup_epochs=2", "--set", "run.figures=0", "--no-progress",
                               "--stage", "base")
    assert code == 2 and "optim.epochs" in stderr  # other settings than the interrupted run: refused
    code, stdout, stderr = run("train", "--output", out, *_data(toy), *FAST, "--stage", "base")
    assert code == 0, stderr
    assert "base: resuming" in stdout and "0 epochs" in stdout
    assert (layout.base / "metrics.jsonl").read_text().splitlines() == metrics


def test_the_stage_table_drives_the_cli_choices_and_the_records(finished):
    from admfit_cli.torch_main import Stage

    assert [choice.value for choice in Stage] == [*STAGE_NAMES, "all"]
    assert STAGE_NAMES == ("base", "pseudo", "main", "eval")
    out, _ = finished
    state = json.loads(RunLayout(out).state.read_text())
    assert list(state) == list(STAGE_NAMES) and all(state[name]["seconds"] >= 0 for name in STAGE_NAMES)
    report = json.loads(RunLayout(out).report_json.read_text())
    assert list(report["seconds"]) == ["base", "pseudo", "main"]  # the stages finished before eval ran


def test_fork_run_shares_the_finished_stages_and_the_pipeline_skips_them(finished, toy, tmp_path):
    from admfit_torch.config import with_overrides
    from admfit_torch.run.pipeline import Pipeline

    source, _ = finished
    target = tmp_path / "fork"
    assert fork_run(source, target, through="pseudo") == ["base", "pseudo"]
    layout = RunLayout(target)
    assert layout.base_checkpoint.read_bytes() == RunLayout(source).base_checkpoint.read_bytes()
    assert layout.pseudo_labels.is_file() and not layout.main.exists() and not layout.report_json.exists()
    assert set(json.loads(layout.state.read_text())) == {"base", "pseudo"}
    with pytest.raises(ValueError, match="already holds a run"):
        fork_run(source, target)
    cfg = with_overrides(preset("cpu-small"), ["optim.epochs=2", "run.figures=0", "main.sampling_radius=inf",
                                              f"run.features={toy['features']}", f"run.annotations={toy['annotations']}",
                                              f"run.points={toy['points']}"])
    lines: list[str] = []
    outcomes = Pipeline(cfg, target, show_progress=False, log=lines.append).run(("base", "pseudo", "main"))
    assert [(o.name, o.action) for o in outcomes] == [("base", "skipped"), ("pseudo", "skipped"), ("main", "ran")]
    assert outcomes[2].seconds is not None and outcomes[2].artefact == layout.main_checkpoint
    unfinished = tmp_path / "unfinished"
    shutil.copytree(target, unfinished)
    with pytest.raises(ValueError, match="'eval' is not finished"):
        fork_run(unfinished, tmp_path / "other", through="eval")


def test_stage_settings_are_cumulative():
    cfg = preset("cpu-small")
    base, main = stage_settings(cfg, "base"), stage_settings(cfg, "main")
    assert "optim.lr" in base and "main.sampling_radius" not in base
    assert set(base) < set(main) and "adm.g1" in main and "inference.nms" not in main


def test_pseudo_labels_must_match_the_points(finished, toy, tmp_path):
    out, _ = finished
    from admfit_torch.sources import load_split

    cfg = preset("cpu-small")
    split = load_split(toy["annotations"], toy["features"], cfg, subset="train", points_path=toy["points"])
    attached = attach_pseudo_labels(split.items, RunLayout(out).pseudo_labels)
    assert all(item.intervals.shape == (len(item.positions), 2) for item in attached)
    moved = [VideoItem(i.video, i.features, i.grid, i.positions + 1.0, i.labels) for i in split.items]
    with pytest.raises(InputError, match="do not match"):
        attach_pseudo_labels(moved, RunLayout(out).pseudo_labels)


def _item_with_pseudo(length=40):
    from admfit.grid import SnippetGrid

    features = np.zeros((length, 4), dtype=np.float32)
    return VideoItem("v", features, SnippetGrid(fps=30, stride=4, num_frames=16), np.array([10.0, 30.0]),
                     np.array([0, 1]), np.array([[6.0, 14.0], [25.0, 36.0]]), np.array([2.0, 3.0]))


def test_samples_carry_pseudo_labels_in_sample_snippets():
    item = _item_with_pseudo()
    crop = preset("cpu-small", data={"input_length": 16, "min_points_kept": 0.4}).data
    sample = training_sample(item, crop, np.random.default_rng(0), 4)
    kept = sample.positions + sample.offset
    rows = [int(np.flatnonzero(item.positions == k)[0]) for k in kept.tolist()]
    assert torch.allclose(sample.intervals, torch.as_tensor(item.intervals[rows] - sample.offset))
    assert torch.allclose(sample.sigmas, torch.as_tensor(item.sigmas[rows]))
    resize = preset("cpu-small", data={"input_length": 20, "length_mode": "resize"}).data
    sample = inference_sample(item, resize, 4)  # 40 snippets -> 20: scale 2
    assert sample.scale == 2.0
    assert torch.allclose(sample.intervals, torch.as_tensor((item.intervals + 0.5) / 2 - 0.5))
    assert torch.allclose(sample.sigmas, torch.as_tensor(item.sigmas / 2))


def test_state_file_damage_is_one_clear_error(tmp_path):
    layout = RunLayout(tmp_path)
    layout.state.write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        StageState(layout)


def test_infer_and_the_plugin_take_the_main_checkpoint(finished, toy, tmp_path):
    out, _ = finished
    code, stdout, stderr = run("eval", "--checkpoint", out / "main", "--features", toy["features"], "--annotations",
                               toy["annotations"], "--tiou", "0.5")
    assert code == 0, stderr
    report = json.loads(RunLayout(out).report_json.read_text())
    assert f"{report['main']['map'][4]:.2f}" in stdout  # the same detections as the eval stage, at tIoU 0.5
    from admfit_torch.plugin import TorchDetector

    detector = TorchDetector(out / "main" / "checkpoint.pt", device="cpu")
    meta = json.loads(RunLayout(out).pseudo_labels.read_text())["meta"]
    assert detector.model.sigma_head is not None and detector.classes == meta["classes"]


def run(*args):
    """The admfit-torch command in-process: (exit code, stdout, stderr)."""
    return invoke(app, *args)


def test_signals_file_carries_the_time_axis_and_admfit_fit_reproduces_the_pseudo_labels(finished, tmp_path):
    """signals.npz says where its last-level steps sit (cpu-small: 3 levels of stride-2 convs centred on 2 j, so
    step j on snippet 4 j); ``admfit fit`` on it gives the pipeline's pseudo-labels, and without those two fields
    (the window-aligned reading of other detectors' files) it would not."""
    import yaml

    from admfit.files.signals import load_signals
    from admfit.levels import StepCentres
    from admfit_cli.main import app as admfit_app

    layout = RunLayout(finished[0])
    assert load_signals(layout.signals).centres == StepCentres(origin=0.0, spacing=4.0)
    document = json.loads(layout.pseudo_labels.read_text())
    points = {video: [{"snippet": int(round(e["point"])), "label": e["label"]} for e in entries]
              for video, entries in document["results"].items()}
    (tmp_path / "points.json").write_text(json.dumps({"points": points}))
    (tmp_path / "adm.yaml").write_text(yaml.safe_dump(document["meta"]["adm"]))
    with np.load(layout.signals) as archive:
        arrays = {key: archive[key] for key in archive.files}
    np.savez(tmp_path / "aligned.npz", **{k: v for k, v in arrays.items() if not k.startswith("step_")})
    fitted = {}
    for name, signals in (("ours", layout.signals), ("aligned", tmp_path / "aligned.npz")):
        code, _, stderr = invoke(admfit_app, "fit", signals, tmp_path / "points.json", "--config",
                                 tmp_path / "adm.yaml", "-o", tmp_path / f"{name}.json", "--quiet")
        assert code == 0, stderr
        results = json.loads((tmp_path / f"{name}.json").read_text())["results"]
        fitted[name] = [(e["t_star"], e["start"], e["end"]) for video in points for e in results[video]]
    expected = [(e["t_star"], e["start"], e["end"]) for video in points for e in document["results"][video]]
    np.testing.assert_allclose(fitted["ours"], expected, rtol=0, atol=1e-6)
    assert not np.allclose(fitted["aligned"], expected, rtol=0, atol=1e-6)


def test_adm_auto_chooses_in_the_pseudo_stage_as_admfit_fit_auto_does(finished, toy, tmp_path):
    """``adm: auto``: the pseudo stage says what it chose, records it in the pseudo-labels' meta, and ``admfit fit
    --auto`` on the stage's signals makes the same labels and the same choice."""
    from admfit_cli.main import app as admfit_app

    out = tmp_path / "copy"
    shutil.copytree(finished[0], out)
    layout = RunLayout(out)
    code, stdout, stderr = run("train", "--output", out, *_data(toy), *FAST, "--set", "adm=auto",
                               "--stage", "pseudo", "--force")
    assert code == 0, stderr
    said = [line for line in stdout.splitlines() if "auto: " in line]
    document = json.loads(layout.pseudo_labels.read_text())
    tuning = document["meta"]["tuning"]
    assert len(said) == 1 and f"auto: {tuning['base']} " in said[0]
    points = {video: [{"snippet": int(round(e["point"])), "label": e["label"]} for e in entries]
              for video, entries in document["results"].items()}
    (tmp_path / "points.json").write_text(json.dumps({"points": points}))
    code, _, stderr = invoke(admfit_app, "fit", layout.signals, tmp_path / "points.json", "--auto",
                             "-o", tmp_path / "auto.json", "--quiet")
    assert code == 0, stderr
    again = json.loads((tmp_path / "auto.json").read_text())
    assert again["meta"]["tuning"] == tuning
    fitted = [(e["start"], e["end"]) for video in points for e in again["results"][video]]
    np.testing.assert_allclose(fitted, [(e["start"], e["end"]) for video in points
                                        for e in document["results"][video]], rtol=0, atol=1e-6)


def test_pseudo_labels_record_their_annotation_file_for_admfit_export(finished, toy, tmp_path):
    """The pseudo stage records its annotation file (admfit.files.provenance), so that `admfit export` writes the run's
    videos with their fps and durations without being told the file again."""
    from admfit_cli.main import app as admfit_app

    layout = RunLayout(finished[0])
    record = json.loads(layout.pseudo_labels.read_text())["meta"]["annotations"]
    assert record["path"] == str(toy["annotations"].resolve())
    assert record["grid"] == {"preset": "thumos14_actionformer", "fps": 30.0, "stride": 4.0, "num_frames": 16.0}
    out = tmp_path / "af.json"
    code, _, stderr = invoke(admfit_app, "export", layout.pseudo_labels, "--to", "actionformer", "-o", out)
    assert code == 0, stderr
    truth = json.loads(toy["annotations"].read_text())["database"]
    database = json.loads(out.read_text())["database"]
    assert sorted(database) == sorted(truth)
    assert all(database[v]["fps"] == truth[v]["fps"] and database[v]["duration"] == truth[v]["duration"]
               for v in database)
