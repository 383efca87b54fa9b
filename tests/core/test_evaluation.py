"""Detection mAP: hand-computed corners of docs/spec.md section 2, and agreement with the plain reference.

AP arithmetic in the comments follows the official interpolation: precision p_j and recall
r_j after each prediction, p made monotone from the right, AP = sum over recall steps of
(r_j - r_{j-1}) * p_j; the tail from the last recall to 1 has precision 0.
"""
from __future__ import annotations

import numpy as np
import pytest

from admfit.datasets import load_annotations
from admfit.evaluation import (
    ANET_TIOUS,
    THUMOS14_TIOUS,
    Detections,
    GroundTruthSegments,
    evaluate_detection,
    parse_tious,
    segment_iou,
)
from admfit.evaluation.reference import reference_ap

from ..helpers import SHARED_DATA


def gt(*rows):
    """rows: (video, label, start_s, end_s)."""
    video, label, start, end = zip(*rows)
    return GroundTruthSegments(np.array(video), np.array(label), np.array(start, float), np.array(end, float))


def det(*rows):
    """rows: (video, label, start_s, end_s, score)."""
    video, label, start, end, score = zip(*rows)
    return Detections(np.array(video), np.array(label), np.array(start, float), np.array(end, float),
                      np.array(score, float))


def ap_at(ground_truth, detections, tiou, label="A"):
    result = evaluate_detection(ground_truth, detections, [tiou])
    return result.ap[0, result.classes.index(label)]


def test_perfect_predictions_give_ap_one():
    result = evaluate_detection(gt(("v", "A", 0, 10), ("v", "B", 20, 30)),
                                det(("v", "A", 0, 10, 0.9), ("v", "B", 20, 30, 0.1)))
    assert result.classes == ["A", "B"]
    assert np.array_equal(result.ap, np.ones((7, 2)))
    assert result.average == 1.0


def test_duplicate_is_a_false_positive():
    # Sorted: TP (0.9), duplicate FP (0.8), TP (0.7). p = 1, 1/2, 2/3; r = 1/2, 1/2, 1.
    # Monotone p = 1, 2/3, 2/3. AP = 1/2 * 1 + 1/2 * 2/3 = 5/6.
    ground_truth = gt(("v", "A", 0, 10), ("v", "A", 20, 30))
    detections = det(("v", "A", 0, 10, 0.9), ("v", "A", 0, 10, 0.8), ("v", "A", 20, 30, 0.7))
    assert ap_at(ground_truth, detections, 0.5) == pytest.approx(5 / 6, abs=1e-15)


@pytest.mark.parametrize("duplicate_first, expected", [
    # Ties keep input order: TP, FP, TP -> 5/6 (as above); TP, TP, FP -> p = 1, 1, 2/3, r = 1/2, 1, 1 -> AP 1.
    (True, 5 / 6), (False, 1.0)])
def test_score_ties_keep_input_order(duplicate_first, expected):
    ground_truth = gt(("v", "A", 0, 10), ("v", "A", 20, 30))
    duplicate, second = ("v", "A", 0, 10, 0.8), ("v", "A", 20, 30, 0.8)
    tied = (duplicate, second) if duplicate_first else (second, duplicate)
    detections = det(("v", "A", 0, 10, 0.9), *tied)
    assert ap_at(ground_truth, detections, 0.5) == pytest.approx(expected, abs=1e-15)


def test_iou_exactly_at_threshold_is_a_hit():
    # GT [0, 2], prediction [0, 1]: intersection 1, union 2 + 1 - 1 = 2, IoU = 0.5 exactly.
    ground_truth, detections = gt(("v", "A", 0, 2)), det(("v", "A", 0, 1, 1.0))
    assert segment_iou(0.0, 1.0, np.array([0.0]), np.array([2.0]))[0] == 0.5
    assert ap_at(ground_truth, detections, 0.5) == 1.0
    assert ap_at(ground_truth, detections, np.nextafter(0.5, 1)) == 0.0


