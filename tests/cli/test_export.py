"""`admfit export`: pseudo-labels as ActionFormer's and OpenTAD's annotation files, read back the way their loaders
read them (ActionFormer libs/datasets/thumos14.py `_load_json_db`, OpenTAD opentad/datasets/thumos.py `get_gt` and
base/padding_dataset.py `get_dataset`). A user's own folder (ActionFormer's 30 fps annotation file for a few
videos, a features folder) goes through `admfit fit --annotations` and `admfit export` and must come back as it is,
never as the shipped THUMOS'14 file has it."""
from __future__ import annotations

import json

import numpy as np
import pytest

from admfit.datasets import thumos14
from admfit.datasets.shipped import dataset_classes
from admfit.errors import InputError
from admfit.files.pseudo_labels import read_pseudo_labels, write_pseudo_labels
from admfit.files.signals import save_signals
from admfit.grid import SnippetGrid
from admfit_cli.main import app

from ..helpers import assert_one_line_error, invoke

VIDEOS = ["video_validation_0000051", "video_validation_0000052"]


@pytest.fixture()
def pseudo(tmp_path):
    rows = []
    for video, (start, end, label, label_id) in zip(VIDEOS, [(10.0, 14.5, "Billiards", 2), (3.0, 5.0, "Diving", 7)]):
        rows.append({"video": video, "label": label, "label_id": label_id, "score": 0.9, "point": 100.0,
                     "point_s": 12.0, "t_star": 100, "b_s": 90, "b_e": 110, "sigma": 3.0, "omega": 4.0,
                     "start": 90.0, "end": 110.0, "start_s": start, "end_s": end, "confidence": 1.0,
                     "converged": True})
    path = tmp_path / "pseudo_labels.json"
    write_pseudo_labels(path, rows, fmt="json", meta={"segment_units": "seconds"})
    return path


def _actionformer_load(path, split):
    """ActionFormer's _load_json_db, reduced to what it reads: label -> label_id, subset.lower(), fps, duration."""
    json_db = json.loads(path.read_text())["database"]
    label_dict = {act["label"]: act["label_id"] for value in json_db.values() for act in value["annotations"]}
    db = {}
    for key, value in json_db.items():
        if value["subset"].lower() not in split:
            continue
        assert "fps" in value, "Unknown video FPS."
        segments = np.asarray([act["segment"] for act in value["annotations"]], dtype=np.float32)
        labels = np.asarray([label_dict[act["label"]] for act in value["annotations"]], dtype=np.int64)
        db[key] = (float(value["fps"]), float(value.get("duration", 1e8)), segments, labels)
    return db, label_dict


def test_actionformer_layout(pseudo, tmp_path):
    out = tmp_path / "af.json"
    code, stdout, stderr = invoke(app, "export", pseudo, "--to", "actionformer", "-o", out, "--annotations", "thumos14")
    assert code == 0, stderr
    assert "198 videos of the training subset 'Validation' have no pseudo-labels" in stderr
    train, label_dict = _actionformer_load(out, ["validation"])
    assert sorted(train) == VIDEOS and len(label_dict) == 20  # ActionFormer asserts num_classes == 20
    fps, duration, segments, labels = train[VIDEOS[0]]
    assert fps == 30.0 and duration == pytest.approx(169.79) and segments.tolist() == [[10.0, 14.5]]
    assert labels.tolist() == [2]
    test, _ = _actionformer_load(out, ["test"])
    truth = thumos14("test")
    assert sorted(test) == sorted(truth)  # the test videos keep their ground truth
    video = sorted(truth)[0]
    assert test[video][2].shape[0] == len(truth[video].instances)


def test_opentad_layout(pseudo, tmp_path):
    out = tmp_path / "opentad.json"
    code, stdout, stderr = invoke(app, "export", pseudo, "--to", "opentad", "-o", out, "--annotations", "thumos14")
    assert code == 0, stderr
    class_map = [line.rstrip("\n") for line in (tmp_path / "opentad_category_idx.txt").open(encoding="utf8")]
    assert len(class_map) == 20 and class_map[2] == "Billiards"
    database = json.loads(out.read_text())["database"]
    training = {k: v for k, v in database.items() if v["subset"] in "training"}  # OpenTAD's own test
    assert sorted(training) == VIDEOS
    info = training[VIDEOS[1]]
    (anno,) = info["annotations"]
    gt_start = int(anno["segment"][0] / info["duration"] * info["frame"])  # OpenTAD's get_gt: frames
    assert abs(gt_start - 3.0 * 30) <= 1 and class_map.index(anno["label"]) == 7
    assert sum(v["subset"] in "validation" for v in database.values()) == 210


