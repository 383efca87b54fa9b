"""Detection mAP: the official ActivityNet evaluation (docs/spec.md section 2), vectorised and exact.

Semantics (``Evaluation/eval_detection.py`` of activitynet/ActivityNet, which ActionFormer's
``libs/utils/metrics.py`` adapts):

* classes are the labels of the ground truth given (the evaluated subset); mAP is the
  unweighted mean of per-class AP, a class without predictions has AP 0;
* per class, predictions by descending score; each one, per threshold independently, takes
  the unmatched ground-truth instance of the same video and class with the highest IoU if
  that IoU >= threshold (true positive), else it is a false positive;
* AP with VOC 2011 interpolation after every prediction.

Decided where the official code is accidental (documented in docs/evaluation.md):

* score ties keep input order (stable sort); the official unstable argsort is not reproducible;
* IoU ties between ground-truth instances: the later instance (file order) is visited first,
  which is what the official ``argsort()[::-1]`` gives where numpy sorts short arrays stably
  (classic introsort; recent SIMD builds order ties arbitrarily);
* predictions with a label outside the classes are ignored and counted (officially a KeyError);
* reversed or zero-length predictions are false positives and counted (officially a mirrored
  instance scores NaN IoU and matches).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ._kernels import interpolated_ap, match_predictions
from .segments import Detections, GroundTruthSegments
from .thresholds import THUMOS14_TIOUS, check_tious


@dataclass(frozen=True)
class DetectionResult:
    """Per-class AP and mAP on the [0, 1] scale.

    ap: (K, C) AP at each threshold (rows, ``tious``) and class (columns, ``classes``).
    num_ground_truth: (C,) instances per class. Counts of predictions: ``num_predictions``
    read, ``num_ignored`` with a label outside ``classes`` (left out), ``num_invalid``
    reversed or zero-length (false positives), ``num_without_ground_truth`` on a video with
    no ground truth at all (false positives).
    """

    tious: np.ndarray
    classes: list[str]
    ap: np.ndarray
    num_ground_truth: np.ndarray
    num_predictions: int
    num_ignored: int
    num_invalid: int
    num_without_ground_truth: int

    @property
    def map(self) -> np.ndarray:
        """(K,) mAP at each threshold: the unweighted mean over classes."""
        return self.ap.mean(axis=1)

    @property
    def average(self) -> float:
        """Mean of mAP over the thresholds (the "Avg" column of papers)."""
        return float(self.map.mean())

    def to_dict(self, *, per_class: bool = False) -> dict:
        """JSON-ready summary; ``per_class`` adds ``{"per_class": {label: [AP per threshold]}}``."""
        summary = {"map": self.map.tolist(), "average": self.average, "tious": self.tious.tolist(),
                   "num_classes": len(self.classes), "num_ground_truth": int(self.num_ground_truth.sum()),
                   "num_predictions": self.num_predictions, "num_ignored": self.num_ignored,
                   "num_invalid": self.num_invalid, "num_without_ground_truth": self.num_without_ground_truth}
        if per_class:
            summary["per_class"] = {name: self.ap[:, c].tolist() for c, name in enumerate(self.classes)}
        return summary


def segment_iou(start_s: float, end_s: float, gt_start_s: np.ndarray, gt_end_s: np.ndarray) -> np.ndarray:
    """IoU of one segment with (M,) segments, the official formula and operation order; (M,) float64.

    Any unit works if both sides share it. Defined (not NaN) when the segment has positive length.
    """
    inter = np.clip(np.minimum(end_s, gt_end_s) - np.maximum(start_s, gt_start_s), 0, None)
    union = (gt_end_s - gt_start_s) + (end_s - start_s) - inter
    return inter / union


def _codes(values: np.ndarray, vocabulary: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(index of each value in the sorted ``vocabulary``, whether it is there at all)."""
    if vocabulary.size == 0:
        return np.zeros(values.size, dtype=np.int64), np.zeros(values.size, dtype=bool)
    index = np.minimum(np.searchsorted(vocabulary, values), vocabulary.size - 1)
    return index.astype(np.int64), vocabulary[index] == values