def test_parsed_range_threshold_is_the_decimal_value():
    # GT [0, 10], prediction [0, 3]: IoU = 3 / 10, the double nearest 0.3. Accumulating 0.1 + 0.1 + 0.1
    # gives 0.30000000000000004 > 0.3 and would miss it; the parsed range holds 0.3 itself.
    tious = parse_tious("0.1:0.7:0.1")
    assert tious[2] == 0.3
    result = evaluate_detection(gt(("v", "A", 0, 10)), det(("v", "A", 0, 3, 1.0)), tious)
    assert result.ap[:, 0].tolist() == [1, 1, 1, 0, 0, 0, 0]


def test_each_threshold_matches_independently():
    # GT [0, 10]; p1 [0, 6] (IoU 0.6, score 0.9), p2 [0, 10] (IoU 1, score 0.8).
    # tIoU 0.5: p1 TP, p2 duplicate FP: p = 1, 1/2; r = 1, 1 -> AP 1.
    # tIoU 0.7: p1 FP, p2 TP (the instance is still free at this threshold): p = 0, 1/2; r = 0, 1 -> AP 1/2.
    result = evaluate_detection(gt(("v", "A", 0, 10)), det(("v", "A", 0, 6, 0.9), ("v", "A", 0, 10, 0.8)),
                                [0.5, 0.7])
    assert result.ap[:, 0].tolist() == [1.0, 0.5]


def test_prediction_takes_the_free_instance_of_highest_iou():
    # Instances b = [3, 13] (first in the file) and a = [0, 10].
    # p1 [1, 11]: IoU(a) = 9 / 11 = 0.818, IoU(b) = 8 / 12 = 0.667 -> takes a, not the first in file order.
    # p2 [0, 10]: a is taken; IoU(b) = 7 / 13 = 0.538.
    # tIoU 0.6: p2 FP -> p = 1, 1/2; r = 1/2, 1/2 -> AP 1/2.  tIoU 0.5: p2 takes b -> AP 1.
    ground_truth = gt(("v", "A", 3, 13), ("v", "A", 0, 10))
    detections = det(("v", "A", 1, 11, 0.9), ("v", "A", 0, 10, 0.8))
    result = evaluate_detection(ground_truth, detections, [0.5, 0.6])
    assert result.ap[:, 0].tolist() == [1.0, 0.5]


def test_iou_tie_between_instances_takes_the_later_instance():
    # g1 [0, 10], g2 [2, 12]; p1 [1, 11]: intersection 9 with each, union 11 with each: IoU 9/11 twice.
    # The later instance g2 is visited first (official argsort()[::-1] of a stably sorted short array).
    # p2 [2, 12]: g2 taken, IoU(g1) = 8 / 12 = 0.667 < 0.7 -> FP. p = 1, 1/2; r = 1/2, 1/2 -> AP 1/2.
    # (Taking g1 first would leave g2 to p2 and give AP 1.)
    ground_truth = gt(("v", "A", 0, 10), ("v", "A", 2, 12))
    detections = det(("v", "A", 1, 11, 0.9), ("v", "A", 2, 12, 0.8))
    assert ap_at(ground_truth, detections, 0.7) == 0.5
    assert np.argsort(np.array([9 / 11, 9 / 11]), kind="stable")[::-1].tolist() == [1, 0]


def test_class_without_predictions_counts_as_zero():
    # A perfect (AP 1), B has no prediction (AP 0): mAP = (1 + 0) / 2 at every threshold.
    result = evaluate_detection(gt(("v", "A", 0, 10), ("v", "B", 20, 30)), det(("v", "A", 0, 10, 0.5)))
    assert result.ap[:, 1].tolist() == [0.0] * 7
    assert result.map.tolist() == [0.5] * 7
    assert result.average == 0.5


