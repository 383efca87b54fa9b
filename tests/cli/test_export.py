"""`admfit export`: pseudo-labels as ActionFormer's and OpenTAD's annotation files, read back the way their loaders
read them (ActionFormer libs/datasets/thumos14.py `_load_json_db`, OpenTAD opentad/datasets/thumos.py `get_gt` and
base/padding_dataset.py `get_dataset`)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from admfit.datasets import thumos14
from admfit.fit_io import write_pseudo_labels
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
    code, stdout, stderr = invoke(app, "export", pseudo, "--to", "actionformer", "-o", out)
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
    code, stdout, stderr = invoke(app, "export", pseudo, "--to", "opentad", "-o", out)
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


def test_export_refuses_unknown_videos_and_snippet_segments(pseudo, tmp_path):
    document = json.loads(pseudo.read_text())
    document["results"]["not_a_thumos_video"] = document["results"].pop(VIDEOS[0])
    pseudo.write_text(json.dumps(document))
    assert_one_line_error(*invoke(app, "export", pseudo, "--to", "actionformer", "-o", tmp_path / "x.json"),
                          "not_a_thumos_video", "not in the annotation file")
    assert not (tmp_path / "x.json").exists()


def test_both_apps_take_h_and_version():
    from admfit_cli.torch_main import app as torch_app

    for application in (app, torch_app):
        code, stdout, _ = invoke(application, "--version")
        assert code == 0 and stdout.startswith("admfit ")
    code, stdout, _ = invoke(app, "export", "-h")
    assert code == 0 and "--to" in stdout
