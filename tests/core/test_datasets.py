"""Ground-truth annotation loading: the shipped THUMOS'14 files, the shared ActivityNet file, and every malformed input."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from admfit.data import data_path
from admfit.datasets import class_index, class_names, grid_for, load_annotations, thumos14, thumos14_fps
from admfit.datasets.annotations import THUMOS14_BROKEN_TEST_VIDEOS, Instance, resolve_subset
from admfit.errors import InputError

from ..helpers import SHARED_DATA

SHARED = SHARED_DATA
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data is absent")


def test_shipped_thumos14_layout():
    videos = thumos14()
    train, test = thumos14("train"), thumos14("test")
    # Split sizes and instance counts as recounted in shared/data/README.md.
    assert (len(videos), len(train), len(test)) == (410, 200, 210)
    assert sum(len(v.instances) for v in train.values()) == 3007
    assert sum(len(v.instances) for v in test.values()) == 3311
    assert not set(THUMOS14_BROKEN_TEST_VIDEOS) & set(videos)
    assert "video_validation_0000270" in train  # only the *test* video 270 is broken
    assert {v.subset for v in train.values()} == {"Validation"}


def test_thumos14_fps_comes_from_fps_dict_and_ids_follow_sorted_names():
    fps = thumos14_fps()
    videos = thumos14()
    assert all(record.fps == fps[name] for name, record in videos.items())
    names = class_names(videos)
    assert len(names) == 20 and names == sorted(names)
    assert class_index(videos) == {name: number for number, name in enumerate(names)}


def test_annotations_beyond_duration_are_kept():
    raw = load_annotations(data_path("thumos14", "gt_full.json"))
    late = {video for video, record in raw.items()
            if any(inst.end_s > record.duration_s for inst in record.instances)}
    assert late == {"video_test_0000270", "video_test_0000814", "video_test_0001081",
                    "video_validation_0000364", "video_validation_0000856"}


def test_gt_json_string_seconds_match_gt_full():
    short = load_annotations(data_path("thumos14", "gt.json"))
    full = thumos14()
    assert set(short) == set(full)
    for video, record in short.items():
        assert record.duration_s is None and record.fps is None
        pairs = sorted((i.label, i.start_s, i.end_s) for i in record.instances)
        expected = sorted((i.label, i.start_s, i.end_s) for i in full[video].instances)
        assert [label for label, _, _ in pairs] == [label for label, _, _ in expected]
        np.testing.assert_allclose([(s, e) for _, s, e in pairs], [(s, e) for _, s, e in expected], rtol=1e-12)
    # No label_id in gt.json: class_index falls back to sorted names, the same ids as gt_full.
    assert class_index(short) == class_index(full)


@needs_shared
def test_activitynet_subsets_and_class_ids():
    path = SHARED / "anet12" / "activity_net.v1-2.min.json"
    train = load_annotations(path, subset="train")
    test = load_annotations(path, subset="test")
    assert (len(train), len(test)) == (4819, 2383)  # README: training / validation
    assert {v.subset for v in train.values()} == {"training"}
    assert {v.subset for v in test.values()} == {"validation"}
    names = class_names(train)
    assert len(names) == 100 and class_index(train) == {n: i for i, n in enumerate(names)}
    zero_length = [i for v in train.values() for i in v.instances if i.start_s == i.end_s]
    assert len(zero_length) == 7


def test_subset_resolution():
    assert resolve_subset("TRAIN", {"train", "test"}) == "train"
    assert resolve_subset("train", {"Validation", "Test"}) == "Validation"
    assert resolve_subset("test", {"Validation", "Test"}) == "Test"
    assert resolve_subset("train", {"training", "validation", "testing"}) == "training"
    assert resolve_subset("test", {"training", "validation", "testing"}) == "validation"
    assert resolve_subset("testing", {"training", "validation", "testing"}) == "testing"
    with pytest.raises(ValueError, match="the file has"):
        resolve_subset("dev", {"train", "test"})


def test_grid_for_presets():
    record = thumos14("train")["video_validation_0000051"]
    assert grid_for(record).fps == record.fps and grid_for(record).stride == 4
    assert grid_for(record, "thumos14_lacp").seconds_per_snippet == pytest.approx(16 / 25)
    assert grid_for(record, "anet12", stride=8).stride == 8
    with pytest.raises(InputError, match="needs the fps of the video.s features"):
        grid_for(record.model_copy(update={"fps": None}))


def _write(tmp_path, document) -> Path:
    path = tmp_path / "gt.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return path


def _video(**overrides):
    record = {"subset": "train", "duration": 10.0,
              "annotations": [{"label": "Jump", "segment": ["1.5", "2.5"]}]}
    record.update(overrides)
    return {"database": {"v1": record}}


def test_ids_numbers_as_strings_and_missing_fields(tmp_path):
    document = {"database": {
        "a": {"subset": "train", "fps": "30", "annotations": [
            {"label": "Jump", "segment": ["1.5", 2], "label_id": "3"},
            {"label": "Run", "segment": [2, 4.0], "idx": 1.0}, {"label": "Run", "segment": [5, 5]}]},
        "b": {"subset": "test"}}}
    videos = load_annotations(_write(tmp_path, document))
    assert videos["a"].fps == 30.0 and videos["a"].duration_s is None and videos["b"].instances == []
    assert videos["a"].instances == [Instance(label="Jump", label_id=3, start_s=1.5, end_s=2.0),
                                     Instance(label="Run", label_id=1, start_s=2.0, end_s=4.0),
                                     Instance(label="Run", label_id=None, start_s=5.0, end_s=5.0)]
    assert all(type(inst.start_s) is float and type(inst.label_id) in (int, type(None))
               for inst in videos["a"].instances)


def test_valid_minimal_file(tmp_path):
    videos = load_annotations(_write(tmp_path, _video()))
    assert videos["v1"].instances == [Instance(label="Jump", label_id=None, start_s=1.5, end_s=2.5)]
    assert videos["v1"].instances[0].duration_s == pytest.approx(1.0)


BAD_VIDEOS = [
    ("missing field", {"annotations": [{"label": "Jump"}]}, "annotations.0.segment"),
    ("wrong type", {"annotations": {"label": "Jump"}}, "annotations"),
    ("not a number", {"annotations": [{"label": "Jump", "segment": ["1.5x", "2"]}]}, "annotations.0.segment.0"),
    ("nan", {"annotations": [{"label": "Jump", "segment": ["nan", "2"]}]}, "annotations.0.segment"),
    ("negative", {"annotations": [{"label": "Jump", "segment": [-1.0, 2.0]}]}, "annotations.0.segment"),
    ("reversed", {"annotations": [{"label": "Jump", "segment": [3.0, 2.0]}]}, "annotations.0.segment"),
    ("three values", {"annotations": [{"label": "Jump", "segment": [1, 2, 3]}]}, "annotations.0.segment"),
    ("empty label", {"annotations": [{"label": "", "segment": [1, 2]}]}, "annotations.0.label"),
    ("bad duration", {"duration": -5}, "duration"),
    ("no subset", {"subset": None}, "subset"),
    ("boolean time", {"annotations": [{"label": "Jump", "segment": [True, 2]}]}, "annotations.0.segment.0"),
    ("fractional label id", {"annotations": [{"label": "Jump", "segment": [1, 2], "label_id": 1.5}]},
     "annotations.0.label_id"),
    ("negative idx", {"annotations": [{"label": "Jump", "segment": [1, 2], "idx": -1}]}, "annotations.0.idx"),
    ("label not a string", {"annotations": [{"label": 3, "segment": [1, 2]}]}, "annotations.0.label"),
    ("annotation not an object", {"annotations": [{"label": "Jump", "segment": [1, 2]}, [1, 2]]}, "annotations.1"),
    ("bad fps", {"fps": "x"}, "fps"),
    ("boolean duration", {"duration": True}, "duration"),
    ("zero fps", {"fps": 0}, "fps"),
]


@pytest.mark.parametrize("case, overrides, field", BAD_VIDEOS, ids=[c[0] for c in BAD_VIDEOS])
def test_malformed_video_names_file_video_and_field(tmp_path, case, overrides, field):
    path = _write(tmp_path, _video(**overrides))
    with pytest.raises(InputError) as caught:
        load_annotations(path)
    error = caught.value
    assert (error.file, error.video, error.field) == (str(path), "v1", field)
    assert str(path) in str(error) and "'v1'" in str(error) and "\n" not in str(error)


@pytest.mark.parametrize("document, message", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "'database'"),
    ('{"database": []}', "'database'"),
])
def test_malformed_document(tmp_path, document, message):
    with pytest.raises(InputError, match=message):
        load_annotations(_write(tmp_path, document))


def test_missing_file_directory_and_unknown_subset(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_annotations(tmp_path / "absent.json")
    with pytest.raises(InputError, match="is a directory"):
        load_annotations(tmp_path)
    with pytest.raises(InputError, match="no subset 'dev'") as caught:
        load_annotations(_write(tmp_path, _video()), subset="dev")
    assert caught.value.field == "subset"
