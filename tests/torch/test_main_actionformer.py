"""``admfit-torch train`` with ``main.detector: actionformer``: the main stage trains ActionFormer on the exported
pseudo-labels and the eval stage scores it as the main model (admfit_torch.peer_training). A tiny ActionFormer (one
warm-up and one cosine epoch, widths 16) on toy data. Skipped without the peer extra (pip install 'admfit[peer]'),
except the refusal that tells a user how to get it."""
from __future__ import annotations

import json
import shutil
import sys

import numpy as np
import pytest
import yaml

from admfit_cli.main import app as admfit_app
from admfit_cli.torch_main import app
from admfit_torch.peer_training import recipe
from admfit_torch.run.layout import RunLayout

from ..helpers import assert_one_line_error, invoke
from .test_peer_actionformer import CONFIG
from .toydata import write_toy_dataset

FAST = ["--config", "cpu-small", "--set", "optim.epochs=2", "--set", "run.figures=0", "--no-progress"]


def tiny_config(**dataset) -> dict:
    """The packaged recipe's training and test settings on the plug-in tests' tiny model (widths 16, 4 levels,
    max_seq_len 64): one warm-up and one cosine epoch of batches of 2."""
    config = recipe(["opt.warmup_epochs=1", "opt.epochs=1", "loader.batch_size=2"])
    tiny = yaml.safe_load(CONFIG)
    config["model"] = tiny["model"]
    config["dataset"].update({"max_seq_len": tiny["dataset"]["max_seq_len"], **dataset})
    return config


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    folder = tmp_path_factory.mktemp("toy")
    (folder / "tiny.yaml").write_text(yaml.safe_dump(tiny_config()), encoding="utf-8")
    return {**write_toy_dataset(folder, 8, length=64, seed=3), "tiny": folder / "tiny.yaml"}


def _train(out, toy, *extra, features=None):
    return invoke(app, "train", "--output", out, "--features", features or toy["features"], "--annotations",
                  toy["annotations"], "--points", toy["points"], *FAST, *extra)


def _actionformer(toy):
    return ["--set", "main.detector=actionformer", "--set", f"main.actionformer_config={toy['tiny']}"]


def test_without_the_extra_the_run_is_refused_before_anything_is_written(toy, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "actionformer", None)  # as where the package is not installed
    code, stdout, stderr = _train(tmp_path / "run", toy, *_actionformer(toy))
    assert_one_line_error(code, stdout, stderr, "main.detector", "pip install 'admfit[peer]'")
    assert not (tmp_path / "run").exists()


@pytest.fixture(scope="module")
def finished(toy, tmp_path_factory):
    pytest.importorskip("actionformer", reason="needs the peer extra: pip install 'admfit[peer]'")
    out = tmp_path_factory.mktemp("loop")
    code, stdout, stderr = _train(out, toy, *_actionformer(toy))
    assert code == 0, stderr
    return out, stdout


def test_the_main_stage_trains_actionformer_on_the_exported_pseudo_labels(finished, toy, tmp_path):
    out, stdout = finished
    layout = RunLayout(out)
    assert "main: ActionFormer, 2 epochs (1+1) in" in stdout
    assert not layout.main_checkpoint.exists()  # no ADM-Loc main model
    # the labels it trained on: RUN/base/pseudo_labels.json as `admfit export --to actionformer --features` writes it
    code, _, stderr = invoke(admfit_app, "export", layout.pseudo_labels, "--to", "actionformer", "--features",
                             toy["features"], "-o", tmp_path / "exported.json")
    assert code == 0, stderr
    assert json.loads(layout.actionformer_labels.read_text()) == json.loads((tmp_path / "exported.json").read_text())
    # the YAML it was trained with: the tiny one, with the data's sizes
    config = yaml.safe_load(layout.actionformer_config.read_text())
    assert config["dataset"]["input_dim"] == 64 and config["dataset"]["num_classes"] == 3
    assert config["model"]["embd_dim"] == 16 and config["opt"]["epochs"] == 1


