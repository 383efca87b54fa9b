"""`admfit fit` end to end, and every bad input it must reject in one line with exit code 2."""
from __future__ import annotations

import csv
import json
import os

import numpy as np
import pytest
from typer.testing import CliRunner

from admfit import ADMConfig
from admfit.files.signals import save_signals
from admfit.grid import SnippetGrid
from admfit.levels import StepCentres
from admfit_cli.main import app

from ..helpers import EXAMPLE, SHARED_DATA

CLASSES = ["Jump", "Throw"]


def _signals(length=120):
    t = np.arange(length)
    probs = np.zeros((length, 2), np.float32)
    probs[:, 0] = 0.9 * np.exp(-0.5 * ((t - 30) / 5.0) ** 2)
    probs[:, 1] = 0.8 * (np.abs(t - 80) <= 10)
    return probs, 1 - probs.max(axis=1)


@pytest.fixture()
def files(tmp_path):
    probs, bg = _signals()
    signals = tmp_path / "signals.npz"
    save_signals(signals, {"v1": probs, "v2": probs}, classes=CLASSES, bg_probs={"v1": bg, "v2": bg},
                 grids={"v1": SnippetGrid(fps=30.0), "v2": SnippetGrid(fps=25.0)})
    points = tmp_path / "points.json"
    points.write_text(json.dumps({"points": {
        "v1": [{"snippet": 31, "label": "Jump"}, {"snippet": 79, "label": 1}],
        "v2": [{"time_s": 2.0, "label": "Throw"}]}}))
    return tmp_path, signals, points


def _errors(err):
    """stderr's lines less the `note: ...` lines (a Notice, e.g. the thread count on a small machine)."""
    return [line for line in err.strip().splitlines() if not line.startswith("note: ")]


def run(*args):
    result = CliRunner().invoke(app, ["fit", *map(str, args)])
    return result.exit_code, result.stdout, result.stderr


def test_fit_writes_activitynet_json_in_input_order(files):
    folder, signals, points = files
    out = folder / "pl.json"
    code, _, err = run(signals, points, "-o", out)
    assert code == 0, err
    assert "3 instances, 2 videos" in err
    doc = json.loads(out.read_text())
    assert doc["meta"]["segment_units"] == "seconds"
    first, second = doc["results"]["v1"]
    assert first["label"] == "Jump" and first["t_star"] == 30 and second["label"] == "Throw"
    # v1 at 30 fps, stride 4, 16 frames: snippet i is centred at (4 i + 8) / 30 s, and an interval of
    # snippets reaches half a step (2 frames) beyond the centres of its end snippets.
    assert first["segment"][0] == pytest.approx((4 * (first["start"] - 0.5) + 8) / 30)
    assert first["segment"][1] == pytest.approx((4 * (first["end"] + 0.5) + 8) / 30)
    # v2's point at 2.0 s on the 25 fps grid: position 2 * 25 / 4 - 2 = 10.5 -> snippet 10 (round half even).
    assert doc["results"]["v2"][0]["point"] == 10


def test_fit_csv_and_config(files):
    folder, signals, points = files
    config = folder / "cfg.yaml"
    config.write_text("g1: 0.0\ng2: 1.0\nsmoothing_sigma: 0\ninterval: symmetric\ncombine: sum\n")
    out = folder / "pl.csv"
    code, _, err = run(signals, points, "-o", out, "--format", "csv", "--config", config, "-q")
    assert code == 0, err
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 3
    # g1 = 0, g2 = 1: the interval is exactly t* +- omega.
    for row in rows:
        assert float(row["end"]) - float(row["t_star"]) == pytest.approx(min(float(row["omega"]),
                                                                             119 - float(row["t_star"])))


V2_OK = [{"snippet": 3, "label": 0}]


def _write_points(folder, document):
    path = folder / "bad_points.json"
    if isinstance(document, dict) and "v1" in document.get("points", {}):
        document = {"points": {**document["points"], "v2": document["points"].get("v2", V2_OK)}}
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return path