def test_click_segments_are_fixed_width_around_each_click_inside_the_video():
    """The naive baseline of training a detector on clicks alone: each click a 2 s segment around it, cut at the
    video's ends, exported like pseudo-labels (benchmarks/peer_detector.py row (e))."""
    from admfit.datasets.points import PointLabel
    from admfit.datasets.shipped import load_class_list, open_annotations
    from admfit.files.export import click_segments, export_annotations

    points = [PointLabel(video=VIDEOS[0], label="Billiards", label_id=2, time_s=169.2),
              PointLabel(video=VIDEOS[0], label="Billiards", label_id=2, time_s=70.0),
              PointLabel(video=VIDEOS[1], label="Diving", label_id=7, time_s=0.5)]
    rows = click_segments(points, 2.0, durations={VIDEOS[0]: 169.79})
    assert [(row["video"], row["label"], row["start_s"], row["end_s"]) for row in rows] == [
        (VIDEOS[0], "Billiards", 168.2, 169.79), (VIDEOS[0], "Billiards", 69.0, 71.0), (VIDEOS[1], "Diving", 0.0, 1.5)]
    database = export_annotations(rows, open_annotations("thumos14"), load_class_list("thumos14"),
                                  "actionformer")["database"]
    assert [a["segment"] for a in database[VIDEOS[1]]["annotations"]] == [[0.0, 1.5]]
    assert database[VIDEOS[1]]["annotations"][0]["label_id"] == 7
    with pytest.raises(InputError, match="width_s"):
        click_segments(points, 0.0)


def test_export_refuses_unknown_videos_and_snippet_segments(pseudo, tmp_path):
    document = json.loads(pseudo.read_text())
    document["results"]["not_a_thumos_video"] = document["results"].pop(VIDEOS[0])
    pseudo.write_text(json.dumps(document))
    assert_one_line_error(*invoke(app, "export", pseudo, "--to", "actionformer", "-o", tmp_path / "x.json",
                                  "--annotations", "thumos14"), "not_a_thumos_video", "not in the annotation file")
    assert not (tmp_path / "x.json").exists()


def test_both_apps_take_h_and_version():
    from admfit_cli.torch_main import app as torch_app

    for application in (app, torch_app):
        code, stdout, _ = invoke(application, "--version")
        assert code == 0 and stdout.startswith("admfit ")
    code, stdout, _ = invoke(app, "export", "-h")
    assert code == 0 and "--to" in stdout


# ---- a user's own folder: ActionFormer's annotation file (30 fps throughout) for a few videos -------------------

THUMOS = dataset_classes("thumos14")
FPS = 30.0  # ActionFormer's THUMOS'14 features are extracted at 30 fps; the shipped table says 24 for 0000411
SNIPPETS = 240
# video: subset, duration (s), ground truth [(label, start_s, end_s)], points [(label, time_s)]
USER = {
    "video_validation_0000411": ("Validation", 33.0, [("JavelinThrow", 9.0, 11.0)], [("JavelinThrow", 10.0),
                                                                                        ("JavelinThrow", 20.0)]),
    "video_validation_0000051": ("Validation", 33.5, [("Billiards", 7.0, 9.0)], [("Billiards", 8.0)]),
    "video_validation_0000052": ("Validation", 40.0, [("Diving", 3.0, 5.0)], []),
    "video_test_0000004": ("Test", 33.8, [("CricketBowling", 0.2, 1.1)], []),
    "video_test_0000006": ("Test", 67.1, [("VolleyballSpiking", 18.8, 57.3)], []),
    "video_test_0000007": ("Test", 25.0, [("Shotput", 2.0, 4.0)], []),
}
WITH_FEATURES = ["video_validation_0000411", "video_validation_0000051", "video_test_0000004"]
PSEUDO_VIDEOS = [video for video, (_, _, _, points) in USER.items() if points]


def _signal(points) -> tuple[np.ndarray, np.ndarray]:
    """(T, 20) class probabilities with a bump at each point (snippet of time t: (t fps - 8) / 4), and 1 - max."""
    probs = np.zeros((SNIPPETS, len(THUMOS)), np.float32)
    t = np.arange(SNIPPETS)
    for label, time_s in points:
        probs[:, THUMOS.index(label)] += 0.9 * np.exp(-0.5 * ((t - (time_s * FPS - 8) / 4) / 6.0) ** 2)
    return probs, 1 - probs.max(axis=1)


