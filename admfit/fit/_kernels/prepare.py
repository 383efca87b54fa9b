"""Numba kernels of prepare_instances (admfit.fit.prepare, which says why one pass): every video's values checked
and prepared in one parallel pass. Private: admfit.fit.prepare is the interface.

``prepare_videos`` takes the videos in turn (one per task): checks every value of its probabilities while
gathering the class columns that have points into one flat array (``gather_columns``), measures their noise and
despikes them (``clean_segment``), and turns its background probabilities into its mask (``threshold_background``,
``clear_around``). ``in_unit_interval`` is the value check of the per-video path too.
"""
from __future__ import annotations

import numpy as np
from numba import carray, njit, prange

from admfit.fit._kernels.addresses import pointer
from admfit.fit._kernels.signal import MEDIAN_SAMPLE, clean_segment, clear_around, threshold_background


@njit(cache=True, nogil=True)
def in_unit_interval(values):
    """True when every value of a 1-D array is finite and within [0, 1] (NaN fails every comparison).

    Blocks without a branch per value, so that the comparisons vectorise: a pass at memory speed.
    """
    n = values.shape[0]
    for first in range(0, n, 4096):
        bad = False
        for j in range(first, min(first + 4096, n)):
            value = values[j]
            bad |= not (value >= 0.0) or value > 1.0
        if bad:
            return False
    return True


@njit(cache=True, nogil=True)
def gather_columns(flat, width, used, out):
    """Check a (T, width) array (given flat, C order) and copy its columns ``used`` into out (K x T, float64).

    Both in one pass, block by block of rows: the columns of a row share its cache lines, so gathering after a
    separate check would read the whole array from memory twice. Returns False at the first block with a value
    outside [0, 1] (or NaN).
    """
    rows = flat.shape[0] // width
    block = max(1, 4096 // width)
    for first in range(0, rows, block):
        last = min(rows, first + block)
        if not in_unit_interval(flat[first * width:last * width]):
            return False
        for k in range(used.shape[0]):
            column = used[k]
            target = out[k * rows:(k + 1) * rows]
            for t in range(first, last):
                target[t] = flat[t * width + column]
    return True


@njit(cache=True, nogil=True)
def _checked_copy(source, target):
    """target[:] = source (as float64) when every value is in [0, 1]; False otherwise."""
    bad = False
    for j in range(source.shape[0]):
        value = source[j]
        bad |= not (value >= 0.0) or value > 1.0
        target[j] = value
    return not bad


@njit(cache=True, parallel=True)
def prepare_videos(probs_at, probs_double, steps, width, first_pair, pair_class, raw_start, measure, despike,
                   bg_at, bg_double, lengths, bg_start, first_point, snippets, threshold, radius, raw, mask):
    """Every video's values checked and prepared in one parallel pass (one video per task): returns (ok (V,),
    noise (S,)); fills raw and, when bg_at is not empty, mask.

    Video v: probs_at[v], the address of its (steps[v], width) probabilities (float64 where probs_double[v], else
    float32); its (video, class) segments first_pair[v]..first_pair[v + 1] - 1, of classes pair_class, are gathered
    into raw[raw_start[s]:raw_start[s + 1]] and cleaned (clean_segment: noise levels when ``measure``, despiked when
    ``despike``). bg_at[v] (float64 where bg_double[v]): its lengths[v] background probabilities, checked, despiked
    when ``despike`` (prepare_background), thresholded into mask[bg_start[v]:...] and cleared within ``radius`` of
    its points snippets[first_point[v]:first_point[v + 1]]. ok[v] is False when a value is outside [0, 1] or NaN
    (the rest of that video is then left undone).
    """
    count = probs_at.shape[0]
    ok = np.ones(count, np.bool_)
    noise = np.zeros(pair_class.shape[0])
    longest = 1
    for v in range(count):
        longest = max(longest, steps[v], lengths[v])
    # The loop body is one call: numba's parallel compilation of a long body costs tens of seconds.
    for v in prange(count):  # (np.int64: the parallel loop's index is typed otherwise, another compilation)
        ok[v] = _prepare_video(np.int64(v), probs_at, probs_double, steps, width, first_pair, pair_class, raw_start, measure,
                               despike, bg_at, bg_double, lengths, bg_start, first_point, snippets, threshold, radius,
                               raw, mask, noise, longest)
    return ok, noise


@njit(cache=True, nogil=True)
def _prepare_video(v, probs_at, probs_double, steps, width, first_pair, pair_class, raw_start, measure, despike,
                   bg_at, bg_double, lengths, bg_start, first_point, snippets, threshold, radius, raw, mask, noise,
                   longest):
    """Video v of prepare_videos (noise filled for its segments): False when a value is outside [0, 1] or NaN."""
    original, work, spare, sample = np.empty(longest), np.empty(longest), np.empty(longest), np.empty(MEDIAN_SAMPLE)
    first, last = first_pair[v], first_pair[v + 1]
    target = raw[raw_start[first]:raw_start[last]]
    used = pair_class[first:last]
    size = steps[v] * width
    if probs_double[v]:
        good = gather_columns(carray(pointer(probs_at[v], np.float64), (size,)), width, used, target)
    else:
        good = gather_columns(carray(pointer(probs_at[v], np.float32), (size,)), width, used, target)
    if not good:
        return False
    for pair in range(first, last):
        noise[pair] = clean_segment(raw[raw_start[pair]:raw_start[pair + 1]], measure, despike, original, work,
                                    spare, sample)
    if bg_at.shape[0] == 0:
        return True
    return _background_of(v, bg_at, bg_double, lengths, bg_start, first_point, snippets, threshold, radius, despike,
                          original, work, spare, sample, mask)


@njit(cache=True, nogil=True)
def _background_of(v, bg_at, bg_double, lengths, bg_start, first_point, snippets, threshold, radius, despike,
                   original, work, spare, sample, mask):
    """prepare_background of video v into its part of mask; False when a value is outside [0, 1] or NaN."""
    length = lengths[v]
    values = original[:length]
    if bg_double[v]:
        good = _checked_copy(carray(pointer(bg_at[v], np.float64), (length,)), values)
    else:
        good = _checked_copy(carray(pointer(bg_at[v], np.float32), (length,)), values)
    if not good:
        return False
    video_mask = mask[bg_start[v]:bg_start[v] + length]
    threshold_background(values, despike, threshold, work, spare, sample, video_mask)
    clear_around(video_mask, snippets[first_point[v]:first_point[v + 1]], radius)
    return True
