"""numba kernels of the detection evaluator: greedy matching and interpolated AP.

Both walk predictions already put in evaluation order (by class, then by descending
score); the order, the grouping and every tie rule are decided in ``detection.py``.
The float arithmetic copies the official code operation for operation (IoU, precision,
recall), so that thresholds compare the same doubles.
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def match_predictions(pred_start, pred_end, pred_valid, gt_lo, gt_hi, gt_start, gt_end, tious):
    """True positives of each prediction at each threshold.

    pred_*: (N,) in evaluation order; gt_lo/gt_hi: (N,) int64, the half-open range of
    ground-truth rows (same video and class) in gt_start/gt_end (G,); tious: (K,).
    Returns tp: (K, N) bool. A prediction takes, per threshold, the not-yet-matched
    instance of highest IoU (among equal IoUs the later row), if that IoU >= threshold:
    the official "visit by descending IoU, first unlocked one" rule.
    """
    num_tious = tious.shape[0]
    num_preds = pred_start.shape[0]
    tp = np.zeros((num_tious, num_preds), dtype=np.bool_)
    locked = np.zeros((num_tious, gt_start.shape[0]), dtype=np.bool_)
    widest = 0
    for i in range(num_preds):
        widest = max(widest, gt_hi[i] - gt_lo[i])
    ious = np.empty(widest, dtype=np.float64)
    for i in range(num_preds):
        lo = gt_lo[i]
        hi = gt_hi[i]
        if not pred_valid[i] or lo == hi:
            continue
        start = pred_start[i]
        end = pred_end[i]
        highest = 0.0
        for g in range(lo, hi):
            # segment_iou of the official utils.py, same operations in the same order.
            inter = min(end, gt_end[g]) - max(start, gt_start[g])
            if inter < 0.0:
                inter = 0.0
            union = (gt_end[g] - gt_start[g]) + (end - start) - inter
            ious[g - lo] = inter / union
            highest = max(highest, ious[g - lo])
        for t in range(num_tious):
            if highest < tious[t]:
                continue  # no instance reaches this threshold: a false positive, no search needed
            best = -1
            best_iou = -1.0
            for g in range(lo, hi):
                if not locked[t, g] and ious[g - lo] >= best_iou:
                    best_iou = ious[g - lo]
                    best = g
            if best >= 0 and best_iou >= tious[t]:
                tp[t, i] = True
                locked[t, best] = True
    return tp


@njit(cache=True)
def interpolated_ap(tp, class_lo, class_hi, num_positives):
    """AP per threshold and class, VOC 2011 / ActivityNet interpolation.

    tp: (K, N) bool in evaluation order; class_lo/class_hi: (C,) int64 half-open ranges of
    each class's predictions; num_positives: (C,) ground-truth instances per class (> 0).
    Returns (K, C) float64; a class without predictions gets 0.
    """
    num_tious = tp.shape[0]
    num_classes = class_lo.shape[0]
    ap = np.zeros((num_tious, num_classes), dtype=np.float64)
    for c in range(num_classes):
        lo = class_lo[c]
        count = class_hi[c] - lo
        if count == 0:
            continue
        npos = float(num_positives[c])
        precision = np.empty(count + 2, dtype=np.float64)
        recall = np.empty(count + 2, dtype=np.float64)
        for t in range(num_tious):
            precision[0] = 0.0
            recall[0] = 0.0
            hits = 0.0
            for j in range(count):
                if tp[t, lo + j]:
                    hits += 1.0
                precision[j + 1] = hits / (j + 1.0)  # tp / (tp + fp): every prediction is one or the other
                recall[j + 1] = hits / npos
            precision[count + 1] = 0.0
            recall[count + 1] = 1.0
            for j in range(count, -1, -1):
                precision[j] = max(precision[j], precision[j + 1])
            total = 0.0
            for j in range(1, count + 2):
                if recall[j] != recall[j - 1]:
                    total += (recall[j] - recall[j - 1]) * precision[j]
            ap[t, c] = total
    return ap
