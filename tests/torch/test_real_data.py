"""The real-data path: ActionFormer-layout features with real THUMOS'14 ids and lengths (random values), real
annotations and the shipped clicks, and each situation that used to pass silently.

The "Your own features" walk-through of docs/training.md runs as written (its first bash block, in a folder holding
a tiny copy of ActionFormer's release: its JSON at 30 fps, 30-fps features, one natively 24-fps video); the
changed-data checks then use its run folder, so the suite trains one small run only."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from admfit.data import data_path
from admfit.datasets import thumos14
from admfit_cli.torch_main import app
from admfit_torch.checkpoint import load_point_detector

from ..helpers import REPO, assert_one_line_error, invoke

TRAIN = ["video_validation_0000190", "video_validation_0000854", "video_validation_0000986"]
TEST = ["video_test_0000062", "video_test_0000698"]
FAST = ["--config", "cpu-small", "--set", "optim.epochs=1", "--set", "optim.warmup_epochs=0", "--set",
        "run.figures=0", "--no-progress"]


def write_features(folder: Path, videos, *, dim: int = 64, lacp: bool = False, seed: int = 0) -> Path:
    """Random (T, dim) features with each video's real T: ActionFormer's stride-4 / 16-frame grid at the native
    fps, or (``lacp``) LACP's 25 fps / 16-frame chunks."""
    records = thumos14()
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for video in videos:
        record = records[video]
        frames = record.duration_s * (25.0 if lacp else record.fps)
        length = int(frames // 16) if lacp else int((frames - 16) // 4) + 1
        np.save(folder / f"{video}.npy", rng.normal(size=(length, dim)).astype(np.float32))
    return folder


# ActionFormer's THUMOS'14 release, as docs/training.md "Your own features" starts from it: features extracted at
# 30 fps for every video, and a JSON that says "fps": 30.0; the clicks are frames at each video's native fps.
RELEASE_JSON = Path("data/thumos/annotations/thumos14.json")
RELEASE_FEATURES = Path("data/thumos/i3d_features")
RELEASE_FPS = 30.0
NATIVE_24_FPS = "video_validation_0000411"  # recorded at 24 fps (fps_dict.json): 18 clicks, 810 s
WALK_TRAIN = TRAIN + [NATIVE_24_FPS]


def write_release(root: Path, videos, *, dim: int = 2048, seed: int = 0) -> None:
    """A tiny copy of ActionFormer's release under ``root``: the JSON of every THUMOS'14 video (gt_full.json's
    subsets, durations and segments, with ActionFormer's "fps": 30.0) and random 30-fps features of ``videos``."""
    document = json.loads(data_path("thumos14", "gt_full.json").read_text())
    for record in document["database"].values():
        record["fps"] = RELEASE_FPS
    (root / RELEASE_JSON).parent.mkdir(parents=True, exist_ok=True)
    (root / RELEASE_JSON).write_text(json.dumps({"version": "Thumos14-30fps", "database": document["database"]}))
    rng = np.random.default_rng(seed)
    (root / RELEASE_FEATURES).mkdir(parents=True, exist_ok=True)
    for video in videos:
        frames = document["database"][video]["duration"] * RELEASE_FPS
        length = int((frames - 16) // 4) + 1
        np.save(root / RELEASE_FEATURES / f"{video}.npy", rng.normal(size=(length, dim)).astype(np.float32))


def walkthrough_commands() -> list[str]:
    text = (REPO / "docs" / "training.md").read_text(encoding="utf-8")
    section = text[text.index("## Your own features"):]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def walkthrough(tmp_path_factory):
    """The walk-through's commands, run by bash in a folder holding a tiny copy of ActionFormer's release: 2048-D
    features of 4 training videos (one natively 24 fps) and 2 test videos."""
    root = tmp_path_factory.mktemp("own")
    write_release(root, WALK_TRAIN + TEST)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}
    outputs = []
    for command in walkthrough_commands():
        done = subprocess.run(["bash", "-c", command], cwd=root, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, (command, done.stdout, done.stderr)
        outputs.append(done)
    return root, outputs


def test_the_walkthrough_runs_as_written(walkthrough):
    root, outputs = walkthrough
    assert (root / "videos.txt").read_text().split() == sorted(WALK_TRAIN + TEST)
    report = json.loads((root / "runs" / "smoke" / "report.json").read_text())
    assert report["dataset"]["train_videos"] == 4 and report["dataset"]["test_videos"] == 2
    assert report["dataset"]["classes"] == 20  # THUMOS'14's, though these videos hold a few of them
    assert "note: subset 'train' read as 'Validation'" in outputs[1].stderr
    assert "points of 196 videos of subset 'train' are not used" in outputs[1].stderr
    assert (f"they differ for 1 of 4 clicked videos, e.g. {NATIVE_24_FPS} (24 native, 30 features)"
            in outputs[1].stderr)
    assert "mAP" in outputs[2].stdout and "note: subset 'test' read as 'Test'" in outputs[2].stderr
    _, _, classes = load_point_detector(root / "runs" / "smoke" / "main")
    assert classes == (data_path("thumos14", "classes.txt")).read_text().split("\n")[:-1]
    pseudo = json.loads((root / "runs" / "smoke" / "base" / "pseudo_labels.json").read_text())
    assert pseudo["meta"]["classes"] == classes


def _clicks_s(videos) -> dict[str, list[float]]:
    """Each video's shipped clicks in seconds, frame / native fps, sorted."""
    native = json.loads(data_path("thumos14", "fps_dict.json").read_text())
    rows = data_path("thumos14", "point_gaussian.csv").read_text().splitlines()[1:]
    clicks: dict[str, list[float]] = {}
    for row in rows:
        fields = row.split(",")
        if fields[4] in videos:
            clicks.setdefault(fields[4], []).append(int(fields[5]) / native[fields[4]])
    return {video: sorted(times) for video, times in clicks.items()}


def test_every_click_of_the_pseudo_stage_lands_at_its_native_time(walkthrough):
    root, _ = walkthrough
    results = json.loads((root / "runs" / "smoke" / "base" / "pseudo_labels.json").read_text())["results"]
    expected = _clicks_s(WALK_TRAIN)
    assert set(results) == set(WALK_TRAIN) and len(expected[NATIVE_24_FPS]) == 18
    for video, times in expected.items():
        found = sorted(entry["point_s"] for entry in results[video])
        # one snippet is 4 / 30 s: the nearest snippet centre is within 1/15 s, a quarter second is the bar
        np.testing.assert_allclose(found, times, atol=0.25, rtol=0, err_msg=video)


def test_admfit_label_gives_the_pseudo_stages_labels(walkthrough):
    """The same checkpoint, features and clicks: the same pseudo-label for every point. ``point`` is the click's
    exact position in the pseudo stage's file and the snippet the fit used (its nearest) in admfit label's."""
    root, _ = walkthrough
    trained = json.loads((root / "runs" / "smoke" / "base" / "pseudo_labels.json").read_text())["results"]
    labelled = json.loads((root / "runs" / "smoke-label" / "pseudo_labels.json").read_text())["results"]
    assert set(labelled) == set(trained) == set(WALK_TRAIN)
    exact = ("label", "t_star", "b_s", "b_e")
    close = ("start", "end", "sigma", "omega", "confidence")
    for video in trained:
        ours = sorted(trained[video], key=lambda entry: (entry["point"], entry["label"]))
        theirs = sorted(labelled[video], key=lambda entry: (entry["point"], entry["label"]))
        assert [[e[f] for f in exact] for e in ours] == [[e[f] for f in exact] for e in theirs], video
        np.testing.assert_allclose([[e[f] for f in close] + e["segment"] for e in ours],
                                   [[e[f] for f in close] + e["segment"] for e in theirs], rtol=1e-6, err_msg=video)
        np.testing.assert_allclose([e["point"] for e in ours], [e["point"] for e in theirs], atol=0.5, rtol=0)


def test_the_export_holds_the_users_videos_at_the_users_fps(walkthrough):
    root, outputs = walkthrough
    exported = json.loads((root / "runs" / "smoke" / "thumos14_pseudo.json").read_text())["database"]
    assert set(exported) == set(WALK_TRAIN + TEST)  # not the 210 shipped test videos
    assert "note: 406 of the 412 videos of the annotation file have no features" in outputs[4].stderr
    assert exported[NATIVE_24_FPS]["fps"] == RELEASE_FPS and exported[NATIVE_24_FPS]["subset"] == "Validation"
    results = json.loads((root / "runs" / "smoke" / "base" / "pseudo_labels.json").read_text())["results"]
    for video in WALK_TRAIN:
        assert sorted(a["segment"] for a in exported[video]["annotations"]) == sorted(e["segment"]
                                                                                     for e in results[video])
    truth = json.loads((root / RELEASE_JSON).read_text())["database"]
    for video in TEST:
        assert exported[video]["duration"] == truth[video]["duration"]
        assert [a["segment"] for a in exported[video]["annotations"]] == [a["segment"] for a in
                                                                          truth[video]["annotations"]]


def _train_args(root: Path, out: str, *extra) -> list:
    return ["train", "--output", root / "runs" / out, "--features", root / "features", "--annotations", "thumos14",
            "--points", "thumos14", "--videos", root / "videos.txt", *extra]


def _release_args(root: Path, out: str, *extra) -> list:
    return ["train", "--output", root / "runs" / out, "--features", root / RELEASE_FEATURES, "--annotations",
            root / RELEASE_JSON, "--points", "thumos14", "--videos", root / "videos.txt", *extra]


def test_a_finished_run_refuses_other_data(walkthrough, tmp_path):
    root, _ = walkthrough
    smoke = root / "runs" / "smoke"
    args = _release_args(root, "smoke", "--config", str(smoke / "config.yaml"), "--no-progress")
    code, stdout, stderr = invoke(app, *args)
    assert code == 0 and stdout.count("done, skipped") == 4, stderr
    config_before = (smoke / "config.yaml").read_bytes()
    other = shutil.copytree(root / RELEASE_FEATURES, tmp_path / "features")
    write_features(other, TRAIN[:1], dim=2048, seed=1)  # same names and sizes, other values
    changed = [str(other) if str(arg) == str(root / RELEASE_FEATURES) else arg for arg in args]
    assert_one_line_error(*invoke(app, *changed), "run.features", str(other), "other features", "--force")
    points = tmp_path / "points.csv"
    lines = data_path("thumos14", "point_gaussian.csv").read_text().splitlines()
    points.write_text("\n".join(lines[:-1]) + "\n")  # one point fewer
    changed = [str(points) if arg == "thumos14" and args[i - 1] == "--points" else arg for i, arg in enumerate(args)]
    assert_one_line_error(*invoke(app, *changed), "run.points", str(points))
    assert (smoke / "config.yaml").read_bytes() == config_before  # refused before anything was written
    state = json.loads((smoke / "stages.json").read_text())
    assert set(state["base"]["inputs"]) == {"features", "annotations", "points", "videos"}
    assert state["base"]["inputs"]["features"]["files"] == 6


def test_features_on_another_grid_are_refused(tmp_path):
    write_features(tmp_path / "features", TRAIN + TEST, lacp=True)
    (tmp_path / "videos.txt").write_text("\n".join(TRAIN + TEST))
    code, stdout, stderr = invoke(app, *_train_args(tmp_path, "lacp", *FAST))
    first = TRAIN[0]
    assert_one_line_error(code, stdout, stderr, f"{first}.npy", f"video {first!r}", "field 'T'", "expected T=63-67",
                          "found T=13")
    assert not (tmp_path / "runs" / "lacp" / "config.yaml").exists()
    # LACP's gt.json has no durations: then the points tell, never clamped onto the last snippet
    code, stdout, stderr = invoke(app, *_train_args(tmp_path, "lacp", *FAST, "--fps", "thumos14", "--annotations",
                                                    data_path("thumos14", "gt.json")))
    assert_one_line_error(code, stdout, stderr, "field 'points'", "lie outside the features")
    code, stdout, stderr = invoke(app, *_train_args(tmp_path, "lacp", *FAST, "--annotations",
                                                    data_path("thumos14", "gt.json")))
    # the clicks convert at their native rates (the shipped table); the features' grid needs the rate of the features
    assert_one_line_error(code, stdout, stderr, "gt.json", "field 'fps'", "fps of the video's features",
                          "--fps thumos14")


def test_missing_features_are_refused_or_skipped_and_listed(tmp_path):
    write_features(tmp_path / "features", TRAIN + TEST)
    base = ["train", "--output", tmp_path / "run", "--features", tmp_path / "features", "--annotations", "thumos14",
            "--points", "thumos14", *FAST, "--stage", "base"]
    code, stdout, stderr = invoke(app, *base)
    assert_one_line_error(code, stdout, stderr, "no features for this video", "197 of the 200 videos",
                          "--skip-missing-features", "video_validation_0000051.npy")
    code, stdout, stderr = invoke(app, *base, "--skip-missing-features")
    assert code == 0, stderr
    assert "skipped 197 training video(s) without features" in stdout
    skipped = (tmp_path / "run" / "skipped_videos.txt").read_text().split()
    assert len(skipped) == 197 and not set(skipped) & set(TRAIN)


def _annotations(path: Path, videos, *, label: str | None = None) -> Path:
    database = json.loads(data_path("thumos14", "gt_full.json").read_text())["database"]
    chosen = {video: database[video] for video in videos}
    if label:
        for record in chosen.values():
            for annotation in record["annotations"]:
                annotation["label"] = label
    path.write_text(json.dumps({"database": chosen}))
    return path


def test_a_file_with_only_validation_videos_is_not_train_and_test(tmp_path):
    write_features(tmp_path / "features", TRAIN)
    only = _annotations(tmp_path / "validation.json", TRAIN)
    code, stdout, stderr = invoke(app, "train", "--output", tmp_path / "run", "--features", tmp_path / "features",
                                  "--annotations", only, "--points", "thumos14", *FAST)
    # the shipped CSV holds the other 197 training videos: named as such, not "no fps known"
    assert_one_line_error(code, stdout, stderr, "point_gaussian.csv", "is not in the annotation file",
                          "field 'video_id'")
    clicks = tmp_path / "clicks.txt"  # SF-Net's layout: the same refusal, not a silent drop
    clicks.write_text(f"{TRAIN[0]},2.0,CricketBowling\nvideo_validation_0000051,3.0,Billiards\n")
    code, stdout, stderr = invoke(app, "train", "--output", tmp_path / "run", "--features", tmp_path / "features",
                                  "--annotations", only, "--points", clicks, *FAST)
    assert_one_line_error(code, stdout, stderr, "clicks.txt", "video_validation_0000051", "not in the annotation")
    clicks.write_text(f"{TRAIN[0]},2.0,CricketBowling\n")
    code, stdout, stderr = invoke(app, "train", "--output", tmp_path / "run", "--features", tmp_path / "features",
                                  "--annotations", only, "--points", clicks, *FAST)
    assert_one_line_error(code, stdout, stderr, "share 3 of their 3 test videos", "--allow-overlap",
                          "field 'run.test_subset'")
    assert "note: subset 'test' read as 'Validation'" in stderr
    assert not (tmp_path / "run" / "config.yaml").exists()


def test_a_checkpoint_of_another_vocabulary_is_refused(walkthrough, tmp_path):
    root, _ = walkthrough
    other = _annotations(tmp_path / "other.json", TEST, label="NotAThumosClass")
    code, stdout, stderr = invoke(app, "eval", "--checkpoint", root / "runs" / "smoke" / "main", "--features",
                                  root / RELEASE_FEATURES, "--annotations", other)
    assert_one_line_error(code, stdout, stderr, "checkpoint's 20 classes differ from the 1", "field 'classes'")
