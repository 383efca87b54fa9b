"""Signal preparation before the fit (paper 3.4.1, docs/spec.md 1.6).

A detector's last pyramid level is coarse and smooth; its first level is fine. ADM takes the
class signal from the last level, smooths it along time and upsamples it to the first-level
length T, and takes background points from the first level.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange
from scipy.ndimage import gaussian_filter1d

from admfit.levels import StepCentres


def smooth_signal(probs: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian-filter (T_l, C) probabilities along time; ``sigma`` in steps of this signal (0 = copy).

    Edges use scipy's default ``mode="reflect"``, so a signal that is constant near an edge stays so.
    """
    probs = np.asarray(probs, dtype=np.float64)
    if sigma <= 0:
        return probs
    return gaussian_filter1d(probs, sigma=sigma, axis=0)


def upsample_signal(probs: np.ndarray, length: int, centres: StepCentres | None = None) -> np.ndarray:
    """Linearly resample (T_l, ...) values along axis 0 to ``length`` level-0 snippets.

    ``centres`` says where step j of ``probs`` sits on level 0 (``admfit.levels``; for a detector's level l,
    ``Pyramid.level(l)``, e.g. j * 2^l for admfit_torch). Level-0 snippet i samples step position
    ``centres.from_level0(i)``, clamped to the ends. None, for signals that say nothing about their geometry:
    the window centres are aligned, output step i samples input position (i + 0.5) * T_l / length - 0.5
    (``torch.nn.functional.interpolate(mode="linear", align_corners=False)``, under which step j covers
    first-level snippets [j * r, (j + 1) * r), r = length / T_l: ``StepCentres.window_aligned``).
    """
    probs = np.asarray(probs, dtype=np.float64)
    source_length = probs.shape[0]
    if centres is None:
        if source_length == length:
            return probs
        position = (np.arange(length) + 0.5) * (source_length / length) - 0.5
    else:
        if source_length == length and centres.is_identity:
            return probs
        position = centres.from_level0(np.arange(length))
    position = np.clip(position, 0.0, source_length - 1.0)
    left = np.floor(position).astype(np.int64)
    right = np.minimum(left + 1, source_length - 1)
    weight = (position - left).reshape((-1,) + (1,) * (probs.ndim - 1))
    return probs[left] * (1.0 - weight) + probs[right] * weight


# A Gaussian filter of sigma s (steps) divides the standard deviation of white noise by about sqrt(2 sqrt(pi) s).
_WHITE_NOISE_GAIN = 2.0 * np.sqrt(np.pi)


# A value counts as an impulse when it stands this far from its neighbourhood's median: at least this
# much (probability), and at least _SPIKE_NOISES times the signal's own noise level.
_SPIKE_MIN = 0.05
_SPIKE_NOISES = 3.0


def median3(values: np.ndarray) -> np.ndarray:
    """Median of each step and its two neighbours along axis 0 (the ends repeat themselves)."""
    values = np.asarray(values, dtype=np.float64)
    if values.shape[0] < 3:
        return values.copy()
    a, b, c = values[:-2], values[1:-1], values[2:]
    middle = np.maximum(np.minimum(a, b), np.minimum(np.maximum(a, b), c))
    return np.concatenate([values[:1], middle, values[-1:]])


def despike(probs: np.ndarray, noise: np.ndarray | float = 0.0) -> np.ndarray:
    """Replace impulses in probabilities (axis 0 is time) by the median of their three steps.

    An impulse: a value farther from that median than max(0.05, 3 x ``noise``), the column's noise
    level (``noise_level``). A median of three removes every impulse one step wide and leaves
    monotone stretches and steps as they are; replacing only outliers also leaves the rounded top of
    a bell where it was (a plain median would flatten it and move its first maximum).
    """
    probs = np.asarray(probs, dtype=np.float64)
    median = median3(probs)
    limit = np.maximum(_SPIKE_MIN, _SPIKE_NOISES * np.asarray(noise))
    return np.where(np.abs(probs - median) > limit, median, probs)


def noise_level(probs: np.ndarray) -> np.ndarray:
    """Robust standard deviation of the white noise in each column of (T_l, C) probabilities.

    From the first differences: their median absolute value, scaled to a standard deviation and divided
    by sqrt(2). Ramps and steps are few and a probability returns to where it was, so they leave the
    median alone (the differences' own median is ~0 and is not subtracted: one median instead of two);
    a smooth or piecewise-flat signal measures ~0.
    """
    probs = np.asarray(probs, dtype=np.float64)
    if probs.shape[0] < 3:
        return np.zeros(probs.shape[1:])
    return _NOISE_SCALE * np.median(np.abs(np.diff(probs, axis=0)), axis=0)


