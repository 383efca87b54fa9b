"""Simulated point labels: recipes, determinism, agreement with LACP's shipped file, and the CLI."""
from __future__ import annotations

import collections
import csv

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from admfit.data import data_path
from admfit.datasets import Instance, VideoAnnotation, load_annotations, load_points, thumos14
from admfit.datasets.rates import shipped_rates
from admfit.datasets.simulate import SimulationConfig, points_csv, relative_positions, simulate_points
from admfit.errors import InputError
from admfit_cli.main import app


@pytest.fixture(scope="module")
def train():
    return thumos14("train")


@pytest.fixture(scope="module")
def shipped_rows():
    with open(data_path("thumos14", "point_gaussian.csv"), newline="") as handle:
        return list(csv.DictReader(handle))


def _one_video(start_s, end_s, fps=10.0, duration_s=100.0):
    return {"v": VideoAnnotation(video="v", subset="train", duration_s=duration_s, fps=fps,
                                 instances=[Instance(label="Jump", start_s=start_s, end_s=end_s)])}


def test_hand_computed_gaussian_without_spread():
    # [1.0 s, 2.0 s] at 10 fps -> frames 10..20, centre 15; shift -1.5 -> 13.5, np.rint -> 14 (half to even).
    config = SimulationConfig(sigma_frames=0.0, shift_frames=-1.5)
    (point,) = simulate_points(_one_video(1.0, 2.0), config).points
    assert (point.start_frame, point.stop_frame, point.point, point.label_id) == (10, 20, 14, 0)
    assert point.to_point_label().time_s == pytest.approx(1.4)


def test_zero_length_and_clipped_instances():
    (point,) = simulate_points(_one_video(3.0, 3.0), SimulationConfig(dist="uniform", seed=3)).points
    assert point.point == point.start_frame == point.stop_frame == 30
    # Ends after the 5 s video: drawn from frames 40..50 only.
    frames = {simulate_points(_one_video(4.0, 9.0, duration_s=5.0), SimulationConfig(dist="uniform", seed=s))
              .points[0].point for s in range(40)}
    assert min(frames) >= 40 and max(frames) <= 50
    result = simulate_points(_one_video(6.0, 9.0, duration_s=5.0), SimulationConfig())
    assert result.points == [] and [s.reason for s in result.skipped] == ["starts after the video ends"]


def test_missing_fps_is_an_input_error():
    videos = _one_video(1.0, 2.0)
    videos["v"] = videos["v"].model_copy(update={"fps": None})  # and "v" is not a THUMOS'14 video
    with pytest.raises(InputError, match="no native fps") as caught:
        simulate_points(videos, SimulationConfig(), source="gt.json")
    assert (caught.value.file, caught.value.video, caught.value.field) == ("gt.json", "v", "fps")


@pytest.mark.parametrize("dist", ["gaussian", "uniform"])
def test_deterministic_per_video_and_inside_instances(train, dist):
    first = simulate_points(train, SimulationConfig(dist=dist, seed=7)).points
    again = simulate_points(train, SimulationConfig(dist=dist, seed=7)).points
    other = simulate_points(train, SimulationConfig(dist=dist, seed=8)).points
    assert first == again and first != other
    assert all(p.start_frame <= p.point <= p.stop_frame for p in first)
    # Each video has its own stream: simulating a subset gives those videos the same points.
    some = {v: train[v] for v in sorted(train)[::7]}
    assert simulate_points(some, SimulationConfig(dist=dist, seed=7)).points == [p for p in first if p.video in some]