@pytest.fixture()
def user(tmp_path):
    """The user's folder: annotations.json (ActionFormer's layout), features/, signals.npz, points.json."""
    database = {video: {"subset": subset, "duration": duration, "fps": FPS, "annotations": [
        {"label": label, "segment": [start, end], "segment(frames)": [start * FPS, end * FPS],
         "label_id": THUMOS.index(label)} for label, start, end in truth]}
        for video, (subset, duration, truth, _) in USER.items()}
    (tmp_path / "annotations.json").write_text(json.dumps({"version": "Thumos14-30fps", "database": database}))
    (tmp_path / "features").mkdir()
    for video in WITH_FEATURES:
        np.save(tmp_path / "features" / f"{video}.npy", np.zeros((SNIPPETS, 4), np.float32))
    signals = {video: _signal(USER[video][3]) for video in PSEUDO_VIDEOS}
    save_signals(tmp_path / "signals.npz", {v: s[0] for v, s in signals.items()}, classes=THUMOS,
                 bg_probs={v: s[1] for v, s in signals.items()}, grids={v: SnippetGrid(fps=FPS) for v in signals})
    (tmp_path / "points.json").write_text(json.dumps({"points": {
        video: [{"time_s": time_s, "label": label} for label, time_s in USER[video][3]] for video in PSEUDO_VIDEOS}}))
    return tmp_path


def _fit(folder, *extra):
    """``admfit fit`` of the user's signals, recording their annotation file; the pseudo-label file."""
    out = folder / "pseudo_labels.json"
    code, _, stderr = invoke(app, "fit", folder / "signals.npz", folder / "points.json", "-o", out, "-q",
                             "--annotations", folder / "annotations.json", *extra)
    assert code == 0, stderr
    return out


def _export(pseudo, framework, out, *extra):
    return invoke(app, "export", pseudo, "--to", framework, "-o", out, *extra)


def _opentad_load(path, class_map_path, subset_name):
    """OpenTAD's PaddingDataset.get_dataset + ThumosPaddingDataset.get_gt, reduced to what they read: the subset by
    substring (``subset not in subset_name``), segments in frames (``int(s / duration * frame)``), the class id as
    the class map's line, a video without annotations left out, fps as frame / duration."""
    database = json.loads(path.read_text())["database"]
    class_map = [line.rstrip("\n") for line in class_map_path.open(encoding="utf8")]
    found = {}
    for video, info in database.items():
        if info["subset"] not in subset_name:
            continue
        segments = [[int(a["segment"][0] / info["duration"] * info["frame"]),
                     int(a["segment"][1] / info["duration"] * info["frame"])]
                    for a in info["annotations"] if a["label"] != "Ambiguous"]
        labels = [class_map.index(a["label"]) for a in info["annotations"] if a["label"] != "Ambiguous"]
        if segments:
            found[video] = (info["frame"] / info["duration"], info["duration"], segments, labels)
    return found


def _pseudo_segments(pseudo):
    rows, _ = read_pseudo_labels(pseudo)
    by_video = {}
    for row in rows:
        by_video.setdefault(row["video"], []).append((row["start_s"], row["end_s"], THUMOS.index(row["label"])))
    return by_video


def test_fit_records_the_annotation_file(user):
    meta = json.loads(_fit(user).read_text())["meta"]
    record = meta["annotations"]
    assert record["path"] == str((user / "annotations.json").resolve())
    assert record["fingerprint"]["size"] == (user / "annotations.json").stat().st_size
    assert record["grid"] == {"fps": 30.0, "stride": 4.0, "num_frames": 16.0}
    assert_one_line_error(*invoke(app, "fit", user / "signals.npz", user / "points.json", "-o", user / "x.json",
                                  "--annotations", user / "missing.json"), "missing.json", "'annotations'")
    assert not (user / "x.json").exists()


def test_export_refuses_pseudo_labels_that_record_no_annotation_file(pseudo, tmp_path):
    out = tmp_path / "af.json"
    assert_one_line_error(*_export(pseudo, "actionformer", out), str(pseudo), "meta.annotations", "--annotations")
    document = json.loads(pseudo.read_text())
    document["meta"]["annotations"] = "thumos14"
    pseudo.write_text(json.dumps(document))
    assert_one_line_error(*_export(pseudo, "actionformer", out), str(pseudo), "meta.annotations", "not an annotation")
    assert not out.exists()


def test_actionformer_round_trip_of_a_user_folder(user, tmp_path):
    pseudo = _fit(user)
    out = tmp_path / "af.json"
    code, _, stderr = _export(pseudo, "actionformer", out)
    assert code == 0, stderr
    assert "1 videos of the training subset 'Validation' have no pseudo-labels" in stderr  # 0000052
    train, label_dict = _actionformer_load(out, ["validation"])
    test, _ = _actionformer_load(out, ["test"])
    assert train["video_validation_0000411"][0] == FPS  # the user's 30 fps, not the shipped table's 24
    assert sorted(train) == sorted(PSEUDO_VIDEOS) and sorted(test) == sorted(v for v in USER if "test" in v)
    expected = _pseudo_segments(pseudo)
    for video, (fps, duration, segments, labels) in {**train, **test}.items():
        assert fps == FPS and duration == USER[video][1]
        truth = expected[video] if video in train else [(s, e, THUMOS.index(lab)) for lab, s, e in USER[video][2]]
        np.testing.assert_allclose(segments, [[s, e] for s, e, _ in truth], rtol=1e-6)
        assert labels.tolist() == [label for _, _, label in truth]
    assert all(label_dict[name] == THUMOS.index(name) for name in label_dict)


