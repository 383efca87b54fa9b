"""Signal preparation before the fit (paper 3.4.1, docs/spec.md 1.6).

A detector's last pyramid level is coarse and smooth; its first level is fine. ADM takes the
class signal from the last level, smooths it along time and upsamples it to the first-level
length T, and takes background points from the first level.

These numpy / scipy functions are the interface and the reference: admfit.fit.prepare does the same for every
video of a fit at once with the numba kernels of admfit.fit._kernels.signal, bitwise equal.
"""
from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d

from admfit.fit._kernels.signal import NOISE_SCALE, SPIKE_MIN, SPIKE_NOISES, clear_around
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
    limit = np.maximum(SPIKE_MIN, SPIKE_NOISES * np.asarray(noise))
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
    return NOISE_SCALE * np.median(np.abs(np.diff(probs, axis=0)), axis=0)


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
        clear_around(mask, points, int(radius))
    return mask


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
    return class_signals(config, noise, lambda sigmas, in_place: prepare_signal(cleaned, length, sigmas, centres))


def class_signals(config, noise: np.ndarray, smooth) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """prepare_class_signals' (fit, locate, noise) from K cleaned columns, whatever holds them (one video here,
    the segments of many in admfit.fit.prepare). noise: (K,) their noise levels; ``smooth(sigmas, in_place)``
    smooths each column by its sigma (steps), then upsamples it: one signal when both settings are the same,
    which may then overwrite the columns (``in_place``)."""
    fit_sigma = _sigmas(config.smoothing_sigma, noise, config)
    locate_sigma = _sigmas(config.locate_sigma, noise, config)
    if config.locate_sigma == config.smoothing_sigma:
        fit = locate = smooth(fit_sigma, True)
    else:
        fit, locate = smooth(fit_sigma, False), smooth(locate_sigma, False)
    return fit, locate, residual_noise(noise, locate_sigma)


def prepare_background(bg_probs: np.ndarray, config, points_snippets=()) -> np.ndarray:
    """(T,) bool background mask from (T,) background probabilities: despiked, thresholded, points cleared."""
    bg_probs = np.asarray(bg_probs, dtype=np.float64)
    if config.despike:
        bg_probs = despike(bg_probs, noise_level(bg_probs[:, None])[0])
    return background_mask(bg_probs, config.bg_threshold, points_snippets, config.point_radius)


# The weights of the segment filter (admfit.fit._kernels.signal.filter_segments, admfit.fit.prepare).

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
