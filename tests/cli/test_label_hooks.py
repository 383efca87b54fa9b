"""`admfit label` and the plug-in's hooks (admfit/detector.py): ``validate`` runs on every video before the first
``predict``, and what a plug-in raises reaches the user as one line naming the plug-in, the video and the features
file. The plug-in is this module's ``make_detector``, registered by patching the entry-point lookup; the same
refusals with the reference detector: tests/torch/test_plugin_errors.py."""
from __future__ import annotations

from importlib.metadata import EntryPoint

import numpy as np
import pytest

from admfit.files.points import save_points_json
from admfit_cli.main import app

from ..helpers import assert_one_line_error, invoke
from ..torch.toydata import toy_videos, write_toy_dataset

VIDEOS = dict(num_videos=3, length=48, dim=4, seed=5)
CLASSES = ["class0", "class1", "class2"]
CALLS: list[tuple[str, str]] = []  # (hook, video), in the order the plug-in saw them


class RecordingDetector:
    """Uniform probabilities; ``fail`` = "HOOK:VIDEO:ERROR" makes that hook raise that error on that video. Each
    call is recorded with the video its features belong to (their first value is the video's number)."""

    classes = CLASSES

    def __init__(self, fail: str):
        self.fail = tuple(fail.split(":")) if fail else ()

    def _record(self, hook: str, features) -> None:
        from admfit.errors import InputError

        video = f"video_{int(features[0, 0]):03d}"
        CALLS.append((hook, video))
        if self.fail[:2] == (hook, video):
            raise {"InputError": InputError("expected 4 columns", field="shape"),
                   "RuntimeError": RuntimeError("shape mismatch\nin layer 3"),
                   "KeyboardInterrupt": KeyboardInterrupt()}[self.fail[2]]

    def validate(self, features):
        self._record("validate", features)

    def predict(self, video, features, grid):
        from admfit.detector import DetectorOutput

        self._record("predict", features)
        size = len(features)
        return DetectorOutput(video, [np.full((size, 3), 0.3)], [np.full(size, 0.1)], grid)


def make_detector(fail: str = "") -> RecordingDetector:
    return RecordingDetector(fail)


@pytest.fixture()
def toy(tmp_path, monkeypatch):
    """Toy features whose first value is the video's number, points of every video, and the plug-in installed."""
    import admfit.detector

    paths = write_toy_dataset(tmp_path / "toy", **VIDEOS)
    for number, file in enumerate(sorted(paths["features"].glob("*.npy"))):
        array = np.load(file)
        array[0, 0] = number
        np.save(file, array)
    _, _, points, _ = toy_videos(**VIDEOS)
    save_points_json(tmp_path / "points.json", points, classes=CLASSES)
    entry = EntryPoint(name="recording", value=f"{__name__}:make_detector", group=admfit.detector.ENTRY_POINT_GROUP)
    monkeypatch.setattr(admfit.detector, "entry_points", lambda group: [entry])
    CALLS.clear()
    return {**paths, "points": tmp_path / "points.json", "out": tmp_path / "out"}


def _label(toy, fail=""):
    return invoke(app, "label", "--detector", "recording", "--detector-arg", f"fail={fail}", "--features",
                  toy["features"], "--points", toy["points"], "--annotations", toy["annotations"], "-o", toy["out"],
                  "--quiet")


def test_validate_runs_on_every_video_before_the_first_predict(toy):
    code, _, stderr = _label(toy)
    assert code == 0, stderr
    videos = ["video_000", "video_001", "video_002"]
    assert CALLS == [("validate", v) for v in videos] + [("predict", v) for v in videos]


def test_a_video_validate_refuses_stops_the_run_before_any_forward_pass(toy):
    assert_one_line_error(*_label(toy, "validate:video_002:InputError"), "detector 'recording'",
                          str(toy["features"] / "video_002.npy"), "video 'video_002'", "field 'shape'",
                          "expected 4 columns")
    assert [hook for hook, _ in CALLS] == ["validate"] * 3 and not toy["out"].exists()


@pytest.mark.parametrize("hook", ["validate", "predict"])
def test_any_other_exception_of_the_plugin_becomes_one_line(toy, hook):
    assert_one_line_error(*_label(toy, f"{hook}:video_001:RuntimeError"), "detector 'recording'",
                          str(toy["features"] / "video_001.npy"), "video 'video_001'", f"field '{hook}'",
                          "RuntimeError: shape mismatch in layer 3")
    assert not toy["out"].exists()


def test_an_interrupt_in_the_plugin_is_not_turned_into_an_input_error(toy):
    from admfit.detector import load_detector
    from admfit.labelling import label_features

    with pytest.raises(KeyboardInterrupt):
        label_features(load_detector("recording", fail="predict:video_001:KeyboardInterrupt"), "recording",
                       toy["features"], toy["points"], toy["out"], annotations=toy["annotations"])
    assert not toy["out"].exists()
