"""Pseudo-label quality (paper Table 2): alpha, mAP of the pseudo-labels, mean tIoU per point.

* ``alpha``: pseudo-labels per ground-truth instance of the evaluated subset (ADM gives one
  per point, so about 1 with one point per instance; a base model's proposals give ~12).
* mAP: the pseudo-labels scored as detections (their own ``score``), docs/spec.md section 2 semantics.
* mean tIoU: each pseudo-label against *its* instance, the ground-truth instance of the same
  video and class that its annotated point (``point_s``, seconds) designates: the instance
  nearest to the point in time (distance 0 when the point is inside); among several at the
  same distance (overlapping instances containing the point), the one whose centre is
  nearest to the point, then the first in file order. The pseudo-label's own extent plays
  no part in the choice, so a bad pseudo-label cannot pick the instance it happens to
  overlap best.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .detection import DetectionResult, evaluate_detection, segment_iou
from .segments import Detections, GroundTruthSegments
from .thresholds import THUMOS14_TIOUS


@dataclass(frozen=True)
class PseudoLabelQuality:
    """Quality of a pseudo-label set; tIoUs on the [0, 1] scale.

    ``tious``: (M,) tIoU of each pseudo-label with its instance, NaN where none was assigned
    (no point time, or no instance of its class in its video); ``mean_tiou`` is their mean
    over the assigned ones (None when there is none).
    """

    alpha: float
    num_pseudo_labels: int
    num_ground_truth: int
    detection: DetectionResult
    tious: np.ndarray
    num_without_point: int
    num_without_instance: int

    @property
    def mean_tiou(self) -> float | None:
        assigned = self.tious[np.isfinite(self.tious)]
        return float(assigned.mean()) if assigned.size else None

    def to_dict(self) -> dict:
        summary = {"alpha": self.alpha, "mean_tiou": self.mean_tiou,
                   "num_pseudo_labels": self.num_pseudo_labels, "num_ground_truth": self.num_ground_truth,
                   "num_assigned": int(np.count_nonzero(np.isfinite(self.tious))),
                   "num_without_point": self.num_without_point, "num_without_instance": self.num_without_instance}
        summary.update(self.detection.to_dict())
        return summary


def assign_instances(ground_truth: GroundTruthSegments, video: np.ndarray, label: np.ndarray,
                     point_s: np.ndarray) -> np.ndarray:
    """(M,) int64: the row in ``ground_truth`` that each point designates (rule in the module doc), -1 if none.

    video, label (M,) str; point_s (M,) float64 seconds, NaN for "no point".
    """
    truth_keys = np.char.add(np.char.add(ground_truth.video.astype(str), "\x00"), ground_truth.label.astype(str))
    keys = np.char.add(np.char.add(np.asarray(video).astype(str), "\x00"), np.asarray(label).astype(str))
    assigned = np.full(np.asarray(video).size, -1, dtype=np.int64)
    for key in np.unique(keys):
        rows = np.flatnonzero(truth_keys == key)
        members = np.flatnonzero((keys == key) & np.isfinite(point_s))
        if rows.size == 0 or members.size == 0:
            continue
        assigned[members] = _nearest_instance(point_s[members], ground_truth.start_s[rows], ground_truth.end_s[rows],
                                              rows)
    return assigned


def _nearest_instance(point_s: np.ndarray, start_s: np.ndarray, end_s: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Per point: the row whose instance is nearest (gap 0 inside), then whose centre is nearest, then first."""
    points = point_s[:, None]
    gap = np.maximum(np.maximum(start_s - points, points - end_s), 0.0)
    off_centre = np.abs(points - 0.5 * (start_s + end_s))
    # argmin keeps the first of equal values: file order among exact ties, as the rule says.
    candidates = np.where(gap == gap.min(axis=1, keepdims=True), off_centre, np.inf)
    return rows[np.argmin(candidates, axis=1)]


def pseudo_label_quality(ground_truth: GroundTruthSegments, pseudo_labels: Detections, point_s: np.ndarray,
                         tious: Sequence[float] = THUMOS14_TIOUS) -> PseudoLabelQuality:
    """Table-2 quality of ``pseudo_labels`` (seconds) against the evaluated subset ``ground_truth``.

    point_s: (M,) each pseudo-label's annotated point time in seconds, NaN where unknown.
    """
    point_s = np.asarray(point_s, dtype=np.float64)
    if point_s.shape != (len(pseudo_labels),):
        raise ValueError(f"point_s must have shape ({len(pseudo_labels)},), got {point_s.shape}")
    detection = evaluate_detection(ground_truth, pseudo_labels, tious)
    rows = assign_instances(ground_truth, pseudo_labels.video, pseudo_labels.label, point_s)
    tiou = np.full(len(pseudo_labels), np.nan)
    valid = np.flatnonzero((rows >= 0) & ~pseudo_labels.invalid)
    tiou[valid] = segment_iou(pseudo_labels.start_s[valid], pseudo_labels.end_s[valid],
                              ground_truth.start_s[rows[valid]], ground_truth.end_s[rows[valid]])
    # A reversed or zero-length pseudo-label overlaps nothing: tIoU 0, as the evaluator's false positive.
    tiou[(rows >= 0) & pseudo_labels.invalid] = 0.0
    has_point = np.isfinite(point_s)
    return PseudoLabelQuality(
        alpha=len(pseudo_labels) / len(ground_truth), num_pseudo_labels=len(pseudo_labels),
        num_ground_truth=len(ground_truth), detection=detection, tious=tiou,
        num_without_point=int(np.count_nonzero(~has_point)),
        num_without_instance=int(np.count_nonzero(has_point & (rows < 0))))
