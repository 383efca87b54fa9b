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

from .levels import StepCentres


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


# ---- The same preparation over segments: many columns of many videos, concatenated (admfit.batch) ----
# Each function gives bitwise what the per-column functions above give on each segment alone.

@njit(cache=True, parallel=True)
def clean_segments(values, starts, measure, despike_values):
    """noise_level of each segment values[starts[i]:starts[i + 1]] (zeros unless ``measure``), then, when
    ``despike_values``, each segment despiked in place by that level (despike). Returns the (n,) noise levels."""
    count = starts.shape[0] - 1
    noise = np.zeros(count)
    for i in prange(count):
        segment = values[starts[i]:starts[i + 1]]
        n = segment.shape[0]
        if n < 3:
            continue
        if measure:
            noise[i] = _NOISE_SCALE * _median_step(segment)
        if despike_values:
            limit = max(_SPIKE_MIN, _SPIKE_NOISES * noise[i])
            before = segment[0]  # the original value left of t (segment[t - 1] may be replaced already)
            for t in range(1, n - 1):
                a, b, c = before, segment[t], segment[t + 1]
                median = max(min(a, b), min(max(a, b), c))
                before = b
                if abs(b - median) > limit:
                    segment[t] = median
    return noise


@njit(cache=True, nogil=True)
def _median_step(segment):
    """np.median(np.abs(np.diff(segment))), exactly, by radix selection: no comparison-sort branches to mispredict.

    Non-negative doubles order like their bit patterns read as integers: each round of _kth_pattern counts the
    candidates per range of patterns and keeps the range holding the wanted rank; two or three rounds leave a
    handful, sorted. For an even count the upper middle value is found by one more pass.
    """
    steps = np.abs(segment[1:] - segment[:-1])
    m = steps.shape[0]
    rank = (m - 1) // 2
    lower = _kth_pattern(steps.copy().view(np.int64), rank)
    if m % 2:
        return lower
    at_most, above = 0, np.inf
    for value in steps:
        at_most += value <= lower
        if lower < value < above:
            above = value
    return (lower + (lower if at_most > rank + 1 else above)) / 2


@njit(cache=True, nogil=True)
def _kth_pattern(patterns, rank):
    """The rank-th smallest (0-based) of doubles in [0, 1] given as int64 bit patterns, as a float (reorders).

    Round one buckets by exponent and two mantissa bits (4096 buckets cover [0, 1]); later rounds split the
    kept candidates' own range of patterns in 1024. Compaction without branches: a kept flag adds to the count.
    """
    m = patterns.shape[0]
    counts = np.zeros(4096, np.int64)
    shift, low = 50, 0
    while m > 32:
        for j in range(m):
            counts[(patterns[j] - low) >> shift] += 1
        bucket = 0
        while rank >= counts[bucket]:
            rank -= counts[bucket]
            bucket += 1
        kept = 0
        for j in range(m):
            pattern = patterns[j]
            patterns[kept] = pattern
            kept += ((pattern - low) >> shift) == bucket
        m = kept
        low, high = patterns[0], patterns[0]
        for j in range(m):
            low = min(low, patterns[j])
            high = max(high, patterns[j])
        if low == high:  # all equal (a flat stretch): any of them
            m, rank = 1, 0
            break
        shift = 0
        while (high - low) >> shift >= 1024:
            shift += 1
        counts[:1024] = 0
    for j in range(1, m):  # at most 32 left: insertion sort (numba's np.sort costs seconds of compilation)
        pattern = patterns[j]
        k = j
        while k > 0 and patterns[k - 1] > pattern:
            patterns[k] = patterns[k - 1]
            k -= 1
        patterns[k] = pattern
    return patterns[:m].view(np.float64)[rank]


def smooth_segments(values: np.ndarray, starts: np.ndarray, sigmas: np.ndarray) -> np.ndarray:
    """Each segment Gaussian-filtered by its own sigma (smooth_signal; 0 = unchanged); ``values`` when all are 0."""
    if not np.any(sigmas > 0):
        return values
    shared, which = np.unique(sigmas, return_inverse=True)
    weights = [_gaussian_weights(sigma) for sigma in shared.tolist()]
    table = np.zeros((len(weights), max(w.size for w in weights)))
    for row, w in zip(table, weights):
        row[:w.size] = w
    radius = np.array([w.size - 1 for w in weights], dtype=np.int64)[which]
    return _filter_segments(values, starts, table, which.astype(np.int64), radius)


def _gaussian_weights(sigma: float) -> np.ndarray:
    """gaussian_filter1d's weights for ``sigma``, from the centre out, (radius + 1,): scipy's formula and operations
    (scipy.ndimage's _gaussian_kernel1d at truncate=4), so that they are its weights to the bit."""
    if sigma <= 0:
        return np.ones(1)
    radius = int(4.0 * sigma + 0.5)
    x = np.arange(-radius, radius + 1)
    phi = np.exp(-0.5 / (sigma * sigma) * x ** 2)
    return (phi / phi.sum())[radius:]


@njit(cache=True, parallel=True)
def _filter_segments(values, starts, weights, which, radius):
    """scipy.ndimage.gaussian_filter1d (mode "reflect") of each segment with weights[which[i]] (radius[i] + 1 of
    them, centre first), in scipy's order of operations: the centre term, then each pair of mirrored values times
    their weight, the farthest pair first. Radius 0 copies."""
    out = np.empty_like(values)
    for i in prange(starts.shape[0] - 1):
        source = values[starts[i]:starts[i + 1]]
        target = out[starts[i]:starts[i + 1]]
        n, reach, w = source.shape[0], radius[i], weights[which[i]]
        for t in range(n):
            total = source[t] * w[0]
            if reach <= t < n - reach:  # the whole reach inside: no reflection
                for d in range(reach, 0, -1):
                    total += (source[t - d] + source[t + d]) * w[d]
            else:
                for d in range(reach, 0, -1):
                    total += (source[_reflect(t - d, n)] + source[_reflect(t + d, n)]) * w[d]
            target[t] = total
    return out


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
