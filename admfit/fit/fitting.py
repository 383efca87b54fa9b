"""The building blocks of one ADM fit, public: bracket, peak, Gaussian and uniform fits.

Each takes one class signal ``s`` (T,) of probabilities on the first-level snippet grid and
snippet indices (0-based). They validate their arguments and return plain values or a
:class:`ScalarFit`, in the manner of ``scipy.optimize.minimize_scalar``. For many instances use
:func:`admfit.fit_instances`, which runs the same kernels in parallel.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from admfit.fit._kernels import adm as K
from admfit.fit.config import UniformSolver

LOWER_BOUND = K._LB
_MESSAGES = {0: "Solution found.", 1: "Maximum number of function calls reached."}


@dataclass(frozen=True)
class ScalarFit:
    """Result of a bounded one-dimensional fit (sigma or omega, in snippets).

    x: the minimiser; fun: the MSE loss there; nfev: loss evaluations; status: 0 converged,
    1 maxiter reached; lower/upper: the bounds searched (eq. 10).
    """

    x: float
    fun: float
    nfev: int
    status: int
    lower: float
    upper: float

    @property
    def success(self) -> bool:
        return self.status == 0

    @property
    def message(self) -> str:
        return _MESSAGES[self.status]


def _as_signal(signal) -> np.ndarray:
    array = np.ascontiguousarray(signal, dtype=np.float64)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"signal must be a non-empty 1-D array, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError("signal holds NaN or inf")
    return array


def _check_index(name: str, value: int, length: int) -> int:
    if not 0 <= int(value) < length:
        raise ValueError(f"{name}={value} is outside the signal [0, {length - 1}]")
    return int(value)


def find_bracket(background, t: int) -> tuple[int, int]:
    """beta = (b_s, b_e): the nearest background snippets strictly before and after t (docs/spec.md 1.1).

    ``background`` is a (T,) bool mask; with no background before (after) t, b_s = 0 (b_e = T - 1).
    """
    mask = np.ascontiguousarray(background, dtype=np.bool_)
    t = _check_index("t", t, mask.shape[0])
    b_s, b_e = K.bracket(mask, t)
    return int(b_s), int(b_e)


def find_peak(signal, t: int, b_s: int, b_e: int, delta: float = 0.5) -> int:
    """t*: the first maximum of ``signal`` within beta and within delta * (b_e - b_s) of t (eq. 8)."""
    values = _as_signal(signal)
    b_s, b_e = _check_bracket(b_s, b_e, values.shape[0])
    t = _check_index("t", t, values.shape[0])
    if not b_s <= t <= b_e:
        raise ValueError(f"t={t} is outside the bracket [{b_s}, {b_e}]")
    if not 0.0 < delta <= 1.0:
        raise ValueError(f"delta={delta} must be in (0, 1]")
    return int(K.peak(values, t, b_s, b_e, float(delta)))


def _check_bracket(b_s: int, b_e: int, length: int) -> tuple[int, int]:
    b_s = _check_index("b_s", b_s, length)
    b_e = _check_index("b_e", b_e, length)
    if b_s > b_e:
        raise ValueError(f"b_s={b_s} exceeds b_e={b_e}")
    return b_s, b_e


def _fit_setup(signal, t_star: int, b_s: int, b_e: int, xatol: float, maxiter: int):
    values = _as_signal(signal)
    b_s, b_e = _check_bracket(b_s, b_e, values.shape[0])
    t_star = _check_index("t_star", t_star, values.shape[0])
    if not b_s <= t_star <= b_e:
        raise ValueError(f"t_star={t_star} is outside the bracket [{b_s}, {b_e}]")
    if not xatol > 0:
        raise ValueError(f"xatol={xatol} must be > 0")
    if int(maxiter) < 1:
        raise ValueError(f"maxiter={maxiter} must be >= 1")
    work, sum_sq = K.workspace(values, b_s, b_e, t_star)
    upper = max(float(max(t_star - b_s, b_e - t_star)), LOWER_BOUND)
    return values, b_s, b_e, t_star, work, sum_sq, upper


def fit_gaussian(signal, t_star: int, b_s: int, b_e: int, *, xatol: float = 1e-5,
                 maxiter: int = 500) -> ScalarFit:
    """sigma minimising sum_{t in beta} (s[t*] exp(-(t - t*)^2 / 2 sigma^2) - s[t])^2 on [1e-6, ub] (eqs. 9-11).

    Bounded Brent, step for step ``scipy.optimize.minimize_scalar(method="bounded")``.
    """
    values, b_s, b_e, t_star, work, sum_sq, upper = _fit_setup(signal, t_star, b_s, b_e, xatol, maxiter)
    p = values[t_star]
    if upper <= LOWER_BOUND:
        loss = K.gauss_loss(LOWER_BOUND, values, work, b_s, b_e, t_star, p, sum_sq, K.GAUSS_RECURRENCE)
        return ScalarFit(LOWER_BOUND, float(loss), 1, 0, LOWER_BOUND, upper)
    x, fun, nfev, status = K.brent_bounded(K.KIND_GAUSS, LOWER_BOUND, upper, float(xatol), int(maxiter), values,
                                           work, b_s, b_e, t_star, p, sum_sq, K.GAUSS_RECURRENCE)
    return ScalarFit(float(x), float(fun), int(nfev), int(status), LOWER_BOUND, upper)


def fit_uniform(signal, t_star: int, b_s: int, b_e: int, *, solver: UniformSolver = "exact",
                xatol: float = 1e-5, maxiter: int = 500) -> ScalarFit:
    """omega minimising sum_{t in beta} (s[t*] [|t - t*| <= omega] - s[t])^2 on [1e-6, ub] (eq. 12).

    ``solver="exact"``: the global minimum over integer omega in {0, ..., floor(ub)} (the loss is
    a step function of omega), smallest on ties, in O(|beta|). ``solver="brent"``: bounded Brent
    as in the paper; it can stop on a worse step than the exact optimum.
    """
    if solver not in ("exact", "brent"):
        raise ValueError(f"solver={solver!r} must be 'exact' or 'brent'")
    values, b_s, b_e, t_star, work, sum_sq, upper = _fit_setup(signal, t_star, b_s, b_e, xatol, maxiter)
    p = values[t_star]
    if upper <= LOWER_BOUND:
        loss = K.uniform_loss(LOWER_BOUND, values, work, b_s, b_e, t_star, p, sum_sq, K.UNIFORM_PREFIX)
        return ScalarFit(LOWER_BOUND, float(loss), 1, 0, LOWER_BOUND, upper)
    if solver == "exact":
        x, fun = K.uniform_exact(values, work, b_s, b_e, t_star, p, sum_sq, upper)
        return ScalarFit(float(x), float(fun), int(np.floor(upper)) + 1, 0, LOWER_BOUND, upper)
    x, fun, nfev, status = K.brent_bounded(K.KIND_UNIFORM, LOWER_BOUND, upper, float(xatol), int(maxiter), values,
                                           work, b_s, b_e, t_star, p, sum_sq, K.UNIFORM_LITERAL)
    return ScalarFit(float(x), float(fun), int(nfev), int(status), LOWER_BOUND, upper)