BAD_POINTS = {
    "malformed": ("{not json", "malformed JSON"),
    "no_points_key": ({"videos": {}}, "'points'"),
    "unknown_class_name": ({"points": {"v1": [{"snippet": 3, "label": "Swim"}]}}, "unknown class 'Swim'"),
    "class_index_out_of_range": ({"points": {"v1": [{"snippet": 3, "label": 7}]}}, "class index 7"),
    "snippet_outside_video": ({"points": {"v1": [{"snippet": 500, "label": 0}]}}, "outside the video"),
    "negative_time": ({"points": {"v1": [{"time_s": -3.0, "label": 0}]}}, "outside the video"),
    "video_missing_from_signals": ({"points": {"v1": [{"snippet": 3, "label": 0}], "v2": [{"snippet": 3, "label": 0}],
                                               "v9": [{"snippet": 3, "label": 0}]}}, "missing from the signals"),
    "signals_video_without_points": ({"points": {"v2": [{"snippet": 3, "label": 0}]}}, "no points"),
    "both_snippet_and_time": ({"points": {"v1": [{"snippet": 3, "time_s": 1.0, "label": 0}]}}, "exactly one"),
    "string_snippet": ({"points": {"v1": [{"snippet": "3", "label": 0}]}}, "integer snippet"),
    "empty": ({"points": {}}, "no points"),
}


@pytest.mark.parametrize("case", sorted(BAD_POINTS))
def test_bad_points_file(files, case):
    folder, signals, _ = files
    document, message = BAD_POINTS[case]
    points = _write_points(folder, document)
    out = folder / "out.json"
    code, stdout, err = run(signals, points, "-o", out)
    assert code == 2
    assert message in err and "Traceback" not in err
    assert len(_errors(err)) == 1
    assert str(points) in err or str(signals) in err
    assert not out.exists()


def _bad_signals(folder, case):
    probs, bg = _signals()
    path = folder / f"{case}.npz"
    if case == "nan":
        probs = probs.copy()
        probs[5, 0] = np.nan
    if case == "above_one":
        probs = probs * 2
    if case == "not_npz":
        path.write_text("hello")
        return path
    if case == "shape":
        probs = probs[:, 0]
    if case == "empty":
        probs = probs[:0]
    arrays = {"v1/probs": probs, "v1/bg_probs": bg, "v2/probs": _signals()[0], "v2/bg_probs": bg,
              "classes": np.array(CLASSES), "fps": np.array(30.0)}
    if case == "bg_nan":
        arrays["v1/bg_probs"] = np.full_like(bg, np.nan)
    if case == "unknown_key":
        arrays["v1/logits"] = probs
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize("case,field", [("nan", "probs"), ("above_one", "probs"), ("not_npz", "signals"),
                                        ("shape", "probs"), ("empty", "probs"), ("bg_nan", "bg_probs"),
                                        ("unknown_key", "v1/logits")])
def test_bad_signals_file(files, case, field):
    folder, _, points = files
    signals = _bad_signals(folder, case)
    out = folder / "out.json"
    code, _, err = run(signals, points, "-o", out)
    assert code == 2, err
    assert str(signals) in err and f"field '{field}'" in err and "Traceback" not in err
    assert len(_errors(err)) == 1
    assert not out.exists()


def test_missing_files_directories_and_unwritable_outputs(files, tmp_path):
    folder, signals, points = files
    cases = [
        ((folder / "nope.npz", points, "-o", folder / "o.json"), "no such file"),
        ((signals, folder / "nope.json", "-o", folder / "o.json"), "no such file"),
        ((folder, points, "-o", folder / "o.json"), "is a directory"),
        ((signals, points, "-o", folder), "is a directory"),
        ((signals, points, "-o", folder / "missing" / "o.json"), "does not exist"),
    ]
    for args, message in cases:
        code, _, err = run(*args)
        assert code == 2 and message in err and len(_errors(err)) == 1, (args, err)
    assert not (folder / "o.json").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_read_only_folder(files):
    folder, signals, points = files
    locked = folder / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    code, _, err = run(signals, points, "-o", locked / "o.json")
    assert code == 2 and "not writable" in err


def test_bad_config(files):
    folder, signals, points = files
    for text, field in (("delta: 3\n", "delta"), ("nonsense: 1\n", "nonsense"), ("[1, 2\n", "config"),
                        ("- 1\n", "config")):
        config = folder / "c.yaml"
        config.write_text(text)
        code, _, err = run(signals, points, "--config", config, "-o", folder / "o.json")
        assert code == 2 and f"field '{field}'" in err and str(config) in err, err


def test_output_has_ordinary_permissions(files):
    folder, signals, points = files
    out = folder / "perm.json"
    assert run(signals, points, "-o", out)[0] == 0
    mask = os.umask(0)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask


