"""Numba kernel of the labels' confidence (private: ``admfit.fit.confidence`` is the interface, and its numpy
``run_agreement`` the reference this kernel reproduces to the bit, tests/core/test_confidence.py)."""
from __future__ import annotations

import numpy as np
from numba import carray, njit, prange

from admfit.fit._kernels.addresses import pointer
from admfit.fit._kernels.signal import _filter

BACKGROUND_FLOAT32, BACKGROUND_FLOAT64, BACKGROUND_MASK = 0, 1, 2  # how each video's background is held


@njit(cache=True, parallel=True)
def actionness_segments(classes, starts, pair_video, bg_at, bg_kind, weights, reach):
    """``admfit.fit.confidence.actionness`` of every segment (a (video, class) column of ``classes``, from
    starts[s] to starts[s + 1]) with its video's background, read through its address (``bg_kind``: float32,
    float64 probabilities or a bool mask), smoothed by filter_segments' filter (``weights``, centre first)."""
    out = np.empty_like(classes)
    for s in prange(starts.shape[0] - 1):
        first, last = starts[s], starts[s + 1]
        values = np.empty(last - first)
        v = pair_video[s]
        if bg_kind[v] == BACKGROUND_FLOAT64:
            _mean_of_heads(classes[first:last], carray(pointer(bg_at[v], np.float64), (last - first,)), values)
        elif bg_kind[v] == BACKGROUND_FLOAT32:
            _mean_of_heads(classes[first:last], carray(pointer(bg_at[v], np.float32), (last - first,)), values)
        else:
            _mean_of_heads(classes[first:last], carray(pointer(bg_at[v], np.bool_), (last - first,)), values)
        _filter(values, weights, reach, out[first:last], False)
    return out


@njit(cache=True, nogil=True)
def _mean_of_heads(classes, background, out):
    for t in range(out.shape[0]):
        out[t] = 0.5 * (classes[t] + (1.0 - np.float64(background[t])))


@njit(cache=True, parallel=True)
def run_agreements(actionness, column_start, length, start, end):
    """(N,) ``admfit.fit.confidence.run_agreement`` of each label: its interval [start, end] (snippets) on its
    column of ``actionness`` (``length`` values from ``column_start``)."""
    out = np.zeros(start.shape[0])
    for i in prange(start.shape[0]):
        first = column_start[i]
        out[i] = _run_agreement(actionness[first:first + length[i]], start[i], end[i])
    return out


@njit(cache=True, nogil=True)
def _run_agreement(values, start, end):
    if not (np.isfinite(start) and np.isfinite(end)):
        return 0.0
    last = values.shape[0] - 1
    lo = int(min(max(np.rint(start), 0.0), last))
    hi = int(min(max(np.rint(end), lo), last))
    peak_at = lo
    for t in range(lo + 1, hi + 1):
        if values[t] > values[peak_at]:
            peak_at = t
    peak = values[peak_at]
    reach = hi - lo + 1
    floor = peak
    for t in range(max(0, lo - reach), min(last, hi + reach) + 1):
        floor = min(floor, values[t])
    if not peak > floor:
        return 0.0
    level = floor + 0.5 * (peak - floor)
    left = peak_at
    while left > 0 and values[left - 1] >= level:
        left -= 1
    right = peak_at
    while right < last and values[right + 1] >= level:
        right += 1
    return (min(hi, right) - max(lo, left) + 1) / (max(hi, right) - min(lo, left) + 1)
