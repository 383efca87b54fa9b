"""Small signal generators for the core's tests: (signal (T,), background mask (T,), point t)."""
from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.special import expit


def random_instance(rng: np.random.Generator):
    """Unstructured: smoothed noise, sparse random background, any point."""
    length = int(rng.integers(1, 300))
    signal = np.clip(gaussian_filter1d(rng.random(length), rng.uniform(0.5, 4)) * rng.uniform(0.5, 2), 0, 1)
    background = rng.random(length) < rng.uniform(0.0, 0.2)
    return signal, background, int(rng.integers(0, length))


def realistic_instance(rng: np.random.Generator):
    """An action (plateau or bell, THUMOS-like length in snippets) in a noisy signal; background by threshold."""
    length = int(rng.integers(60, 600))
    duration = float(np.clip(rng.lognormal(np.log(22), 0.8), 3, length / 2))
    centre = rng.uniform(duration / 2, length - duration / 2)
    times = np.arange(length)
    if rng.random() < 0.5:
        shape = expit((duration / 2 - np.abs(times - centre)) / rng.uniform(0.5, 3))
    else:
        shape = np.exp(-0.5 * ((times - centre) / (duration / rng.uniform(2, 5))) ** 2)
    noise = gaussian_filter1d(rng.normal(0, rng.uniform(0.02, 0.2), length), 2)
    signal = np.clip(rng.uniform(0.5, 1.0) * shape + noise + 0.05, 0, 1)
    background = (1 - signal + rng.normal(0, 0.1, length)) > 0.6
    point = int(np.clip(round(centre + rng.normal(0, duration / 8)), 0, length - 1))
    return signal, background, point
