"""Non-maximum suppression of 1-D segments, compiled with numba (no extension for users to build).

Greedy NMS is inherently sequential: each kept segment suppresses later ones. In numpy that is one
vectorised IoU row per kept segment, and with busy score signals hundreds of segments survive per class,
so the Python loop dominated post-processing; numba runs the same loop compiled (cached on disk).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def _iou(start_a, end_a, start_b, end_b):
    inter = min(end_a, end_b) - max(start_a, start_b)
    if inter <= 0.0:
        return 0.0
    union = (end_a - start_a) + (end_b - start_b) - inter
    return inter / union if union > 0.0 else 0.0


@njit(cache=True)
def _greedy(start, end, order, threshold):
    count = order.size
    suppressed = np.zeros(count, dtype=np.bool_)
    keep = np.empty(count, dtype=np.int64)
    kept = 0
    for a in range(count):
        if suppressed[a]:
            continue
        i = order[a]
        keep[kept] = i
        kept += 1
        for b in range(a + 1, count):
            if not suppressed[b]:
                j = order[b]
                if _iou(start[i], end[i], start[j], end[j]) > threshold:
                    suppressed[b] = True
    return keep[:kept]


@njit(cache=True)
def _soft(start, end, scores, sigma, min_score):
    count = scores.size
    alive = np.ones(count, dtype=np.bool_)
    keep = np.empty(count, dtype=np.int64)
    kept_scores = np.empty(count, dtype=np.float64)
    kept = 0
    for _ in range(count):
        best, best_score = -1, -math.inf
        for k in range(count):
            if alive[k] and scores[k] > best_score:
                best, best_score = k, scores[k]
        if best < 0 or best_score < min_score:
            break
        alive[best] = False
        keep[kept], kept_scores[kept] = best, best_score
        kept += 1
        for k in range(count):
            if alive[k]:
                iou = _iou(start[best], end[best], start[k], end[k])
                scores[k] *= math.exp(-iou * iou / sigma)
    return keep[:kept], kept_scores[:kept]


def hard_nms(segments: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy NMS of (N, 2) segments with (N,) scores: indices kept, by descending score (stable on ties).
    A segment is dropped when its IoU with an already kept one exceeds ``iou_threshold``."""
    segments = np.ascontiguousarray(segments, dtype=np.float64).reshape(-1, 2)
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    return _greedy(np.ascontiguousarray(segments[:, 0]), np.ascontiguousarray(segments[:, 1]), order,
                   float(iou_threshold))


def soft_nms(segments: np.ndarray, scores: np.ndarray, sigma: float, min_score: float) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian soft-NMS (Bodla et al. 2017): each pick (highest current score, first index on ties) decays
    the others' scores by exp(-IoU^2 / sigma). Returns (indices, decayed scores) in pick order, stopping
    when the best remaining score is below ``min_score``."""
    segments = np.ascontiguousarray(segments, dtype=np.float64).reshape(-1, 2)
    return _soft(np.ascontiguousarray(segments[:, 0]), np.ascontiguousarray(segments[:, 1]),
                 np.array(scores, dtype=np.float64), float(sigma), float(min_score))
