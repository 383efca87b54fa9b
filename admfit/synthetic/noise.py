"""Randomness of the synthetic data: one generator per video, and temporally correlated noise."""
from __future__ import annotations

import zlib

import numpy as np
from scipy.ndimage import gaussian_filter1d

from ..errors import InputError


def video_rng(seed: int, key: str, *salt: str) -> np.random.Generator:
    """The generator of one video: depends on the seed, the video's key and the ``salt`` strings only (seeded by
    ``[seed, crc32(key), crc32(salt)...]``), so a video's data do not depend on which other videos are generated
    with it, nor in which order. The salt gives one video several independent streams (one per kind of draw)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"must be a non-negative integer, got {seed!r}", video=key or None, field="seed")
    return np.random.default_rng([int(seed), *(zlib.crc32(word.encode("utf-8")) for word in (key, *salt))])


def correlated_noise(rng: np.random.Generator, shape: tuple[int, ...], std: float, sigma: float) -> np.ndarray:
    """float32 Gaussian-filtered white noise along axis 0 (time), rescaled to standard deviation ``std``.

    sigma: the filter's width in snippets (about the noise's correlation length).
    """
    white = rng.standard_normal(shape, dtype=np.float32)  # float32: the outputs are float32 anyway
    # A Gaussian filter of width sigma shrinks unit white noise to std (2 sqrt(pi) sigma)^-1/2.
    gain = (2.0 * np.sqrt(np.pi) * sigma) ** 0.5
    return gaussian_filter1d(white, sigma, axis=0, mode="reflect") * np.float32(gain * std)
