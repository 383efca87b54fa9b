"""The core's checks of real data: feature grids, points inside the features, fingerprints of data,
the shipped datasets by name, the fixed class vocabulary, subset notes; and `admfit fit` refusing a wrong grid."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from admfit.datasets import thumos14
from admfit.datasets.annotations import resolve_subset
from admfit.datasets.checks import check_feature_length, check_points_inside, expected_snippets
from admfit.datasets.shipped import (
    dataset_classes,
    load_class_list,
    load_fps_table,
    open_annotations,
    points_file,
    vocabulary,
)
from admfit.errors import InputError, Notice
from admfit.files.fingerprint import fingerprint, same_content
from admfit.files.signals import save_signals
from admfit.grid import SnippetGrid, thumos14_actionformer, thumos14_lacp
from admfit_cli.main import app

from ..helpers import assert_one_line_error, invoke

VIDEO = "video_validation_0000051"  # 169.79 s at 30 fps


def _record():
    return thumos14("train")[VIDEO]


def test_actionformer_length_passes_and_lacp_features_are_refused():
    record = _record()
    grid = thumos14_actionformer(record.fps)
    fewest, most = expected_snippets(grid, record.duration_s)
    assert (fewest, most) == (1270, 1274)  # (5093.7 - 16) / 4 + 1 whole windows .. 5093.7 / 4 steps
    check_feature_length(VIDEO, 1268, grid, record.duration_s)  # within the 2-snippet tolerance
    lacp_rows = int(record.duration_s * 25 / 16)  # LACP's 25 fps, 16-frame chunks: 265 rows
    with pytest.raises(InputError) as caught:
        check_feature_length(VIDEO, lacp_rows, grid, record.duration_s, file=f"feats/{VIDEO}.npy")
    error = caught.value
    assert error.video == VIDEO and error.field == "T" and error.file == f"feats/{VIDEO}.npy"
    assert "expected T=1270-1274" in error.message and f"found T={lacp_rows}" in error.message
    check_feature_length(VIDEO, lacp_rows, thumos14_lacp(), record.duration_s)  # right on its own grid


def test_points_must_lie_where_the_features_reach():
    grid = thumos14_actionformer(30.0)
    # T = 100 snippets reach snippet -2 .. 101 (window 16 = 2 snippets each side), plus 2 of tolerance
    check_points_inside("v", [-3.9, 50, 102.9], [0, 1, 2], 100, grid)
    with pytest.raises(InputError) as caught:
        check_points_inside("v", [10, 500.0, 600.0], [1.0, 67.2, 80.5], 100, grid, file="f.npy")
    assert "2 of 3 points" in caught.value.message and "67.2 s" in caught.value.message
    assert caught.value.field == "points" and caught.value.video == "v"


def test_fingerprint_sees_content_not_paths(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    for folder in (first, second):
        folder.mkdir()
        for v in range(3):
            np.save(folder / f"v{v}.npy", np.full((50, 8), v, np.float32))
    assert same_content(fingerprint(first), fingerprint(second))
    assert fingerprint(first)["files"] == 3 and fingerprint(first)["path"] != fingerprint(second)["path"]
    np.save(second / "v1.npy", np.full((50, 8), 7, np.float32))  # same size, other values
    assert not same_content(fingerprint(first), fingerprint(second))
    note = tmp_path / "gt.json"
    note.write_text("{}")
    before = fingerprint(note)
    note.write_text("[]")
    assert not same_content(before, fingerprint(note))


def test_shipped_datasets_by_name():
    assert len(open_annotations("thumos14")) == 410
    assert points_file("thumos14").name == "point_gaussian.csv"
    assert load_fps_table("thumos14")["video_test_0000062"] == pytest.approx(30.00003, abs=1e-4)
    assert len(dataset_classes("thumos14")) == 20 and len(dataset_classes("anet12")) == 100
    assert dataset_classes("anet12")[61] == "Playing volleyball"
    with pytest.raises(InputError, match="not shipped"):
        open_annotations("anet12")


def test_lacp_gt_json_gets_its_fps_from_the_table():
    from admfit.data import data_path

    records = open_annotations(data_path("thumos14", "gt.json"), fps=load_fps_table("thumos14"))
    assert records[VIDEO].fps == 30.0 and all(r.fps for r in records.values())


def test_the_vocabulary_does_not_shrink_with_the_videos(tmp_path):
    few = {video: record for video, record in list(thumos14("train").items())[:3]}
    assert len({i.label for r in few.values() for i in r.instances}) < 20
    assert vocabulary(few) == dataset_classes("thumos14")
    listing = tmp_path / "classes.txt"
    listing.write_text("B\nA\n")
    assert load_class_list(listing) == ["B", "A"]
    with pytest.raises(InputError) as caught:
        vocabulary(few, listing)
    assert caught.value.field == "label"
    listing.write_text("A\nA\n")
    with pytest.raises(InputError, match="twice"):
        load_class_list(listing)


def test_subsets_match_exactly_and_aliases_are_noted():
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        assert resolve_subset("Test", {"Validation", "Test"}) == "Test"
        assert not seen
        assert resolve_subset("test", {"Validation"}) == "Validation"
    assert [str(w.message) for w in seen if w.category is Notice] == ["subset 'test' read as 'Validation'"]


def test_admfit_eval_notes_the_subset_it_read(tmp_path):
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps({"database": {"v": {"subset": "Validation", "annotations": [
        {"label": "A", "segment": [1.0, 2.0]}]}}}))
    pred = tmp_path / "pred.json"
    pred.write_text(json.dumps({"results": {"v": [{"label": "A", "segment": [1.0, 2.0], "score": 1.0}]}}))
    code, stdout, stderr = invoke(app, "eval", gt, pred)
    assert code == 0 and "note: subset 'test' read as 'Validation'" in stderr


def test_admfit_fit_refuses_signals_on_another_grid(tmp_path):
    """A signals file with a grid and a duration: T must fit (here LACP-length signals on the stride-4 grid)."""
    length = 60  # 40 s at 25 fps / 16 frames; the stride-4 grid at 30 fps expects about 297
    probs = np.full((length, 2), 0.1, np.float32)
    signals = tmp_path / "signals.npz"
    save_signals(signals, {"v": probs}, classes=["A", "B"], bg_probs={"v": np.full(length, 0.5, np.float32)},
                 grids={"v": SnippetGrid(fps=30.0)}, durations={"v": 40.0})
    points = tmp_path / "points.json"
    points.write_text(json.dumps({"points": {"v": [{"snippet": 10, "label": 0}]}}))
    code, stdout, stderr = invoke(app, "fit", signals, points, "-o", tmp_path / "out.json")
    assert_one_line_error(code, stdout, stderr, str(signals), "'v'", "field 'T'", "found T=60", "expected T=297-300")
    assert not (tmp_path / "out.json").exists()
    save_signals(signals, {"v": probs}, classes=["A", "B"], bg_probs={"v": np.full(length, 0.5, np.float32)},
                 grids={"v": SnippetGrid(fps=25.0, stride=16, num_frames=16)}, durations={"v": 40.0})
    code, stdout, stderr = invoke(app, "fit", signals, points, "-o", tmp_path / "out.json")
    assert code == 0, stderr
