"""`admfit label` and `admfit detectors` with a detector plug-in package written and installed by the test: a module
and a `toy_admfit_detector-0.1.dist-info` (METADATA, entry_points.txt) in a folder put on sys.path, found through
the real entry-point discovery of importlib.metadata. The reference detector as a plug-in: tests/torch/test_label_torch.py."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from admfit.files.points import save_points_json
from admfit.files.signals import load_signals
from admfit.levels import StepCentres
from admfit_cli.main import app

from ..helpers import REPO, assert_one_line_error, invoke
from ..torch.toydata import toy_videos, write_toy_dataset

PLUGIN = '''
"""A deterministic detector: class c's probability is a logistic function of feature column c, the background's
of column C; level 1 keeps every second snippet (centred on level-0 snippet 2 j)."""
import numpy as np

from admfit.detector import DetectorOutput
from admfit.levels import Pyramid


class ToyDetector:
    def __init__(self, classes, scale, nan_video):
        self.classes, self.scale, self.nan_video = classes, scale, nan_video

    def predict(self, video, features, grid):
        x = np.asarray(features, dtype=np.float64)
        count = len(self.classes)
        bg = 1.0 / (1.0 + np.exp(-self.scale * x[:, count]))
        fused = (1.0 - bg)[:, None] / (1.0 + np.exp(-self.scale * x[:, :count]))
        if video == self.nan_video:
            fused[3, 0] = np.nan
        return DetectorOutput(video, [fused, fused[::2]], [bg, bg[::2]], grid, 2, Pyramid(theta=2))


def make_detector(classes="class0,class1,class2", scale="1.0", nan_video=""):
    return ToyDetector(classes.split(","), float(scale), nan_video)
'''
DIST = "toy_admfit_detector-0.1.dist-info"
VIDEOS = dict(num_videos=4, length=64, dim=8, seed=3)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The plug-in package, as pip would leave it in site-packages."""
    folder = tmp_path_factory.mktemp("site")
    (folder / "toy_admfit_detector.py").write_text(textwrap.dedent(PLUGIN), encoding="utf-8")
    (folder / DIST).mkdir()
    (folder / DIST / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-admfit-detector\nVersion: 0.1\n")
    (folder / DIST / "entry_points.txt").write_text("[admfit.detectors]\ntoy = toy_admfit_detector:make_detector\n")
    return folder


@pytest.fixture()
def installed(site, monkeypatch):
    monkeypatch.syspath_prepend(str(site))  # also invalidates importlib's caches
    return site


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    """The toy data set (tests/torch/toydata.py: 30 fps, stride 4, 16 frames) with its points as points.json."""
    folder = tmp_path_factory.mktemp("toy")
    paths = write_toy_dataset(folder, **VIDEOS)
    _, _, points, classes = toy_videos(**VIDEOS)
    save_points_json(folder / "points.json", points, classes=classes)
    return {**paths, "points": folder / "points.json", "classes": classes, "num_points": len(points)}


def _label(toy, out, *extra):
    return invoke(app, "label", "--detector", "toy", "--features", toy["features"], "--points", toy["points"],
                  "--annotations", toy["annotations"], "-o", out, "--quiet", *extra)


def test_detectors_lists_the_installed_plugins(installed):
    code, stdout, stderr = invoke(app, "detectors")
    assert code == 0, stderr
    lines = stdout.splitlines()
    assert "toy\ttoy_admfit_detector:make_detector\t(toy-admfit-detector 0.1)" in lines
    assert "admfit_torch\tadmfit_torch.plugin:make_detector\t(admfit 0.1.0)" in lines


def test_detectors_are_found_in_a_fresh_process(site):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(REPO)])}
    done = subprocess.run([sys.executable, "-c", "from admfit_cli.main import app; app()", "detectors"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "toy\ttoy_admfit_detector:make_detector\t(toy-admfit-detector 0.1)" in done.stdout.splitlines()


def test_detectors_says_when_none_is_installed(monkeypatch):
    import admfit.detector

    monkeypatch.setattr(admfit.detector, "entry_points", lambda group: [])
    code, stdout, _ = invoke(app, "detectors")
    assert code == 0 and stdout == "no detector plug-ins installed (entry-point group admfit.detectors)\n"


def test_label_writes_the_signals_and_admfit_fit_reproduces_its_pseudo_labels(installed, toy, tmp_path):
    out = tmp_path / "out"
    code, _, stderr = _label(toy, out, "--detector-arg", "scale=2")
    assert code == 0, stderr
    assert sorted(p.name for p in out.iterdir()) == ["pseudo_labels.json", "signals.npz"]
    signals = load_signals(out / "signals.npz")
    assert signals.classes == toy["classes"] and signals.centres == StepCentres(origin=0.0, spacing=2.0)
    points = json.loads(toy["points"].read_text())["points"]
    assert list(signals.probs) == list(points)
    for video in points:
        x = np.load(toy["features"] / f"{video}.npy").astype(np.float64)
        bg = _sigmoid(2 * x[:, 3])  # scale=2 reached the factory: its default 1 gives other values
        np.testing.assert_allclose(signals.bg_probs[video], bg, rtol=1e-6)
        np.testing.assert_allclose(signals.probs[video], ((1 - bg)[:, None] * _sigmoid(2 * x[:, :3]))[::2], rtol=1e-6)
        assert signals.fps[video] == 30.0 and signals.duration[video] == pytest.approx((64 * 4 + 16) / 30)
    labelled = json.loads((out / "pseudo_labels.json").read_text())
    assert sum(len(entries) for entries in labelled["results"].values()) == toy["num_points"]
    assert labelled["meta"]["detector"] == "toy" and labelled["meta"]["detector_args"] == {"scale": "2"}

    code, _, stderr = invoke(app, "fit", out / "signals.npz", toy["points"], "-o", tmp_path / "fit.json", "--quiet",
                             "--annotations", toy["annotations"])
    assert code == 0, stderr
    fitted = json.loads((tmp_path / "fit.json").read_text())
    assert fitted["results"] == labelled["results"]
    assert labelled["meta"]["annotations"]["path"] == str(toy["annotations"].resolve())  # for admfit export
    assert fitted["meta"] == {k: v for k, v in labelled["meta"].items()
                              if k not in ("detector", "detector_args", "features")}


def test_label_keeps_other_files_of_an_existing_folder_and_takes_the_adm_options(installed, toy, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    code, _, stderr = _label(toy, tmp_path, "--paper", "--min-confidence", "0.99")
    assert code == 0, stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "pseudo_labels.json", "signals.npz"]
    meta = json.loads((tmp_path / "pseudo_labels.json").read_text())["meta"]
    assert meta["config"]["despike"] is False and meta["min_confidence"] == 0.99  # ADMConfig.paper()


def test_label_makes_what_admfit_fit_makes_of_its_signals_with_tuning_auto_by_default(installed, toy, tmp_path):
    out = tmp_path / "out"
    code, _, stderr = _label(toy, out)
    assert code == 0, stderr
    labelled = json.loads((out / "pseudo_labels.json").read_text())
    assert labelled["meta"]["tuning"]["points_scored"] == toy["num_points"]
    code, _, stderr = invoke(app, "fit", out / "signals.npz", toy["points"], "-o", tmp_path / "fit.json",
                             "--tuning", "auto", "--quiet")
    assert code == 0, stderr
    fitted = json.loads((tmp_path / "fit.json").read_text())
    assert fitted["results"] == labelled["results"] and fitted["meta"]["tuning"] == labelled["meta"]["tuning"]


@pytest.mark.parametrize("args, words", [
    (["--detector-arg", "scale"], ["--detector-arg", "KEY=VALUE", "'scale'"]),
    (["--detector-arg", "colour=red"], ["field 'detector_args'", "does not take", "colour"]),
    (["--detector-arg", "classes=class0,class1"], ["points.json", "field 'classes'", "detector 'toy'"]),
])
def test_bad_detector_arguments(installed, toy, tmp_path, args, words):
    assert_one_line_error(*_label(toy, tmp_path / "out", *args), *words)
    assert not (tmp_path / "out").exists()


def test_unknown_detector_lists_the_known_ones(installed, toy, tmp_path):
    code, stdout, stderr = invoke(app, "label", "--detector", "nope", "--features", toy["features"], "--points",
                                  toy["points"], "-o", tmp_path / "out")
    assert_one_line_error(code, stdout, stderr, "unknown detector 'nope'", "admfit_torch", "toy")


def test_a_label_the_detector_does_not_know(installed, toy, tmp_path):
    points = tmp_path / "points.json"
    document = json.loads(toy["points"].read_text())
    del document["classes"]  # labels by name, checked against the detector's classes
    first = next(iter(document["points"]))
    document["points"][first][0]["label"] = "Diving"
    points.write_text(json.dumps(document))
    code, stdout, stderr = invoke(app, "label", "--detector", "toy", "--features", toy["features"], "--points", points,
                                  "--fps", "30", "-o", tmp_path / "out")
    assert_one_line_error(code, stdout, stderr, str(points), f"video {first!r}", "class 'Diving'",
                          "3 classes of detector 'toy'")
    assert not (tmp_path / "out").exists()


def test_missing_features_wrong_grid_and_nan_output_leave_nothing(installed, toy, tmp_path):
    import shutil

    features = shutil.copytree(toy["features"], tmp_path / "features")
    (features / "video_002.npy").unlink()
    out = tmp_path / "out"
    code, stdout, stderr = invoke(app, "label", "--detector", "toy", "--features", features, "--points",
                                  toy["points"], "--annotations", toy["annotations"], "-o", out)
    assert_one_line_error(code, stdout, stderr, str(features / "video_002.npy"), "video 'video_002'",
                          "no features for this video")
    # stride 8 frames: a 9.07 s video at 30 fps has 33-34 snippets, the file holds 64
    assert_one_line_error(*_label(toy, out, "--stride", "8"), str(toy["features"] / "video_000.npy"),
                          "video 'video_000'", "field 'T'", "expected T=33-34", "found T=64")
    assert_one_line_error(*_label(toy, out, "--detector-arg", "nan_video=video_002"), "detector 'toy'",
                          "video 'video_002'", "NaN")
    assert not out.exists()
    out.mkdir()
    (out / "signals.npz").write_bytes(b"old")
    assert_one_line_error(*_label(toy, out, "--detector-arg", "nan_video=video_003"), "video 'video_003'")
    assert [p.name for p in out.iterdir()] == ["signals.npz"] and (out / "signals.npz").read_bytes() == b"old"


def test_unwritable_output_and_unknown_fps(installed, toy, tmp_path):
    assert_one_line_error(*_label(toy, tmp_path / "missing" / "out"), "missing", "does not exist")
    (tmp_path / "file").write_text("")
    assert_one_line_error(*_label(toy, tmp_path / "file"), str(tmp_path / "file"), "not a folder")
    (tmp_path / "out" / "signals.npz").mkdir(parents=True)
    assert_one_line_error(*_label(toy, tmp_path / "out"), "signals.npz", "is a directory")
    code, stdout, stderr = invoke(app, "label", "--detector", "toy", "--features", toy["features"], "--points",
                                  toy["points"], "-o", tmp_path / "new")
    assert_one_line_error(code, stdout, stderr, "video 'video_000'", "no fps known", "--fps")
    assert not (tmp_path / "new").exists()