def test_unknown_labels_are_ignored_and_counted():
    ground_truth = gt(("v", "A", 0, 10))
    clean = evaluate_detection(ground_truth, det(("v", "A", 0, 10, 0.5)))
    # "Z" is not a ground-truth class: left out, even with the highest score (as an FP it would halve AP).
    noisy = evaluate_detection(ground_truth, det(("v", "Z", 0, 10, 0.9), ("v", "A", 0, 10, 0.5)))
    assert noisy.num_ignored == 1 and noisy.num_predictions == 2
    assert np.array_equal(noisy.ap, clean.ap) and noisy.classes == ["A"]


def test_prediction_on_unknown_video_is_a_false_positive():
    # FP on video "w" (0.9) then TP (0.8): p = 0, 1/2; r = 0, 1 -> AP = 1 * 1/2.
    result = evaluate_detection(gt(("v", "A", 0, 10)), det(("w", "A", 0, 10, 0.9), ("v", "A", 0, 10, 0.8)))
    assert result.ap[:, 0].tolist() == [0.5] * 7
    assert result.num_without_ground_truth == 1


def test_prediction_on_video_without_that_class_is_a_false_positive():
    # The video has B but no A: the A prediction is a FP; then the TP: AP = 1/2 as above.
    ground_truth = gt(("v", "A", 0, 10), ("u", "B", 0, 10))
    result = evaluate_detection(ground_truth, det(("u", "A", 0, 10, 0.9), ("v", "A", 0, 10, 0.8)), [0.5])
    assert result.ap[0, 0] == 0.5 and result.num_without_ground_truth == 0


def test_reversed_and_zero_length_predictions_are_false_positives():
    # The mirror [5, 2] of the instance (officially IoU NaN and a TP), a zero-length [3, 3], then the
    # true segment: FP, FP, TP: p = 0, 0, 1/3; r = 0, 0, 1 -> AP = 1/3.
    ground_truth = gt(("v", "A", 2, 5))
    detections = det(("v", "A", 5, 2, 0.9), ("v", "A", 3, 3, 0.8), ("v", "A", 2, 5, 0.7))
    result = evaluate_detection(ground_truth, detections, [0.1, 0.5])
    assert result.ap[:, 0] == pytest.approx([1 / 3, 1 / 3], abs=1e-15)
    assert result.num_invalid == 2


def test_ground_truth_video_without_predictions_counts_in_recall():
    # Two instances, one found: p = 1; r = 1/2 -> AP = 1/2 * 1 + (1 - 1/2) * 0 = 1/2.
    result = evaluate_detection(gt(("v1", "A", 0, 10), ("v2", "A", 0, 10)), det(("v1", "A", 0, 10, 0.3)))
    assert result.ap[:, 0].tolist() == [0.5] * 7


def test_zero_length_instance_counts_but_cannot_be_matched():
    # [4, 4] inside the prediction [0, 10]: intersection 0 -> IoU 0; recall denominator 2: AP = 1/2.
    result = evaluate_detection(gt(("v", "A", 0, 10), ("v", "A", 4, 4)), det(("v", "A", 0, 10, 1.0),
                                                                                ("v", "A", 0, 10, 0.5)))
    assert result.ap[:, 0].tolist() == [0.5] * 7


def test_no_clipping_to_the_video():
    # Prediction [10, 30] on a 20 s video with instance [0, 20]: intersection 10, union 20 + 20 - 10 = 30,
    # IoU 1/3. Clipping it to the video, [10, 20], would give IoU 10 / 20 = 0.5 and a hit at 0.34.
    ground_truth, detections = gt(("v", "A", 0, 20)), det(("v", "A", 10, 30, 1.0))
    assert ap_at(ground_truth, detections, 0.33) == 1.0
    assert ap_at(ground_truth, detections, 0.34) == 0.0


def test_empty_predictions_give_zero_map():
    empty = Detections(np.zeros(0, "<U1"), np.zeros(0, "<U1"), np.zeros(0), np.zeros(0), np.zeros(0))
    result = evaluate_detection(gt(("v", "A", 0, 10)), empty)
    assert result.average == 0.0 and result.num_predictions == 0


