"""`admfit label --detector admfit_torch` on input the checkpoint cannot take: features of another width, a missing,
foreign or incomplete checkpoint, a bad device, a failing forward pass. Each is one `error: ...` line naming the
plug-in and the file at fault, exit code 2, and OUT stays without signals.npz and pseudo_labels.json. The
protocol's hooks with a torch-free plug-in: tests/cli/test_label_hooks.py."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from admfit.errors import InputError
from admfit.files.points import save_points_json
from admfit_cli.main import app
from admfit_torch.checkpoint import save_checkpoint
from admfit_torch.config import preset
from admfit_torch.models import PointDetector
from admfit_torch.plugin import TorchDetector

from ..helpers import assert_one_line_error, invoke
from .toydata import toy_videos, write_toy_dataset

VIDEOS = dict(num_videos=2, length=64, seed=4)
CLASSES = ["class0", "class1", "class2"]


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    """The toy set (64-D features), its points as points.json, an untrained cpu-small checkpoint (model.input_dim
    64: no training needed to test what the plug-in refuses), and damaged copies of it."""
    folder = tmp_path_factory.mktemp("toy")
    paths = write_toy_dataset(folder, **VIDEOS)
    _, _, points, _ = toy_videos(**VIDEOS)
    save_points_json(folder / "points.json", points, classes=CLASSES)
    cfg = preset("cpu-small")
    model = PointDetector(cfg.model, len(CLASSES))
    state = {"config": cfg.model_dump(mode="json"), "classes": CLASSES, "model": model.state_dict(),
             "ema": model.state_dict()}
    save_checkpoint(folder / "checkpoint.pt", state)
    save_checkpoint(folder / "no_ema.pt", {k: v for k, v in state.items() if k != "ema"})
    (folder / "notes.pt").write_text("not a checkpoint")
    wide = folder / "wide"
    wide.mkdir()
    for file in paths["features"].glob("*.npy"):  # 2048-D features (I3D) into a checkpoint trained on 64-D
        np.save(wide / file.name, np.tile(np.load(file), (1, 32)))
    return {**paths, "points": folder / "points.json", "checkpoint": folder / "checkpoint.pt",
            "no_ema": folder / "no_ema.pt", "notes": folder / "notes.pt", "wide": wide}


def _label(toy, out, *, checkpoint=None, features=None, device="cpu"):
    return invoke(app, "label", "--detector", "admfit_torch", "--detector-arg",
                  f"checkpoint={checkpoint or toy['checkpoint']}", "--detector-arg", f"device={device}", "--features",
                  features or toy["features"], "--points", toy["points"], "--annotations", toy["annotations"], "-o",
                  out, "--quiet")


def _assert_nothing_written(out):
    assert not (out / "signals.npz").exists() and not (out / "pseudo_labels.json").exists()


def test_features_of_another_width_name_the_plugin_the_file_and_the_checkpoint(toy, tmp_path):
    out = tmp_path / "out"
    assert_one_line_error(*_label(toy, out, features=toy["wide"]), "detector 'admfit_torch'",
                          str(toy["wide"] / "video_000.npy"), "video 'video_000'", "2048", "64", "model.input_dim",
                          str(toy["checkpoint"]))
    _assert_nothing_written(out)


@pytest.mark.parametrize("name, words", [
    ("missing", ["field 'checkpoint'", "not found"]),
    ("notes", ["field 'checkpoint'", "not a readable checkpoint"]),
    ("no_ema", ["field 'ema'"]),
])
def test_a_checkpoint_it_cannot_load_names_the_plugin_the_file_and_the_field(toy, tmp_path, name, words):
    checkpoint = toy.get(name, tmp_path / "missing.pt")
    out = tmp_path / "out"
    assert_one_line_error(*_label(toy, out, checkpoint=checkpoint), "detector 'admfit_torch'", str(checkpoint),
                          *words)
    _assert_nothing_written(out)


@pytest.mark.parametrize("device", ["gpu", "cuda:x"])
def test_a_bad_device_names_the_plugin_and_the_field(toy, tmp_path, device):
    out = tmp_path / "out"
    assert_one_line_error(*_label(toy, out, device=device), "detector 'admfit_torch'", "field 'device'",
                          repr(device))
    _assert_nothing_written(out)


def test_a_failing_forward_pass_names_the_plugin_the_video_and_the_features_file(toy, tmp_path, monkeypatch):
    import admfit_torch.plugin

    def out_of_memory(*args, **kwargs):
        raise RuntimeError("CUDA out of memory.\nTried to allocate 2 GiB")

    monkeypatch.setattr(admfit_torch.plugin, "predict_levels", out_of_memory)
    out = tmp_path / "out"
    assert_one_line_error(*_label(toy, out), "detector 'admfit_torch'", "video 'video_000'",
                          str(toy["features"] / "video_000.npy"), "RuntimeError", "CUDA out of memory. Tried")
    _assert_nothing_written(out)


@pytest.mark.parametrize("features, field", [
    (np.zeros((10, 2048), np.float32), "shape"),
    (np.zeros((10, 64, 1), np.float32), "shape"),
    (np.zeros(64, np.float32), "shape"),
    (np.zeros((10, 64), np.complex64), "dtype"),
    (np.full((10, 64), "0.5"), "dtype"),
    (np.where(np.eye(10, 64) > 0, np.nan, 0.0), "features"),
    (np.where(np.eye(10, 64) > 0, np.inf, 0.0), "features"),
])
def test_validate_refuses_what_the_checkpoint_cannot_take(toy, features, field):
    detector = TorchDetector(toy["checkpoint"], device="cpu")
    with pytest.raises(InputError) as refused:
        detector.validate(features)
    assert refused.value.field == field
    detector.validate(np.zeros((10, 64), np.float64))  # any real numbers of the checkpoint's width
    with pytest.raises(InputError, match="model.input_dim"):  # predict checks too: no torch traceback
        detector.predict("v", np.zeros((10, 32), np.float32), None)


def test_a_device_torch_cannot_use_names_the_field(toy, monkeypatch):
    def unusable(self, device):
        raise RuntimeError("no such device")

    monkeypatch.setattr(torch.nn.Module, "to", unusable)
    with pytest.raises(InputError) as refused:
        TorchDetector(toy["checkpoint"], device="cpu")
    assert refused.value.field == "device" and "no such device" in refused.value.message
