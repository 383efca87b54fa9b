"""One click file, three commands: `admfit fit`, `admfit label` and `admfit-torch train` read it the same way.

A LACP-layout click file of the toy videos, whose frames count at a native 24 fps while the features and the
annotation file are at 30 fps (the seam of ActionFormer's release, docs/spec.md section 3.6): every command puts each
click at frame / 24 s, in the same class; a row whose class name and index disagree, or whose name is outside the
vocabulary, is refused by all three with the same words."""
from __future__ import annotations

import json

import numpy as np
import pytest

from admfit_cli.main import app as admfit_app
from admfit_cli.torch_main import app as torch_app

from ..helpers import assert_one_line_error, invoke
from .toydata import toy_videos, write_toy_dataset

VIDEOS = dict(num_videos=4, length=64, seed=5)
NATIVE_FPS = 24.0
HEADER = "class,class_index,start_frame,stop_frame,video_id,point"
FAST = ["--config", "cpu-small", "--set", "optim.epochs=1", "--set", "optim.warmup_epochs=0", "--set",
        "run.figures=0", "--no-progress"]


def _click_file(path, rows) -> None:
    path.write_text("\n".join([HEADER, *(f"{label},{index},0,0,{video},{frame}" for label, index, video, frame
                                          in rows)]) + "\n")


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    """The toy set with its training videos' points as LACP frames at 24 fps, the native-rate table, and a base model
    trained one epoch (train's pseudo stage run too)."""
    folder = tmp_path_factory.mktemp("clicks")
    paths = write_toy_dataset(folder, **VIDEOS)
    _, _, points, classes = toy_videos(**VIDEOS)
    annotations = json.loads(paths["annotations"].read_text())["database"]
    trained = [point for point in points if annotations[point.video]["subset"] == "train"]
    rows = [(p.label, classes.index(p.label), p.video, round(p.time_s * NATIVE_FPS)) for p in trained]
    _click_file(folder / "clicks.csv", rows)
    (folder / "native.json").write_text(json.dumps({video: NATIVE_FPS for video in annotations}))
    for stage in ("base", "pseudo"):
        code, _, stderr = invoke(torch_app, "train", "--stage", stage, "--features", paths["features"],
                                 "--annotations", paths["annotations"], "--points", folder / "clicks.csv",
                                 "--points-fps", folder / "native.json", "-o", folder / "run", *FAST)
        assert code == 0, stderr
        assert "differ for 2 of 2 clicked videos" in stderr and "(24 native, 30 features)" in stderr
    return {**paths, "folder": folder, "rows": rows, "classes": classes}


def _label(toy, points, out, *extra):
    return invoke(admfit_app, "label", "--detector", "admfit_torch", "--detector-arg",
                  f"checkpoint={toy['folder'] / 'run' / 'base' / 'checkpoint.pt'}", "--detector-arg", "device=cpu",
                  "--features", toy["features"], "--annotations", toy["annotations"], "--points", points,
                  "--points-fps", toy["folder"] / "native.json", "-o", out, "--quiet", *extra)


def _clicks(document) -> list[tuple[str, str, float]]:
    return sorted((video, entry["label"], entry["point_s"]) for video, entries in document["results"].items()
                  for entry in entries)


def test_the_three_commands_put_every_click_at_its_native_time_in_its_class(toy, tmp_path):
    code, _, stderr = _label(toy, toy["folder"] / "clicks.csv", tmp_path / "label")
    assert code == 0, stderr
    code, _, stderr = invoke(admfit_app, "fit", tmp_path / "label" / "signals.npz", toy["folder"] / "clicks.csv",
                             "--points-fps", toy["folder"] / "native.json", "-o", tmp_path / "fit.json", "--quiet")
    assert code == 0, stderr
    expected = sorted((video, label, frame / NATIVE_FPS) for label, _, video, frame in toy["rows"])
    snippet_s = 4 / 30.0
    for document in (json.loads((toy["folder"] / "run" / "base" / "pseudo_labels.json").read_text()),
                     json.loads((tmp_path / "label" / "pseudo_labels.json").read_text()),
                     json.loads((tmp_path / "fit.json").read_text())):
        found = _clicks(document)
        assert [row[:2] for row in found] == [row[:2] for row in expected]
        # train keeps the click's exact time; fit and label the centre of the snippet the fit used
        np.testing.assert_allclose([row[2] for row in found], [row[2] for row in expected], atol=snippet_s / 2 + 1e-9,
                                   rtol=0)


@pytest.mark.parametrize("row, words", [
    (("class1", 0), ["line 2: class index 0 disagrees with class 'class1'", "field 'class_index'"]),
    (("Pool", 1), ["line 2: unknown class 'Pool'", "field 'class'"]),
])
def test_the_three_commands_refuse_a_bad_row_alike(toy, tmp_path, row, words):
    label, index = row
    bad = tmp_path / "bad.csv"
    _click_file(bad, [(label, index, toy["rows"][0][2], toy["rows"][0][3]), *toy["rows"][1:]])
    code, _, stderr = _label(toy, toy["folder"] / "clicks.csv", tmp_path / "good")
    assert code == 0, stderr
    runs = {
        "train": invoke(torch_app, "train", "--stage", "base", "--features", toy["features"], "--annotations",
                        toy["annotations"], "--points", bad, "--points-fps", toy["folder"] / "native.json", "-o",
                        tmp_path / "run", *FAST),
        "label": _label(toy, bad, tmp_path / "label"),
        "fit": invoke(admfit_app, "fit", tmp_path / "good" / "signals.npz", bad, "--points-fps",
                      toy["folder"] / "native.json", "-o", tmp_path / "fit.json"),
    }
    for name, result in runs.items():
        assert_one_line_error(*result, "bad.csv", *words)
    assert not (tmp_path / "run").exists() and not (tmp_path / "label").exists() and not (tmp_path / "fit.json").exists()