def test_shipped_example_runs(tmp_path):
    example = EXAMPLE
    out = tmp_path / "pl.json"
    code, _, err = run(example / "signals.npz", example / "points.json", "-o", out)
    assert code == 0, err
    doc = json.loads(out.read_text())
    points = json.loads((example / "points.json").read_text())["points"]
    assert {video: len(items) for video, items in doc["results"].items()} == {v: len(p) for v, p in points.items()}


def _two_real_videos(folder):
    """signals.npz for two real THUMOS'14 training videos, and their rows of the shipped LACP point CSV."""
    from admfit.data import data_path
    from admfit.datasets import class_names, thumos14
    from admfit.synthetic import make_signals

    keys = ["video_validation_0000051", "video_validation_0000934"]
    train = thumos14("train")
    classes = class_names(train)
    signals = make_signals({key: train[key] for key in keys}, classes, difficulty="clean", seed=3)
    path = folder / "two.npz"
    save_signals(path, {k: s.probs for k, s in signals.items()}, classes=classes,
                 bg_probs={k: s.bg_probs for k, s in signals.items()}, grids={k: s.grid for k, s in signals.items()})
    lines = data_path("thumos14", "point_gaussian.csv").read_text().splitlines()
    return path, [lines[0]] + [line for line in lines[1:] if line.split(",")[4] in keys], keys


def test_fit_reads_lacp_point_csv(tmp_path):
    signals, rows, keys = _two_real_videos(tmp_path)
    points = tmp_path / "points.csv"
    points.write_text("\n".join(rows) + "\n")
    out = tmp_path / "pl.json"
    code, _, err = run(signals, points, "-o", out)
    assert code == 0, err
    results = json.loads(out.read_text())["results"]
    assert sum(len(items) for items in results.values()) == len(rows) - 1
    # Each point's frame / fps, mapped to the grid, is the snippet the fit reports.
    first = rows[1].split(",")
    assert results[first[4]][0]["label"] == first[0]
    assert abs(results[first[4]][0]["point_s"] - int(first[5]) / 30.0) < 4 / 30.0


def test_fit_reads_sfnet_clicks(tmp_path):
    clicks = SHARED_DATA / "thumos14" / "sfnet_single_frames" / "THUMOS1.txt"
    if not clicks.is_file():
        pytest.skip("../shared/data is not present")
    signals, _, keys = _two_real_videos(tmp_path)
    mine = [line for line in clicks.read_text().splitlines() if line.split(",")[0] in keys]
    points = tmp_path / "clicks.txt"
    points.write_text("\n\n".join(mine) + "\n")
    out = tmp_path / "pl.json"
    code, _, err = run(signals, points, "-o", out)
    assert code == 0, err
    assert sum(len(v) for v in json.loads(out.read_text())["results"].values()) == len(mine)


def test_fit_writes_confidence_and_reports_convergence(files):
    folder, signals, points = files
    out = folder / "pl.json"
    code, _, err = run(signals, points, "-o", out)
    assert code == 0, err
    assert "0 fits not converged" in err
    entries = [entry for video in json.loads(out.read_text())["results"].values() for entry in video]
    assert all(0.0 <= entry["confidence"] <= 1.0 and entry["converged"] is True for entry in entries)


def test_min_confidence_drops_the_less_trusted_labels(files):
    folder, signals, points = files
    every = folder / "every.json"
    run(signals, points, "-o", every)
    confidences = sorted(e["confidence"] for v in json.loads(every.read_text())["results"].values() for e in v)
    cut = (confidences[0] + confidences[-1]) / 2
    kept = folder / "kept.json"
    code, _, err = run(signals, points, "-o", kept, "--min-confidence", str(cut))
    assert code == 0, err
    left = [e["confidence"] for v in json.loads(kept.read_text())["results"].values() for e in v]
    assert left and all(c >= cut for c in left) and len(left) == sum(c >= cut for c in confidences)
    assert f"{len(confidences) - len(left)} dropped" in err


def test_paper_flag_fits_the_papers_method(files):
    folder, signals, points = files
    out = folder / "paper.json"
    code, _, err = run(signals, points, "-o", out, "--paper")
    assert code == 0, err
    config = json.loads(out.read_text())["meta"]["config"]
    assert config == json.loads(json.dumps(ADMConfig.paper().model_dump()))


