"""Plain per-class reference of the official ActivityNet detection AP, for tests and benchmarks.

A literal transcription, without pandas, of ``compute_average_precision_detection``,
``segment_iou`` and ``interpolated_prec_rec`` (activitynet/ActivityNet
``Evaluation/eval_detection.py`` and ``Evaluation/utils.py``; ActionFormer's
``libs/utils/metrics.py`` is the same code): a Python loop over predictions, a numpy IoU
per prediction, the threshold loop over IoU-sorted instances with ``lock_gt``. It differs
from the official code only where docs/spec.md section 2 pins what the official code leaves to
chance or crashes on; each such line is marked ``# docs/spec.md``. It is slow on purpose: it is the
"straightforward implementation" that ``admfit.evaluation.detection`` must agree with.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .segments import Detections, GroundTruthSegments


def segment_iou(target_segment, candidate_segments):
    tt1 = np.maximum(target_segment[0], candidate_segments[:, 0])
    tt2 = np.minimum(target_segment[1], candidate_segments[:, 1])
    segments_intersection = (tt2 - tt1).clip(0)
    segments_union = (candidate_segments[:, 1] - candidate_segments[:, 0]) \
        + (target_segment[1] - target_segment[0]) - segments_intersection
    return segments_intersection.astype(float) / segments_union


def interpolated_prec_rec(prec, rec):
    mprec = np.hstack([[0], prec, [0]])
    mrec = np.hstack([[0], rec, [1]])
    for i in range(len(mprec) - 1)[::-1]:
        mprec[i] = max(mprec[i], mprec[i + 1])
    idx = np.where(mrec[1::] != mrec[0:-1])[0] + 1
    return np.sum((mrec[idx] - mrec[idx - 1]) * mprec[idx])


def compute_average_precision_detection(ground_truth: list[tuple[str, float, float]],
                                        prediction: list[tuple[str, float, float, float]],
                                        tiou_thresholds: Sequence[float]) -> np.ndarray:
    """AP (K,) of one class. ground_truth rows (video, start, end); prediction rows (video, start, end, score)."""
    ap = np.zeros(len(tiou_thresholds))
    if len(prediction) == 0:  # docs/spec.md 2.6: AP 0 (ActionFormer's branch; the official code has a KeyError)
        return ap
    npos = float(len(ground_truth))
    lock_gt = np.ones((len(tiou_thresholds), len(ground_truth))) * -1
    # docs/spec.md 2.6: stable sort by descending score (the official argsort()[::-1] is not reproducible).
    sort_idx = sorted(range(len(prediction)), key=lambda i: -prediction[i][3])
    prediction = [prediction[i] for i in sort_idx]
    tp = np.zeros((len(tiou_thresholds), len(prediction)))
    fp = np.zeros((len(tiou_thresholds), len(prediction)))
    ground_truth_gbvn: dict[str, list[int]] = {}
    for index, row in enumerate(ground_truth):
        ground_truth_gbvn.setdefault(row[0], []).append(index)

    for idx, this_pred in enumerate(prediction):
        if this_pred[0] not in ground_truth_gbvn:
            fp[:, idx] = 1
            continue
        if not this_pred[2] > this_pred[1]:  # docs/spec.md 2.6: reversed or zero-length -> false positive
            fp[:, idx] = 1
            continue
        this_gt = ground_truth_gbvn[this_pred[0]]
        tiou_arr = segment_iou(np.array(this_pred[1:3]),
                               np.array([ground_truth[j][1:3] for j in this_gt], dtype=float))
        # docs/spec.md 2.3: stable ascending argsort, reversed: among equal IoUs the later instance first.
        tiou_sorted_idx = np.argsort(tiou_arr, kind="stable")[::-1]
        for tidx, tiou_thr in enumerate(tiou_thresholds):
            for jdx in tiou_sorted_idx:
                if tiou_arr[jdx] < tiou_thr:
                    fp[tidx, idx] = 1
                    break
                if lock_gt[tidx, this_gt[jdx]] >= 0:
                    continue
                tp[tidx, idx] = 1
                lock_gt[tidx, this_gt[jdx]] = idx
                break
            if fp[tidx, idx] == 0 and tp[tidx, idx] == 0:
                fp[tidx, idx] = 1

    tp_cumsum = np.cumsum(tp, axis=1).astype(float)
    fp_cumsum = np.cumsum(fp, axis=1).astype(float)
    recall_cumsum = tp_cumsum / npos
    precision_cumsum = tp_cumsum / (tp_cumsum + fp_cumsum)
    for tidx in range(len(tiou_thresholds)):
        ap[tidx] = interpolated_prec_rec(precision_cumsum[tidx, :], recall_cumsum[tidx, :])
    return ap


def reference_ap(ground_truth: GroundTruthSegments, detections: Detections,
                 tious: Sequence[float]) -> tuple[list[str], np.ndarray]:
    """(classes sorted, AP (K, C)): the official per-class loop over the ground truth's labels."""
    classes = sorted(set(ground_truth.label.tolist()))
    gt_rows: dict[str, list] = {name: [] for name in classes}
    for video, label, start, end in zip(ground_truth.video.tolist(), ground_truth.label.tolist(),
                                        ground_truth.start_s.tolist(), ground_truth.end_s.tolist()):
        gt_rows[label].append((video, start, end))
    pred_rows: dict[str, list] = {name: [] for name in classes}
    for video, label, start, end, score in zip(detections.video.tolist(), detections.label.tolist(),
                                               detections.start_s.tolist(), detections.end_s.tolist(),
                                               detections.score.tolist()):
        if label in pred_rows:  # docs/spec.md 2.6: unknown labels are left out (the official code has a KeyError)
            pred_rows[label].append((video, start, end, score))
    ap = np.zeros((len(tious), len(classes)))
    for c, name in enumerate(classes):
        ap[:, c] = compute_average_precision_detection(gt_rows[name], pred_rows[name], tious)
    return classes, ap
