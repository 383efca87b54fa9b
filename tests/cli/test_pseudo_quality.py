"""Pseudo-label quality (paper Table 2): instance assignment, alpha, mean tIoU, `admfit eval-pseudo`."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

from admfit.evaluation import Detections, GroundTruthSegments, evaluate_detection
from admfit.evaluation.pseudo_quality import assign_instances, pseudo_label_quality
from admfit.files.pseudo_labels import write_pseudo_labels
from admfit_cli.main import app

from ..helpers import EXAMPLE, assert_one_line_error

NAN = math.nan


def gt(*rows):
    video, label, start, end = zip(*rows)
    return GroundTruthSegments(np.array(video), np.array(label), np.array(start, float), np.array(end, float))


def labels(*rows):
    """rows: (video, label, start_s, end_s, score, point_s) -> (Detections, point_s)."""
    video, label, start, end, score, point = zip(*rows)
    return (Detections(np.array(video), np.array(label), np.array(start, float), np.array(end, float),
                       np.array(score, float)), np.array(point, float))


@pytest.mark.parametrize("instances, point, expected", [
    ([(0, 10), (20, 30)], 5.0, 0),      # inside the first
    ([(0, 10), (20, 30)], 17.0, 1),     # outside both: 7 s after the first, 3 s before the second
    ([(0, 10), (20, 30)], 10.0, 0),     # on the first's end: distance 0
    ([(0, 10), (4, 8)], 6.0, 1),        # inside both: centres 5 and 6, the second is nearer
    ([(0, 10), (0, 10)], 6.0, 0),       # the same instance twice: the first in file order
    ([(0, 10), (20, 30)], 15.0, 0),     # 5 s from each, centres 10 s from each: the first
])
def test_point_designates_its_instance(instances, point, expected):
    ground_truth = gt(*[("v", "A", s, e) for s, e in instances])
    assigned = assign_instances(ground_truth, np.array(["v"]), np.array(["A"]), np.array([point]))
    assert assigned.tolist() == [expected]


def test_no_instance_without_point_or_same_class_instance():
    ground_truth = gt(("v", "A", 0, 10), ("u", "B", 0, 10))
    assigned = assign_instances(ground_truth, np.array(["v", "v", "u", "w"]), np.array(["A", "B", "A", "A"]),
                                np.array([NAN, 5.0, 5.0, 5.0]))
    assert assigned.tolist() == [-1, -1, -1, -1]


def test_alpha_mean_tiou_and_map():
    ground_truth = gt(("v", "A", 0, 10), ("v", "A", 20, 30), ("v", "B", 0, 10))
    pseudo, point_s = labels(
        ("v", "A", 0, 5, 0.9, 5.0),      # instance [0, 10]: IoU 5 / 10 = 0.5
        ("v", "A", 20, 25, 0.8, 17.0),   # nearest instance [20, 30]: IoU 5 / 10 = 0.5
        ("v", "B", 0, 10, 0.7, 5.0),     # instance [0, 10] of B: IoU 1
        ("v", "A", 0, 10, 0.1, NAN),     # no point: not in the mean tIoU, still a prediction
        ("v", "A", 9, 3, 0.05, 25.0))    # reversed: tIoU 0 with [20, 30]
    quality = pseudo_label_quality(ground_truth, pseudo, point_s, [0.5])
    assert quality.alpha == 5 / 3
    # (0.5 + 0.5 + 1 + 0) / 4
    assert quality.mean_tiou == pytest.approx(0.5, abs=1e-15)
    assert math.isnan(quality.tious[3]) and quality.num_without_point == 1
    assert np.array_equal(quality.detection.ap, evaluate_detection(ground_truth, pseudo, [0.5]).ap)
    summary = quality.to_dict()
    assert summary["num_assigned"] == 4 and summary["alpha"] == 5 / 3 and "map" in summary


def test_rejects_misshapen_points():
    pseudo, _ = labels(("v", "A", 0, 5, 0.9, 5.0))
    with pytest.raises(ValueError, match="point_s"):
        pseudo_label_quality(gt(("v", "A", 0, 10)), pseudo, np.zeros(2))


def _fit_row(video, label, start_s, end_s, score, point_s, confidence=0.5):
    # One row as admfit.files.pseudo_labels.pseudo_label_rows makes it (snippet fields are irrelevant here).
    return {"video": video, "label": label, "label_id": 0, "score": score, "point": 0, "point_s": point_s,
            "t_star": 0, "b_s": 0, "b_e": 1, "sigma": 1.0, "omega": 1.0, "start": 0.0, "end": 1.0,
            "start_s": start_s, "end_s": end_s, "confidence": confidence, "converged": True}


GT = {"database": {
    "t1": {"subset": "Validation", "annotations": [{"segment": [0.0, 10.0], "label": "A"},
                                                    {"segment": [20.0, 30.0], "label": "A"}]},
    "x1": {"subset": "Test", "annotations": [{"segment": [0.0, 4.0], "label": "B"}]}}}


def run(*args):
    result = CliRunner().invoke(app, ["eval-pseudo", *map(str, args)])
    return result.exit_code, result.stdout, result.stderr


def test_eval_pseudo_reads_admfit_fit_output(tmp_path):
    gt_file = tmp_path / "gt.json"
    gt_file.write_text(json.dumps(GT))
    out = tmp_path / "pseudo_labels.json"
    # Two points, one pseudo-label each: IoU 5/10 and 10/10 -> mean tIoU 0.75; alpha 2 / 2.
    write_pseudo_labels(out, [_fit_row("t1", "A", 0.0, 5.0, 0.9, 4.0), _fit_row("t1", "A", 20.0, 30.0, 0.8, 24.0)],
                        fmt="json", meta={"segment_units": "seconds"})
    code, stdout, err = run(gt_file, out, "--json", "--tiou", "0.5,0.7")
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["alpha"] == 1.0 and summary["mean_tiou"] == 0.75
    # tIoU 0.5: both hits -> AP 1. tIoU 0.7: FP (0.9) then TP (0.8): p = 0, 1/2; r = 0, 1/2 -> AP 1/4.
    assert summary["map"] == [1.0, 0.25]
    code, stdout, err = run(gt_file, out)
    assert code == 0 and "alpha" in stdout and "tIoU with the point's instance: 75.00 %" in stdout


def test_eval_pseudo_min_confidence_scores_only_the_trusted_labels(tmp_path):
    gt_file = tmp_path / "gt.json"
    gt_file.write_text(json.dumps(GT))
    out = tmp_path / "pseudo_labels.json"
    write_pseudo_labels(out, [_fit_row("t1", "A", 0.0, 5.0, 0.9, 4.0, confidence=0.2),
                              _fit_row("t1", "A", 20.0, 30.0, 0.8, 24.0, confidence=0.9)],
                        fmt="json", meta={"segment_units": "seconds"})
    code, stdout, err = run(gt_file, out, "--json", "--tiou", "0.5", "--min-confidence", "0.5")
    assert code == 0, err
    summary = json.loads(stdout)
    # Only the exact label is kept: 1 label for 2 instances, its tIoU 1.
    assert summary["num_pseudo_labels"] == 1 and summary["alpha"] == 0.5 and summary["mean_tiou"] == 1.0


def test_eval_pseudo_min_confidence_refuses_files_without_it(tmp_path):
    gt_file = tmp_path / "gt.json"
    gt_file.write_text(json.dumps(GT))
    out = tmp_path / "pseudo_labels.json"
    row = _fit_row("t1", "A", 0.0, 5.0, 0.9, 4.0)
    del row["confidence"], row["converged"]
    out.write_text(json.dumps({"results": {"t1": [{"segment": [0.0, 5.0], **row}]},
                               "meta": {"segment_units": "seconds"}}))
    code, stdout, err = run(gt_file, out, "--min-confidence", "0.5")
    assert_one_line_error(code, stdout, err, "confidence", str(out))


def test_eval_pseudo_refuses_snippet_segments(tmp_path):
    gt_file = tmp_path / "gt.json"
    gt_file.write_text(json.dumps(GT))
    out = tmp_path / "pseudo_labels.json"
    write_pseudo_labels(out, [_fit_row("t1", "A", None, None, 0.9, None)], fmt="json",
                        meta={"segment_units": "snippets"})
    code, stdout, err = run(gt_file, out)
    assert_one_line_error(code, stdout, err)
    assert "segment_units" in err and str(out) in err


@pytest.mark.parametrize("point_s, words", [("x", ["'x'"]), (True, ["true"]), (float("inf"), ["finite"])])
def test_eval_pseudo_refuses_a_bad_point_time(tmp_path, point_s, words):
    gt_file = tmp_path / "gt.json"
    gt_file.write_text(json.dumps(GT))
    out = tmp_path / "pseudo_labels.json"
    good, bad = (_fit_row("t1", "A", 0.0, 5.0, 0.9, None), _fit_row("t1", "A", 0.0, 5.0, 0.9, point_s))
    out.write_text(json.dumps({"meta": {"segment_units": "seconds"}, "results": {"t1": [
        {"segment": [0, 5], **good}, {"segment": [0, 5], **bad}]}}))
    code, stdout, err = run(gt_file, out)
    assert_one_line_error(code, stdout, err)
    for word in [str(out), "t1", "results.t1.1.point_s", *words]:
        assert word in err, (word, err)


EXAMPLE = EXAMPLE


@pytest.mark.skipif(not (EXAMPLE / "signals.npz").is_file(), reason="shipped example not present")
def test_eval_pseudo_on_admfit_fit_of_the_shipped_example(tmp_path):
    # Real THUMOS'14 training videos: one point per instance, so ADM's one pseudo-label per point
    # gives alpha = 1, and every point designates an instance of its class.
    out = tmp_path / "pseudo_labels.json"
    fit = CliRunner().invoke(app, ["fit", str(EXAMPLE / "signals.npz"), str(EXAMPLE / "points.json"), "-o", str(out)])
    assert fit.exit_code == 0, fit.stderr
    code, stdout, err = run(EXAMPLE / "gt.json", out, "--json")
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["alpha"] == 1.0
    assert summary["num_assigned"] == summary["num_pseudo_labels"] == summary["num_ground_truth"]
    assert 0 < summary["mean_tiou"] <= 1 and summary["num_invalid"] == 0
