"""`admfit synth`: the files it writes are read back by the loaders and by `admfit fit`; bad input exits 2."""
from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from admfit.data import data_path
from admfit.datasets import load_annotations, load_points, thumos14
from admfit.files.points import load_point_file
from admfit.files.signals import load_signals
from admfit.synthetic import anet12_grid, thumos14_grid
from admfit_cli.main import app

from ..helpers import SHARED_DATA

ANET_JSON = SHARED_DATA / "anet12" / "activity_net.v1-2.min.json"
SMALL = ["--max-videos", "3", "--dim", "8"]


def run(*args):
    return CliRunner().invoke(app, [str(arg) for arg in args])


def assert_one_line_error(result, *fragments):
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "out"
    result = run("synth", out, *SMALL, "--seed", "1")
    assert result.exit_code == 0, result.output
    return out


def test_files_are_read_back_with_the_real_counts(made):
    annotations = load_annotations(made / "annotations.json")
    real = thumos14()
    # 3 videos from each of train and test.
    assert len(annotations) == 6
    assert sorted(video.subset for video in annotations.values()) == ["Test"] * 3 + ["Validation"] * 3
    assert len(load_annotations(made / "annotations.json", subset="train")) == 3
    for key, video in annotations.items():
        assert video.instances == real[key].instances
        assert video.duration_s == real[key].duration_s and video.fps == real[key].fps
    points = load_points(made / "points.csv")
    real_points = [p for p in load_points(data_path("thumos14", "point_gaussian.csv")) if p.video in annotations]
    assert [(p.video, p.label, p.frame) for p in points] == [(p.video, p.label, p.frame) for p in real_points]
    assert len(points) > 0


def test_features_are_on_the_actionformer_grid(made):
    annotations = load_annotations(made / "annotations.json")
    files = sorted((made / "features").glob("*.npy"))
    assert [f.stem for f in files] == sorted(annotations)
    for path in files:
        features = np.load(path)
        assert features.dtype == np.float32
        assert features.shape == (thumos14_grid(annotations[path.stem])[1], 8)


def test_signals_feed_admfit_fit(made, tmp_path):
    signals = load_signals(made / "signals.npz")
    points, classes = load_point_file(made / "points.json")
    pointed = {point.video for point in points}
    # Only videos with points go into signals.npz (admfit fit needs points in every video).
    assert set(signals.probs) == pointed and all(key.startswith("video_validation") for key in pointed)
    assert classes == signals.classes and len(classes) == 20
    result = run("fit", made / "signals.npz", made / "points.json", "-o", tmp_path / "labels.json", "--quiet")
    assert result.exit_code == 0, result.output
    labels = json.loads((tmp_path / "labels.json").read_text())["results"]
    assert sum(len(rows) for rows in labels.values()) == len(points)


def test_same_seed_same_files_other_seed_differs(made, tmp_path):
    again = tmp_path / "again"
    assert run("synth", again, *SMALL, "--seed", "1").exit_code == 0
    for name in ("annotations.json", "points.csv", "points.json", "synth.json"):
        assert (made / name).read_bytes() == (again / name).read_bytes(), name
    for path in (made / "features").glob("*.npy"):
        assert path.read_bytes() == (again / "features" / path.name).read_bytes()
    first, second = load_signals(made / "signals.npz"), load_signals(again / "signals.npz")
    for key in first.probs:
        assert first.probs[key].tobytes() == second.probs[key].tobytes()
        assert first.bg_probs[key].tobytes() == second.bg_probs[key].tobytes()
    other = tmp_path / "other"
    assert run("synth", other, *SMALL, "--seed", "2", "--mode", "features").exit_code == 0
    path = next((made / "features").glob("*.npy"))
    assert not np.array_equal(np.load(path), np.load(other / "features" / path.name))


