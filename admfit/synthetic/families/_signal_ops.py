"""Small operations shared by the independent signal family and the degradations (logit space, AR(1), seeding)."""
from __future__ import annotations

import numpy as np
from scipy.signal import lfilter
from scipy.special import expit, logit

from ..noise import video_rng  # noqa: F401 (the families' seeding: one generator per video and salt)

# Probabilities are kept this far from 0 and 1 before taking logits, so that a value written as exactly
# 0 or 1 (a quantised or clipped export) maps to a finite logit (+-13.8).
PROB_FLOOR = 1e-6


def to_logit(probs: np.ndarray) -> np.ndarray:
    return logit(np.clip(probs, PROB_FLOOR, 1.0 - PROB_FLOOR))


def to_prob(logits: np.ndarray) -> np.ndarray:
    return expit(logits).astype(np.float64)


def ar1_noise(rng: np.random.Generator, shape: tuple[int, ...], sigma: float, tau_snippets: float) -> np.ndarray:
    """Stationary AR(1) noise along axis 0: standard deviation ``sigma``, correlation time ``tau_snippets``
    (the lag-k correlation is exp(-k / tau_snippets))."""
    phi = float(np.exp(-1.0 / max(tau_snippets, 1e-9)))
    innovations = rng.standard_normal(shape)
    gain = np.sqrt(1.0 - phi * phi)
    # Scaling the first innovation by 1/gain starts the recursion in its stationary distribution.
    innovations[:1] /= gain
    return sigma * lfilter([gain], [1.0, -phi], innovations, axis=0)


def soft_box(index: np.ndarray, start: float, end: float, edge_snippets: float) -> np.ndarray:
    """~1 inside [start, end] (fractional snippets), ~0 outside, logistic edges ``edge_snippets`` wide."""
    edge = max(edge_snippets, 1e-3)
    return expit((index - start) / edge) * expit((end - index) / edge)


def pool_mean(probs: np.ndarray, factor: int) -> np.ndarray:
    """Average-pool axis 0 by ``factor`` into ceil(T / factor) steps; the last step averages what is left."""
    starts = np.arange(0, probs.shape[0], factor)
    counts = np.minimum(starts + factor, probs.shape[0]) - starts
    return np.add.reduceat(probs, starts, axis=0) / counts[:, None]