def test_same_instances_as_lacp_file(train, shipped_rows):
    result = simulate_points(train, SimulationConfig(seed=0))
    ours = collections.Counter((p.video, p.label) for p in result.points)
    theirs = collections.Counter((r["video_id"], r["class"]) for r in shipped_rows)
    assert ours == theirs
    # LACP also lacks the 4 instances that start after their video's end (validation 364 and 856).
    assert sorted(s.video for s in result.skipped) == ["video_validation_0000364"] * 2 + ["video_validation_0000856"] * 2
    # Instance frames agree with LACP's to within one frame (both are 0.1 s times * fps, rounded).
    ours_frames = sorted((p.video, p.start_frame, p.stop_frame) for p in result.points)
    theirs_frames = sorted((r["video_id"], int(r["start_frame"]), int(r["stop_frame"])) for r in shipped_rows)
    assert all(a[0] == b[0] and abs(a[1] - b[1]) <= 1 and abs(a[2] - b[2]) <= 1
               for a, b in zip(ours_frames, theirs_frames))


def _bootstrap_se(values, rng, draws=300):
    """Standard errors of (mean, std) of `values` by bootstrap: the spread is heavy-tailed
    (short instances dominate the std), so the normal-theory formula would understate it."""
    samples = rng.choice(values, size=(draws, values.size))
    return samples.mean(axis=1).std(), samples.std(axis=1).std()


def test_gaussian_relative_positions_match_lacp(train, shipped_rows):
    start = np.array([float(r["start_frame"]) for r in shipped_rows])
    stop = np.array([float(r["stop_frame"]) for r in shipped_rows])
    theirs = (np.array([float(r["point"]) for r in shipped_rows]) - start) / (stop - start)
    ours = relative_positions(simulate_points(train, SimulationConfig(seed=0)).points)
    rng = np.random.default_rng(0)
    se_theirs, se_ours = _bootstrap_se(theirs, rng), _bootstrap_se(ours, rng)
    # Both files are one random draw each: their statistics may differ by sampling error alone.
    # 4 standard errors of the difference (about 0.004 for the mean, 0.008 for the std) leaves a
    # 1-in-15,000 false alarm, yet rejects a centred draw without the -1.5 frame shift (mean off
    # by 0.025), sigma_frames=2 (std off by 0.016), a spread of 5 % of the duration (std off by
    # 0.022) and a uniform draw (std 0.29).
    for k, (a, b) in enumerate(zip((theirs.mean(), theirs.std()), (ours.mean(), ours.std()))):
        assert abs(a - b) <= 4 * np.hypot(se_theirs[k], se_ours[k])


def test_uniform_relative_positions(train):
    ours = relative_positions(simulate_points(train, SimulationConfig(dist="uniform", seed=0)).points)
    ours = ours[np.isfinite(ours)]
    se_mean, se_std = _bootstrap_se(ours, np.random.default_rng(1))
    # Uniform on [0, 1]: mean 1/2, std sqrt(1/12) (integer frames add a little spread on short instances).
    assert abs(ours.mean() - 0.5) <= 4 * se_mean
    assert abs(ours.std() - np.sqrt(1 / 12)) <= 4 * se_std + 0.01


def test_csv_round_trip(train, tmp_path):
    # thumos14() takes fps from fps_dict.json, which load_points also uses by default.
    result = simulate_points(train, SimulationConfig(seed=2))
    path = tmp_path / "points.csv"
    path.write_text(points_csv(result.points))
    assert path.read_text().splitlines()[0] == "class,class_index,start_frame,stop_frame,video_id,point"
    read = [point.model_copy(update={"line": None}) for point in load_points(path)]  # the file's line numbers aside
    assert read == [p.to_point_label() for p in result.points]


runner = CliRunner()


def run(*args):
    result = runner.invoke(app, list(map(str, args)))
    return result.exit_code, result.stdout, result.stderr


def test_cli_writes_lacp_csv_that_load_points_reads(tmp_path):
    gt = data_path("thumos14", "gt_full.json")
    out = tmp_path / "points.csv"
    code, _, err = run("simulate-points", gt, "--seed", 5, "-o", out)
    assert code == 0 and "3003 points in 200 videos" in err and "skipped 4" in err
    # The frames count at the rates load_points reads them back with (fps_dict.json's 29.97003, where gt_full.json
    # says 29.97): the file's default reading gives back the simulated times.
    records = load_annotations(gt, subset="train")
    expected = [p.to_point_label() for p in simulate_points(records, SimulationConfig(seed=5), fps=shipped_rates()).points]
    assert [(p.video, p.time_s) for p in load_points(out)] == [(p.video, p.time_s) for p in expected]