def test_rejects_bad_arrays_and_thresholds():
    with pytest.raises(ValueError, match="NaN"):
        det(("v", "A", 0, np.nan, 1.0))
    with pytest.raises(ValueError, match="ends before"):
        gt(("v", "A", 5, 1))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        evaluate_detection(gt(("v", "A", 0, 1)), det(("v", "A", 0, 1, 1.0)), [1.5])
    with pytest.raises(ValueError, match="no instance"):
        evaluate_detection(GroundTruthSegments(np.zeros(0, "<U1"), np.zeros(0, "<U1"), [], []),
                           det(("v", "A", 0, 1, 1.0)))


@pytest.mark.parametrize("text, expected", [
    ("thumos14", THUMOS14_TIOUS), ("ANET", ANET_TIOUS), ("0.5:0.95:0.05", ANET_TIOUS),
    ("0.3,0.5,0.7", (0.3, 0.5, 0.7)), ("0.5", (0.5,)), ("0.1:0.7:0.1", THUMOS14_TIOUS)])
def test_parse_tious(text, expected):
    assert parse_tious(text).tolist() == list(expected)


@pytest.mark.parametrize("text", ["", "0.1:0.7", "a,b", "0.7:0.1:0.1", "0.1:0.7:0", "1.2", "-0.1,0.5"])
def test_parse_tious_rejects(text):
    with pytest.raises(ValueError):
        parse_tious(text)


# --- agreement with the plain per-class transcription of the official code ---------------------

def random_case(seed: int, ties: bool):
    """Random ground truth and predictions; with ``ties``, scores and times on coarse grids so that
    equal scores and equal IoUs are common."""
    rng = np.random.default_rng(seed)
    num_gt, num_pred = rng.integers(1, 60), rng.integers(0, 400)
    videos, labels = [f"v{i}" for i in range(6)], [f"c{i}" for i in range(4)]
    gt_start = rng.uniform(0, 60, num_gt)
    gt_end = gt_start + rng.uniform(0, 15, num_gt)
    # Predictions: half jittered copies of instances, half random; a few reversed, unknown video/label.
    base = rng.integers(0, num_gt, num_pred)
    near = rng.random(num_pred) < 0.5
    start = np.where(near, gt_start[base] + rng.normal(0, 2, num_pred), rng.uniform(0, 60, num_pred))
    end = np.where(near, gt_end[base] + rng.normal(0, 2, num_pred), start + rng.uniform(-1, 15, num_pred))
    score = rng.random(num_pred)
    if ties:
        gt_start, gt_end, start, end = (np.round(x) for x in (gt_start, gt_end, start, end))
        score = np.round(score, 1)
    gt_video = rng.choice(videos, num_gt)
    gt_label = rng.choice(labels, num_gt)
    pred_video = np.where(near, gt_video[base], rng.choice(videos + ["unseen"], num_pred))
    pred_label = np.where(near, gt_label[base], rng.choice(labels + ["unknown"], num_pred))
    return (GroundTruthSegments(gt_video, gt_label, gt_start, gt_end),
            Detections(pred_video, pred_label, start, end, score))


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("seed", range(25))
def test_agrees_with_reference(seed, ties):
    ground_truth, detections = random_case(seed, ties)
    tious = ANET_TIOUS if seed % 2 else THUMOS14_TIOUS
    result = evaluate_detection(ground_truth, detections, tious)
    classes, expected = reference_ap(ground_truth, detections, tious)
    assert result.classes == classes
    np.testing.assert_allclose(result.ap, expected, rtol=0, atol=1e-9)


def test_tie_cases_really_have_ties():
    # Guard for the test above: the coarse grids must produce equal scores within a class and
    # equal IoUs between instances, or the tie rules would go untested.
    ground_truth, detections = random_case(3, ties=True)
    assert np.unique(detections.score).size < len(detections) // 2
    assert np.unique(ground_truth.end_s - ground_truth.start_s).size < len(ground_truth)


def test_order_of_untied_predictions_does_not_matter():
    ground_truth, detections = random_case(7, ties=False)
    permutation = np.random.default_rng(0).permutation(len(detections))
    shuffled = evaluate_detection(ground_truth, detections.subset(permutation))
    assert np.array_equal(shuffled.ap, evaluate_detection(ground_truth, detections).ap)


