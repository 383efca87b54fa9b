"""Greedy matching and interpolated AP of the detection evaluator, in numpy.

No numba here: importing it and loading even a cached kernel takes longer than the time budget of a
whole ``admfit eval`` (docs/evaluation.md, Speed).

Both functions take predictions already in evaluation order (by class, then by descending
score); the order, the grouping and every tie rule are decided in ``detection.py``. The float
arithmetic copies the official code operation for operation: the IoU (so that thresholds
compare the same doubles), precision and recall, and the AP sum, which is ``np.sum`` over the
very terms of the official ``interpolated_prec_rec`` (so that AP is the same double).

Matching. The official loop is sequential: a prediction takes the free instance of highest IoU,
and what is free depends on every earlier prediction of its video and class. It is run here in
rounds over all predictions at once (per threshold). In a round every unresolved prediction
proposes its best instance still free; a proposal is accepted when no earlier unresolved
prediction has that instance among its free candidates. Nothing earlier can then take it, and
what the prediction prefers to it is already taken, so the sequential loop would make the same
choice. The earliest unresolved prediction of each video and class is always accepted, so the
rounds end. Where they settle too little (dense clusters), the rest goes one prediction at a time.
"""
from __future__ import annotations

import numpy as np


def _small(values: np.ndarray) -> np.ndarray:
    """Non-negative integer codes in the smallest integer type: numpy's stable sort is then a radix sort."""
    return values.astype(np.min_scalar_type(max(int(values.max(initial=0)), 1)))