def test_opentad_round_trip_of_a_user_folder(user, tmp_path):
    pseudo = _fit(user)
    out = tmp_path / "opentad.json"
    code, _, stderr = _export(pseudo, "opentad", out)
    assert code == 0, stderr
    class_map = tmp_path / "opentad_category_idx.txt"
    train = _opentad_load(out, class_map, "training")
    test = _opentad_load(out, class_map, "validation")
    assert sorted(train) == sorted(PSEUDO_VIDEOS) and sorted(test) == sorted(v for v in USER if "test" in v)
    expected = _pseudo_segments(pseudo)
    for video, (fps, duration, segments, labels) in {**train, **test}.items():
        assert fps == pytest.approx(FPS, rel=1e-3) and duration == USER[video][1]
        truth = expected[video] if video in train else [(s, e, THUMOS.index(lab)) for lab, s, e in USER[video][2]]
        frames = round(duration * FPS)
        assert segments == [[int(s / duration * frames), int(e / duration * frames)] for s, e, _ in truth]
        assert labels == [label for _, _, label in truth]


def test_features_leave_out_the_videos_without_features(user, tmp_path):
    out = tmp_path / "af.json"
    code, _, stderr = _export(_fit(user), "actionformer", out, "--features", user / "features")
    assert code == 0, stderr
    assert "3 of the 6 videos of the annotation file have no features" in stderr
    assert "video_validation_0000052, video_test_0000006, video_test_0000007" in stderr
    assert sorted(json.loads(out.read_text())["database"]) == sorted(WITH_FEATURES)


def test_a_pseudo_labelled_video_without_features_is_refused(user, tmp_path):
    (user / "features" / "video_validation_0000051.npy").unlink()
    out = tmp_path / "af.json"
    assert_one_line_error(*_export(_fit(user), "actionformer", out, "--features", user / "features"),
                          "video_validation_0000051", "has pseudo-labels but no features", "'features'")
    assert not out.exists()


def test_a_changed_or_missing_annotation_file_is_refused(user, tmp_path):
    pseudo, annotations, out = _fit(user), user / "annotations.json", tmp_path / "af.json"
    document = json.loads(annotations.read_text())
    document["database"]["video_validation_0000411"]["fps"] = 24.0
    annotations.write_text(json.dumps(document))
    assert_one_line_error(*_export(pseudo, "actionformer", out), str(pseudo), "meta.annotations", "has changed")
    annotations.unlink()
    assert_one_line_error(*_export(pseudo, "actionformer", out), str(pseudo), "meta.annotations", "is gone")
    assert not out.exists()


def test_explicit_annotations_win_with_a_note(user, tmp_path):
    out = tmp_path / "af.json"
    code, _, stderr = _export(_fit(user), "actionformer", out, "--annotations", "thumos14")
    assert code == 0, stderr
    assert "note: the pseudo-labels were made with the annotation file" in stderr
    database = json.loads(out.read_text())["database"]
    assert database["video_validation_0000411"]["fps"] == 24.0  # the shipped file, as asked


def test_pseudo_labels_timed_at_another_fps_are_noted(user, tmp_path):
    code, _, stderr = _export(_fit(user, "--fps", "24"), "actionformer", tmp_path / "af.json")
    assert code == 0, stderr
    assert "the pseudo-labels of 2 videos were timed at another fps than the annotation file gives" in stderr
    assert json.loads((tmp_path / "af.json").read_text())["database"]["video_validation_0000411"]["fps"] == FPS


def test_a_recorded_shipped_dataset_is_read_as_shipped(user, tmp_path):
    """`admfit fit --annotations thumos14` records the shipped file by name: export reads it with the shipped fps
    table and without the 3 broken test videos, as every other command does."""
    out = tmp_path / "af.json"
    code, _, stderr = invoke(app, "fit", user / "signals.npz", user / "points.json", "-o", user / "pl.json", "-q",
                             "--annotations", "thumos14")
    assert code == 0, stderr
    code, _, stderr = _export(user / "pl.json", "actionformer", out)
    assert code == 0, stderr
    assert "timed at another fps" in stderr  # the signals' 30 fps against the table's 24 for 0000411
    database = json.loads(out.read_text())["database"]
    assert database["video_validation_0000411"]["fps"] == 24.0
    assert sum(entry["subset"] == "Test" for entry in database.values()) == 210