def test_same_inputs_same_outputs():
    ground_truth, detections = random_case(11, ties=True)
    first, second = evaluate_detection(ground_truth, detections), evaluate_detection(ground_truth, detections)
    assert np.array_equal(first.ap, second.ap)


SHARED = SHARED_DATA


@pytest.mark.skipif(not (SHARED / "anet12" / "activity_net.v1-2.min.json").is_file(),
                    reason="../shared/data (ActivityNet-1.2 annotations) is not available")
def test_agrees_with_reference_on_real_activitynet_validation():
    # The real ActivityNet-1.2 validation ground truth (100 classes, zero-length instances included)
    # against jittered copies of its instances plus random segments.
    annotations = load_annotations(SHARED / "anet12" / "activity_net.v1-2.min.json", subset="validation")
    ground_truth = GroundTruthSegments.from_annotations(annotations)
    rng = np.random.default_rng(5)
    take = rng.integers(0, len(ground_truth), 3000)
    length = ground_truth.end_s[take] - ground_truth.start_s[take]
    start = ground_truth.start_s[take] + rng.normal(0, 0.2, take.size) * length
    end = ground_truth.end_s[take] + rng.normal(0, 0.2, take.size) * length
    label = np.where(rng.random(take.size) < 0.2, rng.permutation(ground_truth.label[take]), ground_truth.label[take])
    detections = Detections(ground_truth.video[take], label, start, end, np.round(rng.random(take.size), 2))
    result = evaluate_detection(ground_truth, detections, ANET_TIOUS)
    classes, expected = reference_ap(ground_truth, detections, ANET_TIOUS)
    assert len(classes) == 100 and result.classes == classes
    np.testing.assert_allclose(result.ap, expected, rtol=0, atol=1e-9)


# --- the numpy matching's own paths, each against the reference, to the last bit ------------------------
#
# admfit.evaluation._kernels matches in rounds over all predictions, in windows of predictions per video and
# class, and one prediction at a time where rounds stall (dense clusters); AP is np.sum over the official
# terms. Small settings of its constants send small cases down each path; the AP must be the reference's
# exactly (same IoU doubles, same terms, same summation), not merely close.

import admfit.evaluation._kernels as kernels  # noqa: E402


def crowded_case(seed: int):
    """Few videos and classes, many predictions each, instances overlapping each other; times and scores on
    coarse grids (equal IoUs, equal scores), reversed and zero-length predictions, zero-length instances."""
    rng = np.random.default_rng(seed)
    num_gt, num_pred = int(rng.integers(4, 40)), int(rng.integers(200, 700))
    gt_start = np.round(rng.uniform(0, 40, num_gt))
    gt_end = gt_start + np.round(rng.uniform(0, 12, num_gt))
    start = np.round(rng.uniform(-2, 45, num_pred))
    end = start + np.round(rng.uniform(-2, 25, num_pred))
    videos, labels = ["v", "w"], ["A", "B"]
    ground_truth = GroundTruthSegments(rng.choice(videos, num_gt), rng.choice(labels, num_gt), gt_start, gt_end)
    detections = Detections(rng.choice(videos + ["x"], num_pred), rng.choice(labels, num_pred), start, end,
                            np.round(rng.random(num_pred), 1))
    return ground_truth, detections


SETTINGS = {
    "defaults": {},
    "rounds to the end": {"_SEQUENTIAL_PAIRS": 0, "_MIN_ROUND_SHARE": 0.0},
    "one at a time, Python": {"_SEQUENTIAL_PAIRS": 10**9, "_DENSE_PAIRS_PER_PREDICTION": 10**9},
    "one at a time, numpy": {"_SEQUENTIAL_PAIRS": 10**9, "_DENSE_PAIRS_PER_PREDICTION": 0},
    "small windows": {"_WINDOW": 7, "_SEQUENTIAL_PAIRS": 0},
}


