"""Signal preparation before the fit (paper 3.4.1, SPEC 1.6).

A detector's last pyramid level is coarse and smooth; its first level is fine. ADM takes the
class signal from the last level, smooths it along time and upsamples it to the first-level
length T, and takes background points from the first level.
"""
from __future__ import annotations

import numpy as np
from numba import njit
from scipy.ndimage import gaussian_filter1d


def smooth_signal(probs: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian-filter (T_l, C) probabilities along time; ``sigma`` in steps of this signal (0 = copy).

    Edges use scipy's default ``mode="reflect"``, so a signal that is constant near an edge stays so.
    """
    probs = np.asarray(probs, dtype=np.float64)
    if sigma <= 0:
        return probs
    return gaussian_filter1d(probs, sigma=sigma, axis=0)


def upsample_signal(probs: np.ndarray, length: int) -> np.ndarray:
    """Linearly resample (T_l, C) to (length, C), keeping the centres of the windows aligned.

    Output step i samples input position (i + 0.5) * T_l / length - 0.5, clamped to the ends:
    the convention of ``torch.nn.functional.interpolate(mode="linear", align_corners=False)``,
    under which level-l snippet j covers first-level snippets [j * r, (j + 1) * r).
    """
    probs = np.asarray(probs, dtype=np.float64)
    source_length = probs.shape[0]
    if source_length == length:
        return probs
    position = (np.arange(length) + 0.5) * (source_length / length) - 0.5
    position = np.clip(position, 0.0, source_length - 1.0)
    left = np.floor(position).astype(np.int64)
    right = np.minimum(left + 1, source_length - 1)
    weight = (position - left)[:, None]
    return probs[left] * (1.0 - weight) + probs[right] * weight


def prepare_signal(probs: np.ndarray, length: int, smoothing_sigma: float) -> np.ndarray:
    """Smooth (T_l, C) probabilities, then upsample them to ``length`` first-level snippets (a new array)."""
    prepared = upsample_signal(smooth_signal(probs, smoothing_sigma), length)
    if prepared is probs:
        return prepared.copy()
    # Both steps are convex combinations; the clip only removes rounding.
    return np.clip(prepared, 0.0, 1.0, out=prepared)


def background_mask(bg_probs: np.ndarray, threshold: float, points_snippets=(), radius: int = 0) -> np.ndarray:
    """(T,) bool: background probability above ``threshold``, except within ``radius`` snippets of a point.

    The exclusion keeps the augmented point annotations (radius r_a, SPEC 1.6) out of the background.
    """
    mask = np.asarray(bg_probs) > threshold
    points = np.asarray(points_snippets, dtype=np.int64).reshape(-1)
    if points.size:
        _clear_around(mask, points, int(radius))
    return mask


@njit(cache=True, nogil=True)
def _clear_around(mask, points, radius):
    length = mask.shape[0]
    for point in points:
        mask[max(0, point - radius):min(length, point + radius + 1)] = False
