"""The numba core against the literal scipy reference (docs/spec.md 1.9)."""
from __future__ import annotations

import numpy as np
import pytest

from admfit import ADMConfig, fit_instances
from admfit.fit.reference import reference_fit

from .signals import random_instance, realistic_instance


def _cases(maker, count, seed):
    rng = np.random.default_rng(seed)
    return [maker(rng) for _ in range(count)]


def _fit_each(cases, solver):
    probs = {str(i): s[:, None] for i, (s, bg, t) in enumerate(cases)}
    masks = {str(i): bg for i, (s, bg, t) in enumerate(cases)}
    points = {str(i): [[t, 0]] for i, (s, bg, t) in enumerate(cases)}
    config = ADMConfig(uniform_solver=solver, smoothing_sigma=0.0, locate_sigma=0.0, despike=False, bg_agreement=0.0)
    return fit_instances(probs, points, background=masks, config=config)


@pytest.mark.parametrize("solver", ["brent", "exact"])
@pytest.mark.parametrize("maker,count,seed", [(random_instance, 1200, 1), (realistic_instance, 1200, 2)],
                         ids=["random", "realistic"])
def test_agrees_with_scipy_reference(maker, count, seed, solver):
    cases = _cases(maker, count, seed)
    fits = _fit_each(cases, solver)
    omega_misses = 0
    for (signal, background, t), fit in zip(cases, fits):
        ref = reference_fit(signal, background, t, uniform_solver=solver)
        upper = max(ref.t_star - ref.b_s, ref.b_e - ref.t_star, 1e-6)
        assert (fit.b_s, fit.b_e, fit.t_star) == (ref.b_s, ref.b_e, ref.t_star)
        assert abs(fit.sigma - ref.sigma) <= 1e-4 * upper
        if abs(fit.omega - ref.omega) > 1e-4 * upper:
            omega_misses += 1
    # docs/spec.md 1.9 allows 0.1 % of omega to land on a neighbouring plateau.
    assert omega_misses <= 0.001 * count


def test_exact_uniform_is_never_worse_than_brent():
    cases = _cases(realistic_instance, 300, 3)
    worse = 0
    for signal, background, t in cases:
        exact = reference_fit(signal, background, t, uniform_solver="exact")
        brent = reference_fit(signal, background, t, uniform_solver="brent")
        assert exact.loss_uniform <= brent.loss_uniform + 1e-12
        worse += brent.loss_uniform > exact.loss_uniform + 1e-12
    # Brent stops on a worse step in a sizeable share of realistic fits (docs/spec.md 1.5: about one in five).
    assert worse > 0


@pytest.mark.parametrize("length", [1, 7, 8, 9, 127, 128, 129, 300, 1000, 2049])
def test_literal_uniform_loss_is_bitwise_numpy_sum(length):
    from admfit.fit._kernels import adm as K
    rng = np.random.default_rng(length)
    signal = rng.random(length)
    t_star = int(rng.integers(0, length))
    work, sum_sq = K.workspace(signal, 0, length - 1, t_star)
    times = np.arange(length, dtype=np.float64)
    p = signal[t_star]
    for w in (1e-6, 0.5, 3.7, length / 3, float(length)):
        reference = float(np.sum((p * (np.abs(times - t_star) <= w) - signal) ** 2))
        # Twice: the second value comes from the per-width cache and must be the same bits.
        for _ in range(2):
            assert K.uniform_loss(w, signal, work, 0, length - 1, t_star, p, sum_sq, K.UNIFORM_LITERAL) == reference