def test_modes_and_simulated_points(tmp_path):
    result = run("synth", tmp_path / "f", *SMALL, "--mode", "features", "--subset", "train")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "f" / "features").is_dir() and not (tmp_path / "f" / "signals.npz").exists()
    result = run("synth", tmp_path / "s", *SMALL, "--mode", "signals", "--subset", "test",
                 "--simulate-missing-points")
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "s" / "features").exists()
    annotations = load_annotations(tmp_path / "s" / "annotations.json")
    points = load_points(tmp_path / "s" / "points.csv")
    # THUMOS'14 test has no real points: every instance gets a simulated one, inside it.
    assert len(points) == sum(len(video.instances) for video in annotations.values())
    for point in points:
        video = annotations[point.video]
        slack_s = 1.0 / video.fps  # the LACP format stores whole frames
        assert any(i.label == point.label and i.start_s - slack_s <= point.time_s <= i.end_s + slack_s
                   for i in video.instances)
    assert set(load_signals(tmp_path / "s" / "signals.npz").probs) == set(annotations)


@pytest.mark.skipif(not ANET_JSON.is_file(), reason="../shared/data/anet12 not available")
def test_anet12_from_a_user_copy(tmp_path):
    result = run("synth", tmp_path / "a", *SMALL, "--like", "anet12", "--annotations", ANET_JSON)
    assert result.exit_code == 0, result.output
    annotations = load_annotations(tmp_path / "a" / "annotations.json")
    real = load_annotations(ANET_JSON)
    assert all(annotations[key].instances == real[key].instances for key in annotations)
    for path in (tmp_path / "a" / "features").glob("*.npy"):
        assert np.load(path).shape == (192, 8)
    signals = load_signals(tmp_path / "a" / "signals.npz")
    for key, probs in signals.probs.items():
        assert probs.shape == (192, 100)
        assert signals.fps[key] == pytest.approx(anet12_grid(annotations[key])[0].fps)
    points = load_points(tmp_path / "a" / "points.csv")
    assert {point.video for point in points} <= set(annotations)


@pytest.mark.parametrize("args, fragments", [
    (["--like", "anet12"], ["--annotations", "field 'annotations'"]),
    (["--dim", "1"], ["field 'dim'"]),
    (["--max-videos", "0"], ["field 'max_videos'"]),
    (["--seed", "-1"], ["field 'seed'"]),
    (["--like", "anet12", "--annotations", "missing.json"], ["missing.json"]),
    (["--annotations", "x.json"], ["only anet12"]),
])
def test_bad_arguments_exit_2_in_one_line(tmp_path, args, fragments):
    out = tmp_path / "out"
    result = run("synth", out, "--max-videos", "1", *args)
    assert_one_line_error(result, *fragments)
    assert not out.exists()


def test_malformed_annotations_leave_no_output(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"database": {"x": {"subset": "training", "duration": -3, "annotations": []}}}')
    result = run("synth", tmp_path / "out", "--like", "anet12", "--annotations", bad)
    assert_one_line_error(result, "bad.json")
    assert not (tmp_path / "out").exists()


def test_existing_output_needs_overwrite(tmp_path):
    out = tmp_path / "out"
    assert run("synth", out, "--max-videos", "1", "--dim", "4", "--mode", "signals").exit_code == 0
    before = (out / "annotations.json").read_bytes()
    result = run("synth", out, "--max-videos", "2", "--dim", "4")
    assert_one_line_error(result, "--overwrite")
    assert (out / "annotations.json").read_bytes() == before
    assert run("synth", out, "--max-videos", "2", "--dim", "4", "--overwrite").exit_code == 0
    assert len(load_annotations(out / "annotations.json")) == 4
    assert (out / "features").is_dir()
    assert not any(path.name.startswith(".synth-staging") for path in out.iterdir())


def test_out_dir_that_is_a_file(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    assert_one_line_error(run("synth", target, "--max-videos", "1"), "not a folder")


def test_unknown_choice_exits_2_without_traceback(tmp_path):
    result = run("synth", tmp_path / "out", "--like", "kinetics")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()