# A median absolute difference of white noise, scaled to the noise's standard deviation.
_NOISE_SCALE = 1.4826 / np.sqrt(2.0)


def auto_smoothing(noise: np.ndarray, target: float, cap: float) -> np.ndarray:
    """Gaussian sigma (steps) per column that brings white noise of std ``noise`` down to about ``target``."""
    ratio = np.asarray(noise, dtype=np.float64) / target
    sigma = np.where(ratio > 1.0, ratio * ratio / _WHITE_NOISE_GAIN, 0.0)
    return np.minimum(sigma, cap)


def residual_noise(noise: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """The white-noise std left after a Gaussian filter of ``sigma`` steps (unchanged below one step)."""
    return np.asarray(noise) / np.sqrt(np.maximum(1.0, _WHITE_NOISE_GAIN * np.asarray(sigma)))


def prepare_signal(probs: np.ndarray, length: int, smoothing_sigma, centres: StepCentres | None = None) -> np.ndarray:
    """Smooth (T_l, C) probabilities, then upsample them to ``length`` first-level snippets (a new array).

    ``smoothing_sigma``: one sigma for every column, or one per column (steps of ``probs``). ``centres``: where
    the steps of ``probs`` sit on the first level (``upsample_signal``; None: window-aligned).
    """
    sigmas = np.broadcast_to(np.asarray(smoothing_sigma, dtype=np.float64), np.shape(probs)[1:])
    if sigmas.size == 0 or np.all(sigmas == sigmas.flat[0]):
        smoothed = smooth_signal(probs, float(sigmas.flat[0]) if sigmas.size else 0.0)
    else:
        smoothed = np.stack([smooth_signal(np.asarray(probs)[:, c], sigma) for c, sigma in enumerate(sigmas)], axis=1)
    prepared = upsample_signal(smoothed, length, centres)
    if prepared is probs:
        return prepared.copy()
    # Both steps are convex combinations; the clip only removes rounding.
    return np.clip(prepared, 0.0, 1.0, out=prepared)


def background_mask(bg_probs: np.ndarray, threshold: float, points_snippets=(), radius: int = 0) -> np.ndarray:
    """(T,) bool: background probability above ``threshold``, except within ``radius`` snippets of a point.

    The exclusion keeps the augmented point annotations (radius r_a, docs/spec.md 1.6) out of the background.
    """
    mask = np.asarray(bg_probs) > threshold
    points = np.asarray(points_snippets, dtype=np.int64).reshape(-1)
    if points.size:
        clear_around(mask, points, int(radius), np.zeros_like(points), np.full_like(points, mask.shape[0]))
    return mask


@njit(cache=True, nogil=True)
def clear_around(mask, points, radius, low, high):
    """mask[p - radius:p + radius + 1] = False for each point p, kept within [low, high) (its video's snippets)."""
    for i in range(points.shape[0]):
        mask[max(low[i], points[i] - radius):min(high[i], points[i] + radius + 1)] = False


def _sigmas(setting, noise: np.ndarray, config) -> np.ndarray:
    if setting == "auto":
        return auto_smoothing(noise, config.noise_target, config.max_smoothing_sigma)
    return np.full(noise.shape, float(setting))


def prepare_class_signals(probs: np.ndarray, length: int, config,
                          centres: StepCentres | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The class signals of the ADM fit, on ``length`` first-level snippets.

    probs: (T_l, K) probabilities; config: an ADMConfig; centres: where the steps of ``probs`` sit on the first
    level (``upsample_signal``; None: window-aligned). Both signals start despiked (when
    ``config.despike``). Returns:
    - fit (length, K): smoothed by ``config.smoothing_sigma``, then upsampled: what the Gaussian and
      uniform models are fitted to (least squares averages white noise out by itself);
    - locate (length, K): smoothed by ``config.locate_sigma`` (per column from the measured noise when
      'auto'): where the peak t*, the splits between points and the background agreement are read,
      decisions that one noisy snippet could otherwise take;
    - noise (K,): the white-noise std left in ``locate`` (probability), the unit of ``split_min_dip``.
    """
    probs = np.asarray(probs, dtype=np.float64)
    noise = noise_level(probs)  # a median statistic: the few impulses do not move it
    cleaned = despike(probs, noise) if config.despike else probs
    fit = prepare_signal(cleaned, length, _sigmas(config.smoothing_sigma, noise, config), centres)
    locate_sigma = _sigmas(config.locate_sigma, noise, config)
    same = config.locate_sigma == config.smoothing_sigma
    locate = fit if same else prepare_signal(cleaned, length, locate_sigma, centres)
    return fit, locate, residual_noise(noise, locate_sigma)


def prepare_background(bg_probs: np.ndarray, config, points_snippets=()) -> np.ndarray:
    """(T,) bool background mask from (T,) background probabilities: despiked, thresholded, points cleared."""
    bg_probs = np.asarray(bg_probs, dtype=np.float64)
    if config.despike:
        bg_probs = despike(bg_probs, noise_level(bg_probs[:, None])[0])
    return background_mask(bg_probs, config.bg_threshold, points_snippets, config.point_radius)


# ---- The same preparation over segments: many columns of many videos, concatenated (admfit.fit.prepare) ----
# Each function gives bitwise what the per-column functions above give on each segment alone.

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
    level = _NOISE_SCALE * _median_step(segment, work, spare, sample) if measure else 0.0
    if despike_values:
        source = original[:n]
        for t in range(n):  # (a loop: numba's slice assignment compiles string formatting for its error message)
            source[t] = segment[t]
        _despiked(source, max(_SPIKE_MIN, _SPIKE_NOISES * level), segment)
    return level


@njit(cache=True, nogil=True)
def threshold_background(values, despike_values, threshold, work, spare, sample, mask):
    """prepare_background's mask of one video's background probabilities (float64, left as they are), before the
    points are cleared: despiked by their noise level when ``despike_values``, then above ``threshold``. work,
    spare: float64 scratch of their length; sample: float64 (MEDIAN_SAMPLE,)."""
    n = values.shape[0]
    if despike_values and n >= 3 and _despiking_may_cross(values, threshold):
        level = _NOISE_SCALE * _median_step(values, work, spare, sample)
        cleaned = work[:n]
        _despiked(values, max(_SPIKE_MIN, _SPIKE_NOISES * level), cleaned)
        values = cleaned
    for t in range(n):
        mask[t] = values[t] > threshold


@njit(cache=True, nogil=True)
def _despiking_may_cross(values, threshold):
    """Whether despiking could move a value across ``threshold``: some value stands more than _SPIKE_MIN (the least
    limit of despike) from its three-step median, on the other side of the threshold. When none does, the mask is
    the same whatever the noise level: its median (the costly part) is not needed."""
    crossing = False
    for t in range(1, values.shape[0] - 1):
        a, b, c = values[t - 1], values[t], values[t + 1]
        median = max(min(a, b), min(max(a, b), c))
        crossing |= abs(b - median) > _SPIKE_MIN and (b > threshold) != (median > threshold)
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


def smoothing_weights(sigmas: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per segment sigma (steps; 0 = none): (weights table (K, R + 1), row of each segment, radius of each).

    One row per distinct sigma, each gaussian_filter1d's weights from the centre out (_gaussian_weights), computed
    for all sigmas of one radius at once: the same numpy operations on a row each, so the same bits.
    """
    shared, which = np.unique(sigmas, return_inverse=True)
    radii = np.where(shared > 0, (4.0 * shared + 0.5).astype(np.int64), 0)
    table = np.zeros((shared.size, int(radii.max(initial=0)) + 1))
    table[:, 0] = 1.0
    for radius in np.unique(radii[shared > 0]).tolist():
        rows = np.flatnonzero((radii == radius) & (shared > 0))
        table[rows, :radius + 1] = _gaussian_weights(shared[rows], radius)
    return table, which.astype(np.int64), radii[which]


def _gaussian_weights(sigmas: np.ndarray, radius: int) -> np.ndarray:
    """gaussian_filter1d's weights for each of ``sigmas`` (all of this radius), from the centre out, (K, radius + 1):
    scipy's formula and operations (scipy.ndimage's _gaussian_kernel1d at truncate=4), so that they are its weights
    to the bit (tests/core/test_adm_batch.py)."""
    x = np.arange(-radius, radius + 1)
    phi = np.exp((-0.5 / (sigmas * sigmas))[:, None] * (x ** 2)[None, :])
    return (phi / phi.sum(axis=1)[:, None])[:, radius:]


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