def test_cli_refuses_a_video_without_a_native_rate_and_takes_the_files_own_when_told(tmp_path):
    gt = tmp_path / "gt.json"
    gt.write_text('{"database": {"v1": {"subset": "train", "fps": 10.0, "duration": 9.0, '
                  '"annotations": [{"label": "J", "segment": [2, 3]}]}}}')
    code, stdout, stderr = run("simulate-points", gt, "-o", tmp_path / "p.csv")
    assert code == 2 and "no native fps for this video" in stderr and "v1" in stderr and "--points-fps" in stderr
    assert not (tmp_path / "p.csv").exists()
    code, _, stderr = run("simulate-points", gt, "--points-fps", "annotations", "-o", tmp_path / "p.csv")
    assert code == 0, stderr
    assert 20 <= int((tmp_path / "p.csv").read_text().splitlines()[1].split(",")[-1]) <= 30  # frames at 10 fps


def test_cli_stdout_and_test_subset():
    code, out, _ = run("simulate-points", data_path("thumos14", "gt.json"), "--subset", "test", "--dist", "uniform")
    assert code == 0
    assert out.startswith("class,class_index,") and len(out.splitlines()) == 3311 + 1


@pytest.mark.parametrize("args, message", [
    (["--subset", "dev"], "no subset 'dev'"),
    (["--sigma-frames", "-1"], "sigma_frames"),
    (["--points-fps", "FPS"], "expected a positive number of frames per second"),
])
def test_cli_bad_options(tmp_path, args, message):
    (tmp_path / "fps.json").write_text('{"video_validation_0000051": "fast"}')
    args = [str(tmp_path / "fps.json") if a == "FPS" else a for a in args]
    out = tmp_path / "out.csv"
    code, _, err = run("simulate-points", data_path("thumos14", "gt_full.json"), "-o", out, *args)
    errors = [line for line in err.strip().splitlines() if not line.startswith("note: ")]  # notes are not errors
    assert code == 2 and message in err and len(errors) == 1
    assert not out.exists()


def test_cli_bad_files(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"database": {"v1": {"subset": "train", "annotations": [{"label": "J", "segment": [2, 1]}]}}}')
    for source, message in [(tmp_path / "absent.json", "no such file"), (tmp_path, "is a directory"),
                            (bad, "field 'annotations.0.segment'")]:
        code, _, err = run("simulate-points", source, "--subset", "all", "-o", tmp_path / "o.csv")
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    for target, message in [(tmp_path, "is a directory"), (tmp_path / "no" / "o.csv", "does not exist")]:
        code, _, err = run("simulate-points", data_path("thumos14", "gt.json"), "-o", target)
        assert code == 2 and message in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.json"]  # no partial output anywhere


@settings(max_examples=60, deadline=None)
@given(start=st.floats(0, 50), length=st.floats(0, 20), fps=st.sampled_from([24.0, 25.0, 29.97, 30.0]),
       shift=st.floats(-1000, 1000), sigma=st.floats(0, 50), sigma_rel=st.floats(0, 1),
       dist=st.sampled_from(["gaussian", "uniform"]), seed=st.integers(0, 2**32))
def test_any_recipe_stays_inside_the_instance(start, length, fps, shift, sigma, sigma_rel, dist, seed):
    # Even a centre far outside a one-frame instance with a tiny spread must land inside it.
    config = SimulationConfig(dist=dist, seed=seed, shift_frames=shift, sigma_frames=sigma, sigma_rel=sigma_rel)
    (point,) = simulate_points(_one_video(start, start + length, fps=fps), config).points
    assert point.start_frame <= point.point <= point.stop_frame