def _expand(first: np.ndarray, stop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(owner, index): for each range ``[first[i], stop[i])`` in turn, ``i`` and each index in it."""
    counts = stop - first
    owner = np.repeat(np.arange(first.size), counts)
    offsets = np.cumsum(counts) - counts
    return owner, np.arange(owner.size) - np.repeat(offsets - first, counts)


def _group_keys(gt_start, gt_end):
    """(``key(values, groups)``: one float per (group, time), block width).

    Times are clipped just outside the ground truth's span and each group gets a block of its own,
    wider than twice that span. Every step is monotone, so ``a < b`` gives ``key(a) <= key(b)``
    within a group, and blocks never interleave: enough to find a superset of the overlaps, which is
    all the keys are for. The caller checks that the blocks' offsets stay exact integers (below 2**52).
    """
    low, high = float(gt_start.min()) - 1.0, float(gt_end.max()) + 1.0
    width = 2.0 * 2.0 ** np.ceil(np.log2(high - low + 1.0))

    def key(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
        return groups * width + (np.clip(values, low, high) - low)

    return key, width


def _overlapping_pairs(pred_start, pred_end, group, gt_group, gt_start, gt_end):
    """(pair index into the predictions given, instance row) of every prediction and instance of its
    group that it overlaps (a superset: instances that only touch it, or that lie before it while an
    earlier-starting one reaches past its start, may come too; they get IoU 0). Only these can reach a
    positive threshold. Pairs by prediction, in the order given.
    """
    by_start = np.lexsort((gt_start, gt_group))
    key, width = _group_keys(gt_start, gt_end)
    if not np.isfinite(width) or (int(gt_group[-1]) + 1) * width >= 2.0 ** 52:
        bounds = np.searchsorted(gt_group, np.arange(int(gt_group[-1]) + 2))
        return _expand(bounds[group], bounds[group + 1])
    sorted_group = gt_group[by_start]
    start_key = key(gt_start[by_start], sorted_group)
    # An instance j overlaps [s, e] only if start_j < e and end_j > s; ends are not in start order,
    # so their running maximum bounds them (within a group: each group's block lies above the last).
    reach_key = np.maximum.accumulate(key(gt_end[by_start], sorted_group))
    stop = np.searchsorted(start_key, key(pred_end, group), side="right")
    first = np.searchsorted(reach_key, key(pred_start, group), side="left")
    owner, position = _expand(first, np.maximum(stop, first))
    return owner, by_start[position]


def _first_of_runs(values: np.ndarray) -> np.ndarray:
    """Indices where a run of equal values starts (``values`` grouped)."""
    heads = np.ones(values.size, dtype=bool)
    np.not_equal(values[1:], values[:-1], out=heads[1:])
    return np.flatnonzero(heads)


# Below this many candidate pairs, or when a round settles less than this share of the predictions
# left, the rest is matched one prediction at a time (dense clusters of overlapping instances make
# rounds settle one prediction per video and class).
_SEQUENTIAL_PAIRS = 2_000
_MIN_ROUND_SHARE = 0.25
_DENSE_PAIRS_PER_PREDICTION = 16
# Predictions of a group (video and class) are matched in windows of this many, in order: a window is
# settled before the next one starts, whose pairs with instances taken by then are dropped at once.
_WINDOW = 4096


def _greedy(pred, gt, iou, window_bounds, num_preds: int, num_gt: int) -> np.ndarray:
    """(num_preds,) bool: true positives of one threshold.

    pred, gt, iou: the candidate pairs (IoU >= threshold), by window (``window_bounds``: where each
    starts), then grouped by prediction, the predictions of a group in evaluation order.
    """
    hit = np.zeros(num_preds, dtype=bool)
    locked = np.zeros(num_gt, dtype=bool)
    for lo, hi in zip(window_bounds[:-1].tolist(), window_bounds[1:].tolist()):
        window = slice(lo, hi)
        free = ~locked[gt[window]]
        _settle(pred[window][free], gt[window][free], iou[window][free], hit, locked)
    return hit


def _settle(pred, gt, iou, hit, locked) -> None:
    """Match the pairs given (every earlier prediction of their groups already matched): rounds
    (module docstring) while they settle enough, then one prediction at a time."""
    num_preds = hit.size
    earliest = np.empty(locked.size, dtype=np.int64)
    while pred.size and pred.size >= _SEQUENTIAL_PAIRS:
        heads = _first_of_runs(pred)
        proposer = pred[heads]
        # Each prediction's best free instance: highest IoU, then the later row.
        best = np.repeat(np.maximum.reduceat(iou, heads), np.diff(np.append(heads, pred.size)))
        choice = np.maximum.reduceat(np.where(iou == best, gt, -1), heads)
        earliest[gt] = num_preds
        np.minimum.at(earliest, gt, pred)
        accepted = earliest[choice] == proposer
        hit[proposer[accepted]] = True
        locked[choice[accepted]] = True
        live = ~(hit[pred] | locked[gt])
        pred, gt, iou = pred[live], gt[live], iou[live]
        if pred.size and _first_of_runs(pred).size > (1.0 - _MIN_ROUND_SHARE) * heads.size:
            break
    _sequential(pred, gt, iou, hit, locked)


def _sequential(pred, gt, iou, hit, locked) -> None:
    """The official loop on the pairs left: each prediction in turn takes its best free instance."""
    if pred.size == 0:
        return
    heads = _first_of_runs(pred)
    bounds = heads.tolist() + [pred.size]
    proposers = pred[heads].tolist()
    if pred.size > _DENSE_PAIRS_PER_PREDICTION * heads.size:
        # Many candidates each: one numpy pass per prediction beats a Python step per pair.
        for p, lo, hi in zip(proposers, bounds, bounds[1:]):
            free = np.where(locked[gt[lo:hi]], -1.0, iou[lo:hi])  # every candidate's IoU is > 0
            best_iou = free.max()
            if best_iou >= 0:
                locked[gt[lo:hi][free == best_iou].max()] = True
                hit[p] = True
        return
    gts, ious, taken = gt.tolist(), iou.tolist(), locked.tolist()
    found, took = [], []
    for p, lo, hi in zip(proposers, bounds, bounds[1:]):
        best, best_iou = -1, -1.0
        for k in range(lo, hi):
            g = gts[k]
            if not taken[g] and (ious[k] > best_iou or (ious[k] == best_iou and g > best)):
                best, best_iou = g, ious[k]
        if best >= 0:
            taken[best] = True
            found.append(p)
            took.append(best)
    hit[found] = True
    locked[took] = True


def _all_candidates(chosen: np.ndarray, group: np.ndarray, gt_group: np.ndarray, num_preds: int) -> np.ndarray:
    """(num_preds,) bool: true positives at threshold 0, where IoU 0 qualifies and every instance of the
    group is a candidate of every prediction. Whatever each one takes, the first n predictions of a group
    of n instances each get one and the rest none. ``chosen``/``group``: sorted by group."""
    rank = np.arange(group.size) - np.searchsorted(group, group, side="left")
    hit = np.zeros(num_preds, dtype=bool)
    hit[chosen[rank < np.bincount(gt_group)[group]]] = True
    return hit


def match_predictions(pred_start, pred_end, pred_valid, pred_group, gt_group, gt_start, gt_end, tious):
    """True positives of each prediction at each threshold.

    pred_*: (N,) in evaluation order; pred_group: (N,) int64 group (video and class) of each
    prediction, -1 for none; gt_group: (G,) int64 group of each instance, non-decreasing, file
    order within a group; gt_start/gt_end: (G,); tious: (K,). Returns tp: (K, N) bool. A
    prediction takes, per threshold, the not-yet-matched instance of highest IoU (among equal
    IoUs the later row), if that IoU >= threshold: the official "visit by descending IoU,
    first unlocked one" rule.
    """
    num_preds, num_gt = pred_start.size, gt_start.size
    tp = np.zeros((tious.size, num_preds), dtype=bool)
    chosen = np.flatnonzero(pred_valid & (pred_group >= 0))
    if chosen.size == 0 or num_gt == 0:
        return tp
    # By group, evaluation order kept within each (stable): groups are matched independently.
    chosen = chosen[np.argsort(_small(pred_group[chosen]), kind="stable")]
    group = pred_group[chosen]
    zero = tious <= 0
    if zero.any():
        tp[zero] = _all_candidates(chosen, group, gt_group, num_preds)
    if zero.all():
        return tp
    owner, pair_gt = _overlapping_pairs(pred_start[chosen], pred_end[chosen], group, gt_group, gt_start, gt_end)
    # Rank of each prediction within its group -> its window; pairs by window, order kept within.
    window = ((np.arange(group.size) - np.searchsorted(group, group, side="left")) // _WINDOW)[owner]
    if window.max(initial=0) > 0:
        by_window = np.argsort(_small(window), kind="stable")
        owner, pair_gt, window = owner[by_window], pair_gt[by_window], window[by_window]
    pair_pred = chosen[owner]
    start, end = pred_start[pair_pred], pred_end[pair_pred]
    gt_s, gt_e = gt_start[pair_gt], gt_end[pair_gt]
    # segment_iou of the official utils.py, same operations in the same order.
    inter = np.maximum(np.minimum(end, gt_e) - np.maximum(start, gt_s), 0.0)
    iou = inter / ((gt_e - gt_s) + (end - start) - inter)
    positive = np.flatnonzero(~zero)
    # Ascending thresholds: the pairs that meet one are among those that met the one before, so each
    # threshold filters what the previous one kept (order kept), not all the pairs again.
    for t in positive[np.argsort(tious[positive], kind="stable")]:
        met = iou >= tious[t]
        pair_pred, pair_gt, iou, window = pair_pred[met], pair_gt[met], iou[met], window[met]
        bounds = np.searchsorted(window, np.arange(int(window.max(initial=0)) + 2))
        tp[t] = _greedy(pair_pred, pair_gt, iou, bounds, num_preds, num_gt)
    return tp


def interpolated_ap(tp, class_lo, class_hi, num_positives):
    """AP per threshold and class, VOC 2011 / ActivityNet interpolation.

    tp: (K, N) bool in evaluation order; class_lo/class_hi: (C,) int64 half-open ranges of
    each class's predictions; num_positives: (C,) ground-truth instances per class (> 0).
    Returns (K, C) float64; a class without predictions gets 0.
    """
    ap = np.zeros((tp.shape[0], class_lo.size), dtype=np.float64)
    for c in range(class_lo.size):
        lo, hi = int(class_lo[c]), int(class_hi[c])
        if hi == lo:
            continue
        npos = float(num_positives[c])
        for t in range(tp.shape[0]):
            ap[t, c] = _average_precision(np.flatnonzero(tp[t, lo:hi]), npos)
    return ap


def _average_precision(hit_at: np.ndarray, npos: float) -> float:
    """The official ``interpolated_prec_rec`` of one class at one threshold, from the positions of its
    true positives among its predictions.

    Recall changes exactly at the true positives (and at the appended recall 1, unless reached),
    and the precision made monotone from the right is, there, the running maximum from the right
    over the true positives (a false positive never raises it): so the terms below are the
    official terms, the same doubles in the same order, and ``np.sum`` adds them the same way.
    """
    hits = np.arange(1.0, hit_at.size + 1.0)
    precision = hits / (hit_at + 1.0)  # tp / (tp + fp): every prediction is one or the other
    recall = hits / npos
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    previous = np.concatenate([[0.0], recall[:-1]])
    terms = (recall - previous) * envelope
    last = recall[-1] if recall.size else 0.0
    if last != 1.0:  # the appended point (recall 1, precision 0): a zero term, kept for np.sum's grouping
        terms = np.append(terms, (1.0 - last) * 0.0)
    return float(np.sum(terms))