def _run_codes(values: np.ndarray, vocabulary: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``_codes`` for a column made of runs of equal values (a results file lists predictions
    video by video): the string search runs once per run instead of once per row."""
    if values.size == 0:
        return _codes(values, vocabulary)
    heads = np.flatnonzero(np.concatenate([[True], values[1:] != values[:-1]]))
    index, found = _codes(values[heads], vocabulary)
    lengths = np.diff(np.append(heads, values.size))
    return np.repeat(index, lengths), np.repeat(found, lengths)


def _evaluation_order(pred_class: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Indices by class, then descending score; ties keep input order (two stable passes).

    Both passes sort integers, which numpy's stable sort orders faster than floats: the scores as
    ``_ordered_bits`` of their negatives, class codes in the smallest integer type (a radix sort).
    """
    by_score = np.argsort(_ordered_bits(0.0 - score), kind="stable")  # 0.0 - x: -x, and +0.0 for either zero
    small = pred_class.astype(np.min_scalar_type(max(int(pred_class.max(initial=0)), 1)))
    return by_score[np.argsort(small[by_score], kind="stable")]


def _ordered_bits(values: np.ndarray) -> np.ndarray:
    """(N,) int64 in the order of the finite float64 ``values``, equal exactly where they are equal (give
    -0.0 as +0.0): the IEEE-754 bit pattern, whose order is the values' for positives, mirrored for negatives."""
    bits = values.view(np.int64)
    return bits ^ ((bits >> 63) & np.int64(0x7FFF_FFFF_FFFF_FFFF))


def evaluate_detection(ground_truth: GroundTruthSegments, detections: Detections,
                       tious: Sequence[float] = THUMOS14_TIOUS) -> DetectionResult:
    """AP of ``detections`` against ``ground_truth`` (seconds) at each threshold in ``tious``.

    ``ground_truth`` must be the evaluated subset only: its labels define the classes and
    its instances the recall denominators. Raises ValueError when it holds no instance.
    """
    thresholds = check_tious(tious)
    if len(ground_truth) == 0:
        raise ValueError("the ground truth holds no instance: nothing to evaluate")
    classes = np.unique(ground_truth.label)
    videos = np.unique(ground_truth.video)
    gt_class, _ = _codes(ground_truth.label, classes)
    gt_video, _ = _codes(ground_truth.video, videos)
    pred_class, known = _codes(detections.label, classes)
    pred_video, on_gt_video = _run_codes(detections.video, videos)

    keep = np.flatnonzero(known)
    order = keep[_evaluation_order(pred_class[keep], detections.score[keep])]
    # Ground truth grouped by (class, video), file order inside a group (stable sort); groups numbered 0, 1, ...
    gt_key = gt_class * videos.size + gt_video
    gt_order = np.argsort(gt_key, kind="stable")
    group_keys, gt_group = np.unique(gt_key[gt_order], return_inverse=True)
    pred_key = np.where(on_gt_video, pred_class * videos.size + pred_video, -1)[order]
    pred_group, in_group = _codes(pred_key, group_keys)
    pred_group[~in_group] = -1

    tp = match_predictions(detections.start_s[order], detections.end_s[order], ~detections.invalid[order],
                           pred_group, gt_group.astype(np.int64),
                           ground_truth.start_s[gt_order], ground_truth.end_s[gt_order], thresholds)
    ordered_class = pred_class[order]
    class_ids = np.arange(classes.size)
    class_lo = np.searchsorted(ordered_class, class_ids, side="left").astype(np.int64)
    class_hi = np.searchsorted(ordered_class, class_ids, side="right").astype(np.int64)
    num_gt = np.bincount(gt_class, minlength=classes.size)
    ap = interpolated_ap(tp, class_lo, class_hi, num_gt.astype(np.int64))
    return DetectionResult(
        tious=thresholds, classes=classes.tolist(), ap=ap, num_ground_truth=num_gt,
        num_predictions=len(detections), num_ignored=int(len(detections) - keep.size),
        num_invalid=int(np.count_nonzero(detections.invalid[keep])),
        num_without_ground_truth=int(np.count_nonzero(~on_gt_video[keep])))