def test_tuning_is_auto_by_default_prints_the_choice_and_records_it_in_meta(files):
    folder, signals, points = files
    out = folder / "auto.json"
    code, _, err = run(signals, points, "-o", out)
    assert code == 0, err
    said = [line for line in err.splitlines() if line.startswith("auto: ")]
    assert len(said) == 1 and "mean boundary contrast" in said[0]
    meta = json.loads(out.read_text())["meta"]
    assert meta["tuning"]["base"] in said[0] and meta["tuning"]["points_scored"] == 3
    assert set(meta["tuning"]["mean_contrast"]) == {"defaults", "paper", "no_bg_agreement"}
    assert meta["config"]["tuning"] == "off"  # the options the labels were fitted with
    for flag in ("--tuning", "--auto"):  # --auto: the flag of scripts written before auto was the default
        again = folder / f"again{flag}.json"
        assert run(signals, points, "-o", again, *([flag, "auto"] if flag == "--tuning" else [flag]), "-q")[0] == 0
        assert json.loads(again.read_text()) == json.loads(out.read_text())


def test_tuning_off_fits_the_fixed_defaults_as_they_are(files):
    folder, signals, points = files
    config = folder / "auto.yaml"
    config.write_text("tuning: auto\n")
    for extra in ((), ("--config", config)):  # the flag wins over the file's field
        out = folder / f"off{len(extra)}.json"
        code, _, err = run(signals, points, "-o", out, "--tuning", "off", *extra)
        assert code == 0, err
        assert not any(line.startswith("auto: ") for line in err.splitlines())
        meta = json.loads(out.read_text())["meta"]
        assert "tuning" not in meta
        assert meta["config"] == json.loads(json.dumps(ADMConfig(tuning="off").model_dump()))
    code, _, err = run(signals, points, "-o", folder / "both.json", "--auto", "--tuning", "off")
    assert code == 2 and "--auto and --tuning off" in err and len(_errors(err)) == 1
    assert not (folder / "both.json").exists()


def test_auto_config_field_is_validated(files):
    folder, signals, points = files
    config = folder / "bad.yaml"
    config.write_text("tuning: sometimes\n")
    code, _, err = run(signals, points, "-o", folder / "x.json", "--config", config)
    assert code == 2 and "tuning" in err and len(_errors(err)) == 1
    assert not (folder / "x.json").exists()


@pytest.mark.parametrize("centres, t_star", [(StepCentres(origin=0.0, spacing=4.0), [32]),  # admfit_torch's pyramid
                                              (None, [33, 34])])  # window-aligned: step j on 4 j + 1.5
def test_fit_upsamples_a_coarse_signal_at_the_files_step_centres(tmp_path, centres, t_star):
    """A last-level signal (30 steps for 120 snippets) peaked on step 8: with step_origin 0 and step_spacing 4
    (what admfit_torch writes) the peak is snippet 32; a file without them keeps the window-aligned reading."""
    steps = np.arange(30)
    probs = np.zeros((30, 2), np.float32)
    probs[:, 0] = 0.9 * np.exp(-0.5 * ((steps - 8) / 4.0) ** 2)  # broad: no step of it is an impulse to despike
    bg = 1 - 0.9 * np.exp(-0.5 * ((np.arange(120) - 32) / 16.0) ** 2)
    signals = tmp_path / "signals.npz"
    save_signals(signals, {"v1": probs}, classes=CLASSES, bg_probs={"v1": bg}, grids={"v1": SnippetGrid(fps=30.0)},
                 centres=centres)
    points = tmp_path / "points.json"
    points.write_text(json.dumps({"points": {"v1": [{"snippet": 32, "label": "Jump"}]}}))
    out = tmp_path / "pl.json"
    code, _, err = run(signals, points, "-o", out)
    assert code == 0, err
    assert json.loads(out.read_text())["results"]["v1"][0]["t_star"] in t_star


@pytest.mark.parametrize("arrays, field", [({"step_origin": 0.0}, "step_origin"),
                                           ({"step_origin": 0.0, "step_spacing": 0.0}, "step_spacing"),
                                           ({"step_origin": np.nan, "step_spacing": 4.0}, "step_origin")])
def test_bad_step_centres(files, arrays, field):
    folder, _, points = files
    probs, bg = _signals()
    path = folder / "centres.npz"
    np.savez(path, **{"v1/probs": probs, "v1/bg_probs": bg, "v2/probs": probs, "v2/bg_probs": bg,
                      "classes": np.array(CLASSES)}, **{k: np.array(v) for k, v in arrays.items()})
    code, _, err = run(path, points, "-o", folder / "out.json")
    assert code == 2 and f"field '{field}'" in err and len(_errors(err)) == 1