@pytest.fixture()
def spy(monkeypatch):
    """Counts of the matching paths taken: rounds, and predictions matched one at a time."""
    counts = {"rounds": 0, "one at a time": 0, "windows": 0}
    greedy, settle, sequential = kernels._greedy, kernels._settle, kernels._sequential

    def counting_greedy(pred, gt, iou, window_bounds, *args):
        counts["windows"] = max(counts["windows"], window_bounds.size - 1)
        return greedy(pred, gt, iou, window_bounds, *args)

    def counting_settle(pred, *args):
        counts["rounds"] += pred.size >= kernels._SEQUENTIAL_PAIRS and pred.size > 0
        return settle(pred, *args)

    def counting_sequential(pred, *args):
        counts["one at a time"] += pred.size > 0
        return sequential(pred, *args)

    monkeypatch.setattr(kernels, "_greedy", counting_greedy)
    monkeypatch.setattr(kernels, "_settle", counting_settle)
    monkeypatch.setattr(kernels, "_sequential", counting_sequential)
    return counts


@pytest.mark.parametrize("setting", SETTINGS)
@pytest.mark.parametrize("seed", range(6))
def test_every_matching_path_gives_the_reference_ap_exactly(monkeypatch, spy, setting, seed):
    for name, value in SETTINGS[setting].items():
        monkeypatch.setattr(kernels, name, value)
    ground_truth, detections = crowded_case(seed)
    tious = (0.0, 0.1, 0.3, 0.5, 0.7, 1.0) if seed % 2 else ANET_TIOUS
    result = evaluate_detection(ground_truth, detections, tious)
    classes, expected = reference_ap(ground_truth, detections, tious)
    assert result.classes == classes
    assert np.array_equal(result.ap, expected), np.abs(result.ap - expected).max()
    # Each setting took its path (a guard: the cases must be crowded enough for it).
    if setting == "rounds to the end":
        assert spy["rounds"] > 0 and spy["one at a time"] == 0
    elif setting.startswith("one at a time"):
        assert spy["rounds"] == 0 and spy["one at a time"] > 0
    elif setting == "small windows":
        assert spy["windows"] > 3


def test_crowded_cases_are_crowded():
    # Guard for the test above: its cases hold what they are meant to test.
    ground_truth, detections = crowded_case(1)
    assert np.any(detections.end_s < detections.start_s) and np.any(detections.end_s == detections.start_s)
    assert np.unique(detections.score).size <= 11
    counts = {}
    for key in zip(detections.video.tolist(), detections.label.tolist()):
        counts[key] = counts.get(key, 0) + 1
    assert max(counts.values()) > 50


def test_large_groups_with_default_settings_match_the_reference_exactly(spy):
    # One video and class with more predictions than a window holds and more pairs than rounds need:
    # 5,000 jittered copies of 30 instances, scores with ties.
    rng = np.random.default_rng(3)
    gt_start = np.sort(rng.uniform(0, 300, 30))
    gt_end = gt_start + rng.uniform(1, 15, 30)
    ground_truth = GroundTruthSegments(np.array(["v"] * 30), np.array(["A"] * 30), gt_start, gt_end)
    source = rng.integers(0, 30, 5000)
    length = gt_end[source] - gt_start[source]
    start = gt_start[source] + rng.normal(0, 0.3, 5000) * length
    end = gt_end[source] + rng.normal(0, 0.3, 5000) * length
    detections = Detections(np.array(["v"] * 5000), np.array(["A"] * 5000), start, end,
                            np.round(rng.random(5000), 2))
    result = evaluate_detection(ground_truth, detections, THUMOS14_TIOUS)
    _, expected = reference_ap(ground_truth, detections, THUMOS14_TIOUS)
    assert np.array_equal(result.ap, expected)
    assert spy["windows"] >= 2 and spy["rounds"] > 0


