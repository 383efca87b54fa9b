"""The admfit-torch command: train (base stage) -> infer -> eval on toy data, and one-line errors (exit 2) on bad
input. The whole loop and its stage bookkeeping: tests/torch/test_pipeline.py."""
from __future__ import annotations

import json

import numpy as np
import pytest

from admfit_cli.torch_main import app

from ..helpers import assert_one_line_error, invoke
from .toydata import write_toy_dataset

FAST = ["--config", "cpu-small", "--set", "optim.epochs=2", "--no-progress"]


def run(*args):
    return invoke(app, *args)


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    return write_toy_dataset(tmp_path_factory.mktemp("toy"), 6, length=96, seed=2)


def _train_args(toy, out):
    return ["train", "--stage", "base", "--features", toy["features"], "--annotations", toy["annotations"],
            "--points", toy["points"], "--output", out]


_assert_one_line_error = assert_one_line_error


@pytest.fixture(scope="module")
def trained_run(toy, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    code, stdout, stderr = run(*_train_args(toy, out), *FAST)
    assert code == 0, stderr
    return out / "base", stdout


@pytest.fixture(scope="module")
def trained(trained_run):
    return trained_run[0]


def test_no_progress_still_prints_one_line_per_epoch_counted_from_one(trained_run):
    epoch_lines = [line for line in trained_run[1].splitlines() if line.startswith("base epoch ")]
    assert [line.split(":")[0] for line in epoch_lines] == ["base epoch 1/2", "base epoch 2/2"]
    assert all(" loss " in line and line.endswith(" s") for line in epoch_lines)


def test_train_writes_checkpoint_metrics_and_config(trained):
    assert (trained / "checkpoint.pt").is_file() and (trained.parent / "config.yaml").is_file()
    assert len((trained / "metrics.jsonl").read_text().splitlines()) == 2


def test_infer_then_eval(trained, toy, tmp_path):
    out = tmp_path / "pred.json"
    code, stdout, stderr = run("infer", "--checkpoint", trained, "--features", toy["features"], "--annotations",
                               toy["annotations"], "--output", out)
    assert code == 0, stderr
    results = json.loads(out.read_text())["results"]
    assert set(results) == {"video_001", "video_003", "video_005"}  # the "test" subset
    code, stdout, stderr = run("eval", "--checkpoint", trained, "--features", toy["features"], "--annotations",
                               toy["annotations"], "--tiou", "0.3,0.5")
    assert code == 0, stderr
    assert stdout.splitlines()[1].split() == ["tIoU", "(%)", "30", "50", "Avg"]  # piped: plain, thresholds in %
    assert stdout.splitlines()[2].split()[:2] == ["mAP", "(%)"]


def test_missing_features_for_a_video(toy, tmp_path):
    folder = tmp_path / "features"
    folder.mkdir()
    for path in sorted(toy["features"].glob("*.npy"))[1:]:
        (folder / path.name).write_bytes(path.read_bytes())
    code, stdout, stderr = run("train", "--features", folder, "--annotations", toy["annotations"], "--points",
                               toy["points"], "--output", tmp_path / "run", *FAST)
    _assert_one_line_error(code, stdout, stderr, "video_000")
    assert not (tmp_path / "run").exists()  # refused before any stage: no run folder left behind


def test_nan_features(toy, tmp_path):
    folder = tmp_path / "features"
    folder.mkdir()
    for path in sorted(toy["features"].glob("*.npy")):
        array = np.load(path)
        if path.stem == "video_002":
            array[5, 3] = np.nan
        np.save(folder / path.name, array)
    code, stdout, stderr = run("train", "--features", folder, "--annotations", toy["annotations"], "--points",
                               toy["points"], "--output", tmp_path / "run", *FAST)
    _assert_one_line_error(code, stdout, stderr, "video_002", "non-finite")


@pytest.mark.parametrize("override, words", [
    ("model.nonsense=1", ["model.nonsense"]),
    ("optim.epochs=zero", ["optim.epochs"]),
    ("model.window=4", ["odd"]),
])
def test_bad_config_key_or_value(toy, tmp_path, override, words):
    code, stdout, stderr = run(*_train_args(toy, tmp_path / "run"), "--config", "cpu-small", "--set", override)
    _assert_one_line_error(code, stdout, stderr, *words)
    assert not (tmp_path / "run").exists()


def test_bad_device_is_reported_as_the_device_option(toy, tmp_path):
    code, stdout, stderr = run(*_train_args(toy, tmp_path / "run"), "--config", "cpu-small", "--device", "quantum")
    _assert_one_line_error(code, stdout, stderr, "--device", "quantum")
    assert "--set" not in stderr and not (tmp_path / "run").exists()


def test_bad_config_file(toy, tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("preset: cpu-small\noptim:\n  lr: -3\n")
    code, stdout, stderr = run(*_train_args(toy, tmp_path / "run"), "--config", config)
    _assert_one_line_error(code, stdout, stderr, "bad.yaml", "optim.lr")


def test_unwritable_out_dir(toy, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, stdout, stderr = run(*_train_args(toy, blocker / "run"), *FAST)
    _assert_one_line_error(code, stdout, stderr, "out")


def test_unwritable_prediction_file(trained, toy, tmp_path):
    code, stdout, stderr = run("infer", "--checkpoint", trained, "--features", toy["features"], "--annotations",
                               toy["annotations"], "--output", tmp_path / "missing" / "pred.json")
    _assert_one_line_error(code, stdout, stderr, "does not exist")


def test_input_dim_mismatch(toy, tmp_path):
    code, stdout, stderr = run(*_train_args(toy, tmp_path / "run"), "--config", "thumos14", "--no-progress")
    _assert_one_line_error(code, stdout, stderr, "input_dim")


def test_bad_checkpoint_and_stage(toy, tmp_path):
    bogus = tmp_path / "checkpoint.pt"
    bogus.write_bytes(b"not a checkpoint")
    code, stdout, stderr = run("infer", "--checkpoint", bogus, "--features", toy["features"], "--annotations",
                               toy["annotations"], "--output", tmp_path / "pred.json")
    _assert_one_line_error(code, stdout, stderr, "checkpoint")
    code, stdout, stderr = run("train", *_train_args(toy, tmp_path / "run")[3:], "--stage", "main", *FAST)
    _assert_one_line_error(code, stdout, stderr, "needs the 'pseudo' stage")


def test_config_command_prints_a_loadable_preset(tmp_path):
    code, stdout, _ = run("config", "anet12", "--set", "optim.epochs=30")
    assert code == 0
    from admfit_torch.config import load_config, preset

    (tmp_path / "c.yaml").write_text(stdout)
    assert load_config(tmp_path / "c.yaml") == preset("anet12", optim={"epochs": 30})
