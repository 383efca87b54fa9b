"""Numba kernels of the signal preparation (paper 3.4.1, docs/spec.md 1.6). Private: ``admfit.fit.signal`` is the
interface, and its numpy / scipy functions the reference these kernels reproduce.

The kernels work on segments: many columns of many videos, concatenated (each (video, class) one segment, as
``admfit.fit.prepare`` lays them out). Each gives bitwise what the per-column function of admfit.fit.signal gives
on each segment alone (tests/core/test_adm_batch.py): ``clean_segment`` is ``noise_level`` and ``despike``;
``threshold_background`` and ``clear_around`` are ``prepare_background``; ``filter_segments`` is scipy's
``gaussian_filter1d`` (``smooth_signal``); ``resample_segments`` is ``upsample_signal`` and the clip of
``prepare_signal``.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

# A value counts as an impulse when it stands this far from its neighbourhood's median: at least this
# much (probability), and at least SPIKE_NOISES times the signal's own noise level.
SPIKE_MIN = 0.05
SPIKE_NOISES = 3.0
# A median absolute difference of white noise, scaled to the noise's standard deviation.
NOISE_SCALE = 1.4826 / np.sqrt(2.0)


@njit(cache=True, nogil=True)
def clear_around(mask, points, radius):
    """mask[p - radius:p + radius + 1] = False for each point p (snippets), kept within the mask."""
    n = mask.shape[0]
    for i in range(points.shape[0]):
        mask[max(0, points[i] - radius):min(n, points[i] + radius + 1)] = False


# Values sampled per round of _kth_smallest.
MEDIAN_SAMPLE = 32
_MARGIN = 4


@njit(cache=True, nogil=True)
def clean_segment(segment, measure, despike_values, original, work, spare, sample):
    """noise_level of one segment (0 unless ``measure``), then, when ``despike_values``, the segment despiked in
    place by that level (despike). original, work, spare: float64 scratch of at least its length; sample:
    float64 (MEDIAN_SAMPLE,). Returns the noise level."""
    n = segment.shape[0]
    if n < 3:
        return 0.0
    level = NOISE_SCALE * _median_step(segment, work, spare, sample) if measure else 0.0
    if despike_values:
        source = original[:n]
        for t in range(n):  # (a loop: numba's slice assignment compiles string formatting for its error message)
            source[t] = segment[t]
        _despiked(source, max(SPIKE_MIN, SPIKE_NOISES * level), segment)
    return level


@njit(cache=True, nogil=True)
def threshold_background(values, despike_values, threshold, work, spare, sample, mask):
    """prepare_background's mask of one video's background probabilities (float64, left as they are), before the
    points are cleared: despiked by their noise level when ``despike_values``, then above ``threshold``. work,
    spare: float64 scratch of their length; sample: float64 (MEDIAN_SAMPLE,)."""
    n = values.shape[0]
    if despike_values and n >= 3 and _despiking_may_cross(values, threshold):
        level = NOISE_SCALE * _median_step(values, work, spare, sample)
        cleaned = work[:n]
        _despiked(values, max(SPIKE_MIN, SPIKE_NOISES * level), cleaned)
        values = cleaned
    for t in range(n):
        mask[t] = values[t] > threshold


@njit(cache=True, nogil=True)
def _despiking_may_cross(values, threshold):
    """Whether despiking could move a value across ``threshold``: some value stands more than SPIKE_MIN (the least
    limit of despike) from its three-step median, on the other side of the threshold. When none does, the mask is
    the same whatever the noise level: its median (the costly part) is not needed."""
    crossing = False
    for t in range(1, values.shape[0] - 1):
        a, b, c = values[t - 1], values[t], values[t + 1]
        median = max(min(a, b), min(max(a, b), c))
        crossing |= abs(b - median) > SPIKE_MIN and (b > threshold) != (median > threshold)
    return crossing


@njit(cache=True, nogil=True)
def _despiked(source, limit, target):
    """despike of source into target (ends copied): read from an untouched copy, the loop has no dependence from
    one snippet to the next and vectorises."""
    n = source.shape[0]
    target[0] = source[0]
    target[n - 1] = source[n - 1]
    for t in range(1, n - 1):
        a, b, c = source[t - 1], source[t], source[t + 1]
        median = max(min(a, b), min(max(a, b), c))
        target[t] = median if abs(b - median) > limit else b


@njit(cache=True, nogil=True)
def _median_step(segment, work, spare, sample):
    """np.median(np.abs(np.diff(segment))), exactly (_kth_smallest); for an even count the upper middle value is
    found by one more pass. work, spare: float64 scratch of at least len(segment) - 1; sample: (MEDIAN_SAMPLE,)."""
    m = segment.shape[0] - 1
    steps = work[:m]
    for j in range(m):
        steps[j] = abs(segment[j + 1] - segment[j])
    rank = (m - 1) // 2
    lower = _kth_smallest(steps, rank, spare, sample)
    if m % 2:
        return lower
    at_most, above = 0, np.inf
    for j in range(m):
        value = abs(segment[j + 1] - segment[j])
        at_most += value <= lower
        above = min(above, value if value > lower else np.inf)
    return (lower + (lower if at_most > rank + 1 else above)) / 2


@njit(cache=True, nogil=True)
def _kth_smallest(values, rank, spare, sample):
    """The rank-th smallest (0-based) of non-negative doubles (values and spare, of the same length, are reordered).

    Sampled pivots (Floyd and Rivest's selection): each round sorts MEDIAN_SAMPLE values spread over the candidates,
    takes the two a few places either side of where the rank falls in the sample, and keeps the candidates
    between them (a quarter, on average), in one pass that copies without a branch per value (a kept flag adds
    to the count). When the rank falls outside them (rarely), the side holding it is kept instead; when no
    candidate would go (many equal values), one pivot splits them into below, equal and above, so every round
    makes progress. At most MEDIAN_SAMPLE left: sorted.
    """
    source, target = values, spare
    m = values.shape[0]
    while m > MEDIAN_SAMPLE:
        step = m // MEDIAN_SAMPLE
        for i in range(MEDIAN_SAMPLE):
            sample[i] = source[i * step + step // 2]
        _insertion_sort(sample, MEDIAN_SAMPLE)
        at = rank * MEDIAN_SAMPLE // m
        low = sample[at - _MARGIN] if at >= _MARGIN else -1.0
        high = sample[at + _MARGIN] if at + _MARGIN < MEDIAN_SAMPLE else np.inf
        below, kept = _keep_between(source, m, low, high, target)
        if kept == m:  # every candidate between the pivots: split at one value instead
            low = high = sample[at]
            below, kept = _keep_between(source, m, low, high, target)
        if below <= rank < below + kept:
            if low == high:
                return low
            rank -= below
            m = kept
        elif rank < below:  # value < low is value <= the float just below low
            m = _keep_between(source, m, -np.inf, np.nextafter(low, -np.inf), target)[1]
        else:
            rank -= below + kept
            m = _keep_between(source, m, np.nextafter(high, np.inf), np.inf, target)[1]
        source, target = target, source
    _insertion_sort(source, m)
    return source[rank]


@njit(cache=True, nogil=True)
def _keep_between(source, m, low, high, target):
    """Copy the candidates source[:m] within [low, high] to the front of target: (how many below low, how many
    kept)."""
    below = kept = 0
    for j in range(m):
        value = source[j]
        target[kept] = value
        kept += (value >= low) & (value <= high)
        below += value < low
    return below, kept


@njit(cache=True, nogil=True)
def _insertion_sort(values, m):
    """values[:m] sorted in place (numba's np.sort costs seconds of compilation; m is small here)."""
    for j in range(1, m):
        value = values[j]
        k = j
        while k > 0 and values[k - 1] > value:
            values[k] = values[k - 1]
            k -= 1
        values[k] = value


@njit(cache=True, parallel=True)
def filter_segments(values, starts, weights, which, radius, clip, in_place):
    """scipy.ndimage.gaussian_filter1d (mode "reflect") of each segment with weights[which[i]] (radius[i] + 1 of
    them, centre first), in scipy's order of operations: the centre term, then each pair of mirrored values times
    their weight, the farthest pair first. Radius 0 multiplies by 1. When ``clip``, the result is clipped to
    [0, 1] as np.clip does (prepare_signal's clip when nothing is resampled), in the same pass. Into a new array,
    or, when ``in_place``, into values (each segment read from a copy: no new array to fault in)."""
    out = values if in_place else np.empty_like(values)
    for i in prange(starts.shape[0] - 1):  # one call per segment: a short parallel body compiles faster
        _filter_segment(values, out, starts[i], starts[i + 1], weights[which[i]], radius[i], clip, in_place)
    return out


@njit(cache=True, nogil=True)
def _filter_segment(values, out, first, last, w, reach, clip, in_place):
    source = values[first:last]
    _filter(source.copy() if in_place else source, w, reach, out[first:last], clip)


@njit(cache=True, nogil=True)
def _filter(source, w, reach, target, clip):
    """One segment of filter_segments. The interior (snippets whose whole reach lies inside) is done in passes
    over all of its snippets, each adding two pairs of weights in scipy's order (the first pass starts from the
    centre term, the last one clips): loops that vectorise, every snippet still adding its terms in scipy's
    order. The few snippets near the ends fold their reach back (_reflected_sum)."""
    n = source.shape[0]
    inner = n - 2 * reach
    if inner > 0:
        centre, out = source[reach:n - reach], target[reach:n - reach]
        d = reach
        first = True
        while first or d >= 1:
            pairs = min(d, 2)
            near = d - 1 if pairs == 2 else d  # the second pair's distance (unused without one)
            _pass(centre, w[0], first, source[reach - d:n - reach - d], source[reach + d:n - reach + d], w[d],
                  source[reach - near:n - reach - near], source[reach + near:n - reach + near], w[near], pairs,
                  clip and d <= 2, out)
            d -= pairs
            first = False
    for t in range(min(reach, n)):
        target[t] = _reflected_sum(source, w, reach, t, clip)
    for t in range(max(reach, n - reach), n):
        target[t] = _reflected_sum(source, w, reach, t, clip)


@njit(cache=True, nogil=True)
def _pass(centre, centre_weight, first, left, right, weight, near_left, near_right, near_weight, pairs, clip,
          target):
    """One pass of _filter over the interior: target (or, on the first pass, centre x centre_weight) plus
    ``pairs`` (0 to 2) mirrored pairs times their weights, the farther pair first; clipped when ``clip``. The flags
    are the same for every snippet: the compiler makes one loop of each kind."""
    for j in range(target.shape[0]):
        total = centre[j] * centre_weight if first else target[j]
        if pairs >= 1:
            total += (left[j] + right[j]) * weight
        if pairs >= 2:
            total += (near_left[j] + near_right[j]) * near_weight
        target[j] = _clipped(total) if clip else total


@njit(cache=True, nogil=True, inline="always")
def _clipped(value):
    """np.clip(value, 0, 1): numpy's comparisons, max then min, the bound on equal values."""
    value = value if value > 0.0 else 0.0
    return value if value < 1.0 else 1.0


@njit(cache=True, nogil=True)
def _reflected_sum(source, w, reach, t, clip):
    """The filtered value at snippet t near an edge, where the reach folds back into the segment."""
    n = source.shape[0]
    total = source[t] * w[0]
    for d in range(reach, 0, -1):
        total += (source[_reflect(t - d, n)] + source[_reflect(t + d, n)]) * w[d]
    return _clipped(total) if clip else total


@njit(cache=True, nogil=True, inline="always")
def _reflect(index, n):
    """scipy's mode "reflect" (d c b a | a b c d | d c b a), repeated for reaches longer than the segment."""
    if 0 <= index < n:
        return index
    folded = index % (2 * n)
    return folded if folded < n else 2 * n - 1 - folded


@njit(cache=True, nogil=True)
def resample_segments(values, starts, out_starts, placed, origin, spacing):
    """Each segment values[starts[i]:starts[i + 1]] linearly resampled to out_starts[i + 1] - out_starts[i]
    steps (upsample_signal) and clipped to [0, 1] (prepare_signal), into a new array. Where ``placed[i]``, step
    j of segment i sits on level-0 position origin[i] + j spacing[i] (``StepCentres``); elsewhere the windows
    are aligned (upsample_signal's centres=None)."""
    out = np.empty(out_starts[-1])
    for i in range(starts.shape[0] - 1):
        source = values[starts[i]:starts[i + 1]]
        target = out[out_starts[i]:out_starts[i + 1]]
        n, length = source.shape[0], target.shape[0]
        if n == length and (not placed[i] or (origin[i] == 0.0 and spacing[i] == 1.0)):
            for t in range(length):
                target[t] = min(max(source[t], 0.0), 1.0)
            continue
        ratio = n / length
        for t in range(length):
            if placed[i]:
                position = min(max((t - origin[i]) / spacing[i], 0.0), n - 1.0)  # StepCentres.from_level0
            else:
                position = min(max((t + 0.5) * ratio - 0.5, 0.0), n - 1.0)
            left = int(math.floor(position))
            right = min(left + 1, n - 1)
            weight = position - left
            value = source[left] * (1.0 - weight) + source[right] * weight
            target[t] = min(max(value, 0.0), 1.0)
    return out
