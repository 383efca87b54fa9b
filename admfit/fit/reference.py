"""A plain scipy implementation of docs/spec.md section 1 steps 1.1-1.5, followed literally.

It is the yardstick of the numba core: tests check agreement with it, and
benchmarks/adm_fit.py times it as the baseline. Slow on purpose (numpy per evaluation,
``scipy.optimize.minimize_scalar`` per fit); use :func:`admfit.fit_instances` for real work.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar

LOWER_BOUND = 1e-6


@dataclass(frozen=True)
class ReferenceFit:
    """One point's fit; snippet indices on the signal's grid."""

    t_star: int
    b_s: int
    b_e: int
    sigma: float
    omega: float
    loss_gauss: float
    loss_uniform: float


def reference_bracket(background: np.ndarray, t: int) -> tuple[int, int]:
    before = np.flatnonzero(background[:t])
    after = np.flatnonzero(background[t + 1:])
    b_s = int(before[-1]) if before.size else 0
    b_e = int(t + 1 + after[0]) if after.size else background.shape[0] - 1
    return b_s, b_e


def reference_peak(signal: np.ndarray, t: int, b_s: int, b_e: int, delta: float) -> int:
    d = b_e - b_s
    lo = max(b_s, int(np.floor(t - delta * d)))
    hi = min(b_e, int(np.ceil(t + delta * d)))
    return lo + int(np.argmax(signal[lo:hi + 1]))


def reference_fit(signal: np.ndarray, background: np.ndarray, t: int, *, delta: float = 0.5,
                  xatol: float = 1e-5, maxiter: int = 500, uniform_solver: str = "brent") -> ReferenceFit:
    """Fit one point t (snippet) of one class signal (T,) given a background mask (T,)."""
    signal = np.asarray(signal, dtype=np.float64)
    b_s, b_e = reference_bracket(np.asarray(background, dtype=bool), t)
    t_star = reference_peak(signal, t, b_s, b_e, delta)
    p = signal[t_star]
    times = np.arange(b_s, b_e + 1, dtype=np.float64)
    values = signal[b_s:b_e + 1]
    upper = max(t_star - b_s, b_e - t_star, LOWER_BOUND)

    def gauss(sigma):
        return float(np.sum((p * np.exp(-0.5 * ((times - t_star) / sigma) ** 2) - values) ** 2))

    def uniform(w):
        return float(np.sum((p * (np.abs(times - t_star) <= w) - values) ** 2))

    if upper <= LOWER_BOUND:
        sigma = omega = LOWER_BOUND
    else:
        options = {"xatol": xatol, "maxiter": maxiter}
        sigma = minimize_scalar(gauss, bounds=(LOWER_BOUND, upper), method="bounded", options=options).x
        if uniform_solver == "exact":
            widths = np.arange(0, int(np.floor(upper)) + 1, dtype=np.float64)
            omega = float(widths[int(np.argmin([uniform(w) for w in widths]))])
        else:
            omega = minimize_scalar(uniform, bounds=(LOWER_BOUND, upper), method="bounded", options=options).x
    return ReferenceFit(t_star, b_s, b_e, float(sigma), float(omega), gauss(sigma), uniform(omega))