def test_the_report_scores_actionformer_as_the_main_model(finished):
    out, _ = finished
    layout = RunLayout(out)
    report = json.loads(layout.report_json.read_text())
    assert report["main_detector"] == "actionformer"
    assert len(report["main"]["map"]) == len(report["tious"]) and report["main"]["detections"] == "eval/main_detections.json"
    detections = json.loads(layout.detections("main").read_text())["results"]
    assert sorted(detections) == ["video_001", "video_003", "video_005", "video_007"]  # the test videos
    assert report["main"]["num_detections"] == sum(len(entries) for entries in detections.values())
    assert "| ActionFormer main model (on the ADM pseudo-labels) |" in layout.report_md.read_text()


def test_its_checkpoint_loads_in_the_detector_plugin(finished, toy):
    from admfit_torch.peer_actionformer import make_detector

    layout = RunLayout(finished[0])
    detector = make_detector(layout.actionformer_checkpoint, layout.actionformer_config, layout.actionformer_classes)
    assert detector.classes == ["class0", "class1", "class2"]
    scores = detector.level_scores(np.load(toy["features"] / "video_000.npy"))
    assert [level.shape for level in scores] == [(64, 3), (32, 3), (16, 3), (8, 3)]


def test_a_finished_run_is_skipped_and_changing_main_detector_reruns_main(finished, toy, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(finished[0], out)
    layout = RunLayout(out)
    before = layout.actionformer_checkpoint.stat().st_mtime_ns
    code, stdout, stderr = _train(out, toy, *_actionformer(toy))
    assert code == 0, stderr
    assert stdout.count("done, skipped") == 4 and layout.actionformer_checkpoint.stat().st_mtime_ns == before
    # another main model: refused as any changed setting, naming the field; --force redoes main (and forgets eval)
    assert_one_line_error(*_train(out, toy, "--set", f"main.actionformer_config={toy['tiny']}"), "main.detector")
    code, stdout, stderr = _train(out, toy, "--set", f"main.actionformer_config={toy['tiny']}", "--stage", "main",
                                  "--force")
    assert code == 0, stderr
    assert "main: running" in stdout and "ActionFormer" not in stdout
    assert layout.main_checkpoint.is_file() and not layout.actionformer_checkpoint.exists()
    assert not layout.report_json.exists()
    state = json.loads(layout.state.read_text())
    assert state["main"]["settings"]["main.detector"] == "admfit" and "eval" not in state


def test_features_in_one_file_and_a_bad_max_seq_len_are_refused_before_anything(toy, tmp_path):
    pytest.importorskip("actionformer", reason="needs the peer extra: pip install 'admfit[peer]'")
    npz = tmp_path / "features.npz"
    np.savez(npz, **{path.stem: np.load(path) for path in toy["features"].glob("*.npy")})
    code, stdout, stderr = _train(tmp_path / "run", toy, *_actionformer(toy), features=npz)
    assert_one_line_error(code, stdout, stderr, "run.features", "folder of VIDEO.npy")
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(tiny_config(max_seq_len=48)), encoding="utf-8")
    code, stdout, stderr = _train(tmp_path / "run", toy, "--set", "main.detector=actionformer", "--set",
                                  f"main.actionformer_config={bad}")
    assert_one_line_error(code, stdout, stderr, "main.actionformer_config", "max_seq_len 48 must divide by 32")
    assert not (tmp_path / "run").exists()


TWICE = """
import sys, torch
from pathlib import Path
from admfit_torch import peer_training as peer
from admfit_torch.peer_actionformer import load_actionformer_config
config, labels, features = load_actionformer_config(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
subset = peer.subset_name(sys.argv[4], "train")
first, later = (peer.train_actionformer(config, labels, features, subset, 0)[0].state_dict() for _ in range(2))
sys.exit(0 if all(torch.equal(first[name], later[name]) for name in first) else 1)
"""


def test_the_first_training_of_a_process_gives_the_weights_of_a_later_one(finished, toy):
    """ActionFormer's TorchScript losses are run unoptimized: the first training of a fresh process (which compiles
    them) and a later one agree bit for bit (they differed by 1e-7 and more before)."""
    import subprocess

    layout = RunLayout(finished[0])
    done = subprocess.run([sys.executable, "-c", TWICE, str(layout.actionformer_config),
                           str(layout.actionformer_labels), str(toy["features"]), str(toy["annotations"])],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
