"""`admfit eval`: results files in, table or one JSON line out; every bad input one line, exit code 2."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from admfit.data import data_path
from admfit.errors import InputError
from admfit.evaluation.results_io import load_detections
from admfit_cli.main import app

GT = {"database": {
    "v1": {"subset": "test", "annotations": [{"segment": ["0.0", "10.0"], "label": "A"},
                                              {"segment": [20.0, 30.0], "label": "B"}]},
    "v2": {"subset": "test", "annotations": [{"segment": [0.0, 4.0], "label": "A"}]},
    "t1": {"subset": "train", "annotations": [{"segment": [0.0, 4.0], "label": "C"}]}}}


def write(path: Path, document) -> Path:
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return path


@pytest.fixture()
def gt_file(tmp_path):
    return write(tmp_path / "gt.json", GT)


def results(**videos):
    return {"version": "x", "results": videos}


def entry(start, end, label, score, **extra):
    return {"segment": [start, end], "label": label, "score": score, **extra}


def run(*args):
    result = CliRunner().invoke(app, [*map(str, args)])
    return result.exit_code, result.stdout, result.stderr


def test_json_line_on_unit_scale(gt_file, tmp_path):
    # A: v1 TP (0.9), v2 [0, 2] vs [0, 4] IoU 0.5 (0.8): AP 1 at tIoU <= 0.5, at 0.7 p = 1, 1/2, r = 1/2, 1/2 -> 1/2.
    # B: no prediction -> 0. C is a train class, not evaluated. Z is unknown -> ignored.
    pred = write(tmp_path / "pred.json", results(
        v1=[entry(0, 10, "A", 0.9), entry(1, 2, "Z", 0.99)], v2=[entry(0, 2, "A", 0.8)]))
    code, out, err = run("eval", gt_file, pred, "--tiou", "0.5,0.7", "--json")
    assert code == 0, err
    assert len(out.strip().splitlines()) == 1
    summary = json.loads(out)
    assert summary["tious"] == [0.5, 0.7]
    assert summary["map"] == [0.5, 0.25]
    assert summary["average"] == 0.375
    assert summary["num_classes"] == 2 and summary["num_ignored"] == 1 and summary["num_ground_truth"] == 3


def test_table_and_per_class(gt_file, tmp_path):
    pred = write(tmp_path / "pred.json", results(v1=[entry(0, 10, "A", 0.9)]))
    code, out, err = run("eval", gt_file, pred, "--per-class", "--tiou", "0.5")
    assert code == 0, err
    # A: one of two instances found: AP 1/2 -> 50.00; B: 0.00; mAP 25.00.
    assert "25.00" in out and "50.00" in out and "mAP" in out and "B" in out
    code, out, _ = run("eval", gt_file, pred, "--per-class", "--tiou", "0.5", "--json")
    assert json.loads(out)["per_class"] == {"A": [0.5], "B": [0.0]}


def test_subset_selects_classes(gt_file, tmp_path):
    pred = write(tmp_path / "pred.json", results(t1=[entry(0, 4, "C", 0.9)]))
    code, out, _ = run("eval", gt_file, pred, "--subset", "train", "--json")
    assert code == 0 and json.loads(out)["average"] == 1.0
    code, out, _ = run("eval", gt_file, pred, "--subset", "all", "--json")
    assert json.loads(out)["num_classes"] == 3


def test_default_thresholds_follow_the_file(tmp_path, gt_file):
    pred = write(tmp_path / "pred.json", results(v1=[entry(0, 10, "A", 0.9)]))
    _, out, _ = run("eval", gt_file, pred, "--json")
    assert json.loads(out)["tious"] == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]
    anet = write(tmp_path / "anet.json", {"version": "VERSION 1.2", **GT})
    _, out, _ = run("eval", anet, pred, "--json")
    assert json.loads(out)["tious"][0] == 0.5 and len(json.loads(out)["tious"]) == 10


def test_reversed_segments_counted_or_rejected_with_strict(gt_file, tmp_path):
    pred = write(tmp_path / "pred.json", results(v1=[entry(10, 0, "A", 0.9)]))
    code, out, _ = run("eval", gt_file, pred, "--json")
    assert code == 0 and json.loads(out)["num_invalid"] == 1
    code, out, err = run("eval", gt_file, pred, "--strict")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "v1" in err and "segment" in err and "reversed" in err


@pytest.mark.parametrize("document, words", [
    ("{not json", ["not valid JSON"]),
    ({"version": "x"}, ["results"]),
    (results(v1=[{"segment": [0, 1], "label": "A"}]), ["v1", "score", "Field required"]),
    (results(v1=[entry(0, 1, "A", 0.5), {"segment": [0, 1, 2], "label": "A", "score": 1}]), ["v1", "results.v1.1.segment"]),
    (results(v2=[entry(0, "x", "A", 0.5)]), ["v2", "segment"]),
    (results(v1=[entry(0, 1, "", 0.5)]), ["v1", "label"]),
    ('{"results": {"v1": [{"segment": [0, 1], "label": "A", "score": NaN}]}}', ["v1", "score"]),
    (results(v1={"segment": [0, 1]}), ["v1", "array"]),
    # Booleans are not numbers (Python's bool is an int; a results file's true is a mistake).
    (results(v1=[entry(0, 1, "A", 0.5), entry(0, 1, "A", True)]), ["v1", "results.v1.1.score", "true"]),
    (results(v1=[entry(False, 1, "A", 0.5)]), ["v1", "results.v1.0.segment.0"]),
    (results(v1=[entry(0, 1, 3, 0.5)]), ["v1", "results.v1.0.label", "string"]),
    (results(v1=[entry(0, 1, "A", 0.5)], v2=[entry(0, 1, "A", 0.5), [0, 1]]), ["v2", "results.v2.1", "object"]),
    (results(v1=[entry(0, 1, "A", "0.5x")]), ["v1", "score", "0.5x"]),
    (results(v1=[entry(0, 1, "A", 10 ** 400)]), ["v1", "score"]),
    ('{"results": {"v1": [{"segment": [0, Infinity], "label": "A", "score": 1}]}}', ["v1", "results.v1.0.segment"]),
    ([1, 2], ["results"]),
    ({"results": "nope"}, ["results"]),
])
def test_bad_prediction_file_is_one_line_exit_2(gt_file, tmp_path, document, words):
    pred = write(tmp_path / "pred.json", document)
    code, out, err = run("eval", gt_file, pred)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err and str(pred) in err
    for word in words:
        assert word.lower() in err.lower()


@pytest.mark.parametrize("args, words", [
    (["missing.json", "PRED"], ["missing.json", "no such file"]),
    (["GT", "PRED", "--tiou", "0.1:0.7"], ["--tiou"]),
    (["GT", "PRED", "--tiou", "2"], ["--tiou", "[0, 1]"]),
    (["GT", "PRED", "--subset", "nonesuch"], ["subset", "nonesuch"]),
])
def test_bad_arguments_are_one_line_exit_2(gt_file, tmp_path, args, words):
    pred = write(tmp_path / "pred.json", results(v1=[entry(0, 10, "A", 0.9)]))
    paths = {"GT": str(gt_file), "PRED": str(pred), "missing.json": str(tmp_path / "missing.json")}
    code, out, err = run("eval", *[paths.get(arg, arg) for arg in args])
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    for word in words:
        assert word.lower() in err.lower()


def test_subset_without_instances_is_an_error(tmp_path):
    gt_file = write(tmp_path / "gt.json", {"database": {"v": {"subset": "test", "annotations": []}}})
    pred = write(tmp_path / "pred.json", results())
    code, _, err = run("eval", gt_file, pred)
    assert code == 2 and "no ground-truth instance" in err and err.count("\n") == 1


def test_loader_keeps_file_order_and_reads_admfit_fit_output(tmp_path):
    pred = write(tmp_path / "pl.json", {"version": "admfit-0.1", "meta": {"segment_units": "seconds"},
                                        "results": {"b": [entry("1.5", 3, "A", 0.2, point_s=2.0, sigma=1.1)],
                                                    "a": [entry(0, 1, "B", 0.7), entry(4, 2, "A", 1)]}})
    detections = load_detections(pred)
    assert detections.video.tolist() == ["b", "a", "a"]
    assert detections.start_s.tolist() == [1.5, 0.0, 4.0] and detections.score.tolist() == [0.2, 0.7, 1.0]
    with pytest.raises(InputError) as error:
        load_detections(pred, strict=True)
    assert (error.value.video, error.value.field) == ("a", "results.a.1.segment")


def test_numbers_as_strings_are_read_and_columns_keep_file_order(tmp_path):
    pred = write(tmp_path / "pred.json", results(v=[entry("0.5", "2", "A", "0.25"), entry(1, 3.5, "B", 1)],
                                                 w=[], u=[entry(2, 4, "A", 0)]))
    detections = load_detections(pred)
    assert detections.video.tolist() == ["v", "v", "u"] and detections.label.tolist() == ["A", "B", "A"]
    assert detections.start_s.tolist() == [0.5, 1.0, 2.0] and detections.end_s.tolist() == [2.0, 3.5, 4.0]
    assert detections.score.tolist() == [0.25, 1.0, 0.0]


def test_empty_results_give_no_detections(tmp_path):
    assert len(load_detections(write(tmp_path / "pred.json", results()))) == 0
    assert len(load_detections(write(tmp_path / "pred.json", results(v=[])))) == 0


def test_real_thumos_ground_truth_perfect_predictions(tmp_path):
    # The shipped gt.json (210 test videos): its own instances as predictions give AP 1 everywhere.
    gt_file = data_path("thumos14", "gt.json")
    database = json.loads(Path(gt_file).read_text())["database"]
    predictions = {video: [entry(float(a["segment"][0]), float(a["segment"][1]), a["label"], 1.0)
                           for a in record["annotations"]]
                   for video, record in database.items() if record["subset"] == "test"}
    assert len(predictions) == 210
    pred = write(tmp_path / "pred.json", results(**predictions))
    code, out, err = run("eval", gt_file, pred, "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["num_classes"] == 20 and summary["num_invalid"] == 0
    assert np.allclose(summary["map"], 1.0, rtol=0, atol=1e-12)


@pytest.mark.parametrize("document, words", [
    ("{not json", ["not valid json"]),
    ('{"database": []}', ["database"]),
    ({"database": {"v1": {"annotations": []}}}, ["v1", "subset", "field required"]),
    ({"database": {"v1": {"subset": "test", "annotations": [{"label": "A"}]}}}, ["v1", "annotations.0.segment"]),
    ({"database": {"v1": {"subset": "test", "annotations": [{"label": "A", "segment": [5, 1]}]}}},
     ["v1", "annotations.0.segment", "before its start"]),
    ({"database": {"v1": {"subset": "test", "annotations": [{"label": "", "segment": [0, 1]}]}}},
     ["v1", "annotations.0.label"]),
    ({"database": {"v1": {"subset": "test", "duration": -1, "annotations": []}}}, ["v1", "duration"]),
    ({"database": {"v1": {"subset": "test", "annotations": [{"label": "A", "segment": [True, 1]}]}}},
     ["v1", "annotations.0.segment.0"]),
])
def test_bad_ground_truth_file_is_one_line_exit_2(tmp_path, document, words):
    # admfit eval reads the ground truth as columns (admfit.datasets.annotation_columns): the same errors
    # as load_annotations, one line naming the file, the video and the field.
    gt_file = write(tmp_path / "gt.json", document)
    pred = write(tmp_path / "pred.json", results(v1=[entry(0, 10, "A", 0.9)]))
    code, out, err = run("eval", gt_file, pred, "--json")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err and str(gt_file) in err
    for word in words:
        assert word.lower() in err.lower()