def test_dense_overlapping_instances_match_the_reference_exactly():
    # 60 instances 0.5 s apart, 5 s long, and 600 predictions up to 40 s long: every prediction has many
    # candidates at tIoU 0.05, where rounds settle one prediction at a time and the rest goes one by one.
    rng = np.random.default_rng(4)
    gt_start = np.arange(60) * 0.5
    ground_truth = GroundTruthSegments(np.array(["v"] * 60), np.array(["A"] * 60), gt_start, gt_start + 5)
    start = rng.uniform(-5, 35, 600)
    detections = Detections(np.array(["v"] * 600), np.array(["A"] * 600), start, start + rng.uniform(0.5, 40, 600),
                            rng.random(600))
    tious = (0.05, 0.1, 0.5)
    result = evaluate_detection(ground_truth, detections, tious)
    _, expected = reference_ap(ground_truth, detections, tious)
    assert np.array_equal(result.ap, expected)


def test_times_far_apart_keep_the_pairs_exact():
    # Instances near 0 and near 1e15 s in a video and class: the pair search's group blocks then pass 2**52,
    # and every instance of the group is paired instead. A prediction over +-1e300 s: no overflow, IoU ~0.
    # A: TP (0.9), TP (0.8), FP (0.7), TP (0.6): p = 1, 1, 2/3, 3/4; r = 1/3, 2/3, 2/3, 1 -> AP = (1 + 1 + 3/4) / 3.
    ground_truth = gt(("v", "A", 0, 10), ("v", "A", 1e15, 1e15 + 10), ("v", "A", 5, 8), ("v", "B", 0, 10))
    detections = det(("v", "A", 0, 10, 0.9), ("v", "A", 1e15, 1e15 + 10, 0.8), ("v", "A", -1e300, 1e300, 0.7),
                     ("v", "A", 5, 8, 0.6), ("v", "B", 1, 10, 0.5))
    result = evaluate_detection(ground_truth, detections, [0.5])
    _, expected = reference_ap(ground_truth, detections, [0.5])
    assert np.array_equal(result.ap, expected)
    assert result.ap[0].tolist() == [pytest.approx((1 + 1 + 3 / 4) / 3), 1.0]


def test_ground_truth_from_columns_equals_from_annotations():
    # admfit eval reads annotation files as columns (no pydantic models): the same segments, in the same order.
    from admfit.data import data_path
    from admfit.datasets.annotation_columns import read_annotation_columns

    files = [data_path("thumos14", "gt.json"), data_path("thumos14", "gt_full.json")]
    anet = SHARED / "anet12" / "activity_net.v1-2.min.json"
    files += [anet] if anet.is_file() else []
    for path in files:
        for subset in (None, "test", "train"):
            columns = GroundTruthSegments.from_columns(read_annotation_columns(path).select(subset))
            models = GroundTruthSegments.from_annotations(load_annotations(path, subset=subset))
            for name in ("video", "label", "start_s", "end_s"):
                assert np.array_equal(getattr(columns, name), getattr(models, name)), (path, subset, name)


def test_evaluation_order_sorts_score_bits_as_the_scores():
    """_evaluation_order sorts the scores' bit patterns: the same order as a stable sort of the negated
    scores, ties (0.0 and -0.0 among them) in input order, on signs, subnormals and neighbouring doubles."""
    from admfit.evaluation.detection import _evaluation_order

    def plain(pred_class, score):
        by_score = np.argsort(-score, kind="stable")
        return by_score[np.argsort(pred_class[by_score], kind="stable")]

    special = np.array([0.0, -0.0, 5e-324, -5e-324, 2.0 ** -1022, -(2.0 ** -1022), 1e308, -1e308, 1.0, -1.0, 0.5,
                        np.nextafter(0.5, 1.0), np.nextafter(0.5, 0.0), -np.nextafter(0.5, 0.0)])
    rng = np.random.default_rng(7)
    for trial in range(600):
        n = int(rng.integers(0, 60))
        score = rng.choice(special, n) if trial % 2 else np.round(rng.normal(0, 10, n), int(rng.integers(0, 3)))
        pred_class = rng.integers(0, 4, n)
        assert np.array_equal(_evaluation_order(pred_class, score), plain(pred_class, score)), (pred_class, score)
