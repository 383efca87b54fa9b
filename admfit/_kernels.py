"""Numba kernels of the ADM fit (SPEC section 1). Private: the public wrappers live in admfit.fitting.

All indices are 0-based snippet indices on the first-level grid. One instance is fitted by
``_fit_one``; ``fit_batch`` runs it over many instances in parallel (``prange``), each instance
independent, so the result does not depend on the number of threads.

Two speed-ups over a literal port of scipy's fminbound (measured in benchmarks/adm_fit.py):
- Gaussian loss: on the integer grid exp(-k^2 / (2 sigma^2)) follows the recurrence
  g_k = g_{k-1} * a^(2k-1), a = exp(-1 / (2 sigma^2)), so one evaluation costs one ``exp``
  (plus one every ``_REANCHOR`` steps to stop rounding from accumulating), and the loop stops
  once the kernel has decayed below ``_G_NEGLIGIBLE``: beyond that the loss is sum(s^2), known.
- Uniform loss: prefix sums of s over the bracket make each evaluation O(1).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

GAUSS_LITERAL = 0      # one exp per snippet: the literal loss, for the benchmark and checks
GAUSS_RECURRENCE = 1   # one exp per evaluation
UNIFORM_LITERAL = 0    # a pass over the bracket per evaluation, bitwise equal to the reference
UNIFORM_PREFIX = 1     # O(1) per evaluation after O(|beta|) prefix sums
SOLVER_BRENT = 0
SOLVER_EXACT = 1

KIND_GAUSS = 0
KIND_UNIFORM = 1

_LB = 1e-6
_REANCHOR = 64
# exp(-k^2/2s^2) below this adds < 1e-20 per snippet to a loss of order sum(s^2): invisible in float64.
_G_NEGLIGIBLE = 1e-20
_SQRT_EPS = math.sqrt(2.2e-16)
_GOLDEN_MEAN = 0.5 * (3.0 - math.sqrt(5.0))

# Output columns of fit_batch, float64.
COL_T_STAR, COL_B_S, COL_B_E, COL_SIGMA, COL_OMEGA, COL_START, COL_END, COL_SCORE, COL_STATUS = range(9)
N_COLS = 9


@njit(cache=True, nogil=True)
def bracket(background, t):
    """(b_s, b_e): nearest background snippets strictly before / after t; 0 / T-1 if none."""
    b_s = 0
    for j in range(t - 1, -1, -1):
        if background[j]:
            b_s = j
            break
    b_e = background.shape[0] - 1
    for j in range(t + 1, background.shape[0]):
        if background[j]:
            b_e = j
            break
    return b_s, b_e


@njit(cache=True, nogil=True)
def peak(signal, t, b_s, b_e, delta):
    """t*: first index of the maximum of signal on [lo, hi] (eq. 8, outward rounding)."""
    d = b_e - b_s
    lo = max(b_s, int(math.floor(t - delta * d)))
    hi = min(b_e, int(math.ceil(t + delta * d)))
    best = lo
    for j in range(lo + 1, hi + 1):
        if signal[j] > signal[best]:
            best = j
    return best


@njit(cache=True, nogil=True)
def _residual_sq(kind, t, x, signal, t_star, p):
    """One term of the literal loss, with the reference's operation order (bitwise equal terms)."""
    if kind == KIND_GAUSS:
        z = (t - t_star) / x
        r = p * math.exp(-0.5 * (z * z)) - signal[t]
    else:
        r = (p if abs(t - t_star) <= x else 0.0) - signal[t]
    return r * r


@njit(cache=True, nogil=True)
def _pairwise_loss(kind, x, signal, t_star, p, lo, n):
    """sum of _residual_sq over t in [lo, lo + n), summed in numpy's pairwise order.

    np.sum adds in blocks of eight accumulators and halves above 128 terms; repeating that
    order makes the literal uniform loss bitwise equal to the reference's, which matters:
    Brent on a step function breaks exact ties in its parabola test by rounding, so any other
    summation order sends it to another point of the same plateau in a few percent of fits.
    """
    if n < 8:
        res = 0.0
        for t in range(lo, lo + n):
            res += _residual_sq(kind, t, x, signal, t_star, p)
        return res
    if n <= 128:
        acc = np.empty(8)
        for j in range(8):
            acc[j] = _residual_sq(kind, lo + j, x, signal, t_star, p)
        i = 8
        whole = n - (n % 8)
        while i < whole:
            for j in range(8):
                acc[j] += _residual_sq(kind, lo + i + j, x, signal, t_star, p)
            i += 8
        res = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
        while i < n:
            res += _residual_sq(kind, lo + i, x, signal, t_star, p)
            i += 1
        return res
    half = n // 2
    half -= half % 8
    return (_pairwise_loss(kind, x, signal, t_star, p, lo, half)
            + _pairwise_loss(kind, x, signal, t_star, p, lo + half, n - half))


@njit(cache=True, nogil=True)
def gauss_loss(sigma, signal, b_s, b_e, t_star, p, sum_sq, mode):
    """f_G(sigma) = sum_{t in [b_s, b_e]} (p exp(-(t - t*)^2 / (2 sigma^2)) - s[t])^2; sum_sq = sum s[t]^2."""
    if mode == GAUSS_LITERAL:
        return _pairwise_loss(KIND_GAUSS, sigma, signal, t_star, p, b_s, b_e - b_s + 1)
    # sum (p g - s)^2 = sum s^2 + sum g (p^2 g - 2 p s): only the terms where g matters.
    total = sum_sq + p * p - 2.0 * p * signal[t_star]
    inv = 0.5 / (sigma * sigma)
    a = math.exp(-inv)
    a2 = a * a
    g = 1.0
    ratio = a
    reach = max(t_star - b_s, b_e - t_star)
    for k in range(1, reach + 1):
        if k % _REANCHOR == 0:
            g = math.exp(-inv * k * k)
            ratio = math.exp(-inv * (2 * k + 1))
        else:
            g *= ratio
            ratio *= a2
        if g < _G_NEGLIGIBLE:
            break
        pg = p * g
        if t_star + k <= b_e:
            total += pg * (pg - 2.0 * signal[t_star + k])
        if t_star - k >= b_s:
            total += pg * (pg - 2.0 * signal[t_star - k])
    return total


@njit(cache=True, nogil=True)
def uniform_loss(w, signal, prefix, b_s, b_e, t_star, p, sum_sq, mode):
    """f_U(w) = sum_{t in [b_s, b_e]} (p [|t - t*| <= w] - s[t])^2; prefix[i] = sum(s[b_s:b_s+i])."""
    if mode == UNIFORM_LITERAL:
        return _pairwise_loss(KIND_UNIFORM, w, signal, t_star, p, b_s, b_e - b_s + 1)
    half = int(math.floor(w))
    lo = max(b_s, t_star - half)
    hi = min(b_e, t_star + half)
    inside = prefix[hi + 1 - b_s] - prefix[lo - b_s]
    return sum_sq + (hi - lo + 1) * p * p - 2.0 * p * inside


@njit(cache=True, nogil=True)
def _loss(kind, x, signal, prefix, b_s, b_e, t_star, p, sum_sq, mode):
    if kind == KIND_GAUSS:
        return gauss_loss(x, signal, b_s, b_e, t_star, p, sum_sq, mode)
    return uniform_loss(x, signal, prefix, b_s, b_e, t_star, p, sum_sq, mode)


@njit(cache=True, nogil=True)
def brent_bounded(kind, lower, upper, xatol, maxiter, signal, prefix, b_s, b_e, t_star, p, sum_sq, mode):
    """Bounded Brent, step for step scipy.optimize.minimize_scalar(method="bounded") (fminbound).

    Returns (x, f(x), number of evaluations, status): status 0 converged, 1 maxiter reached.
    """
    a = lower
    b = upper
    fulc = a + _GOLDEN_MEAN * (b - a)
    nfc = fulc
    xf = fulc
    rat = 0.0
    e = 0.0
    x = xf
    fx = _loss(kind, x, signal, prefix, b_s, b_e, t_star, p, sum_sq, mode)
    num = 1
    ffulc = fx
    fnfc = fx
    xm = 0.5 * (a + b)
    tol1 = _SQRT_EPS * abs(xf) + xatol / 3.0
    tol2 = 2.0 * tol1
    status = 0
    while abs(xf - xm) > (tol2 - 0.5 * (b - a)):
        golden = True
        if abs(e) > tol1:
            golden = False
            r = (xf - nfc) * (fx - ffulc)
            q = (xf - fulc) * (fx - fnfc)
            pp = (xf - fulc) * q - (xf - nfc) * r
            q = 2.0 * (q - r)
            if q > 0.0:
                pp = -pp
            q = abs(q)
            r = e
            e = rat
            if abs(pp) < abs(0.5 * q * r) and pp > q * (a - xf) and pp < q * (b - xf):
                rat = (pp + 0.0) / q
                x = xf + rat
                if (x - a) < tol2 or (b - x) < tol2:
                    si = np.sign(xm - xf) + (1.0 if xm - xf == 0 else 0.0)
                    rat = tol1 * si
            else:
                golden = True
        if golden:
            if xf >= xm:
                e = a - xf
            else:
                e = b - xf
            rat = _GOLDEN_MEAN * e
        si = np.sign(rat) + (1.0 if rat == 0 else 0.0)
        x = xf + si * max(abs(rat), tol1)
        fu = _loss(kind, x, signal, prefix, b_s, b_e, t_star, p, sum_sq, mode)
        num += 1
        if fu <= fx:
            if x >= xf:
                a = xf
            else:
                b = xf
            fulc, ffulc = nfc, fnfc
            nfc, fnfc = xf, fx
            xf, fx = x, fu
        else:
            if x < xf:
                a = x
            else:
                b = x
            if fu <= fnfc or nfc == xf:
                fulc, ffulc = nfc, fnfc
                nfc, fnfc = x, fu
            elif fu <= ffulc or fulc == xf or fulc == nfc:
                fulc, ffulc = x, fu
        xm = 0.5 * (a + b)
        tol1 = _SQRT_EPS * abs(xf) + xatol / 3.0
        tol2 = 2.0 * tol1
        if num >= maxiter:
            status = 1
            break
    return xf, fx, num, status


@njit(cache=True, nogil=True)
def uniform_exact(signal, prefix, b_s, b_e, t_star, p, sum_sq, upper):
    """Global minimum of f_U over integer w in {0, ..., floor(upper)}; smallest w on ties."""
    best_w = 0
    best_f = uniform_loss(0.0, signal, prefix, b_s, b_e, t_star, p, sum_sq, UNIFORM_PREFIX)
    for half in range(1, int(math.floor(upper)) + 1):
        f = uniform_loss(float(half), signal, prefix, b_s, b_e, t_star, p, sum_sq, UNIFORM_PREFIX)
        if f < best_f:
            best_f = f
            best_w = half
    return float(best_w), best_f


@njit(cache=True, nogil=True)
def fit_one(signal, background, t, delta, g1, g2, xatol, maxiter, solver, gauss_mode, uniform_mode, out):
    """Fit one point t of one class signal (T,) against a background mask (T,); fill out[N_COLS]."""
    n = signal.shape[0]
    b_s, b_e = bracket(background, t)
    t_star = peak(signal, t, b_s, b_e, delta)
    p = signal[t_star]
    upper = max(max(t_star - b_s, b_e - t_star), _LB)
    prefix = np.empty(b_e - b_s + 2)
    prefix[0] = 0.0
    sum_sq = 0.0
    for j in range(b_s, b_e + 1):
        prefix[j - b_s + 1] = prefix[j - b_s] + signal[j]
        sum_sq += signal[j] * signal[j]
    status = 0
    if upper <= _LB:
        sigma = _LB
        omega = _LB
    else:
        sigma, _, _, status_g = brent_bounded(KIND_GAUSS, _LB, upper, xatol, maxiter, signal, prefix,
                                              b_s, b_e, t_star, p, sum_sq, gauss_mode)
        if solver == SOLVER_EXACT:
            omega, _ = uniform_exact(signal, prefix, b_s, b_e, t_star, p, sum_sq, upper)
            status_u = 0
        else:
            omega, _, _, status_u = brent_bounded(KIND_UNIFORM, _LB, upper, xatol, maxiter, signal, prefix,
                                                  b_s, b_e, t_star, p, sum_sq, uniform_mode)
        status = status_g + 2 * status_u
    half_width = g1 * sigma + g2 * omega
    out[COL_T_STAR] = t_star
    out[COL_B_S] = b_s
    out[COL_B_E] = b_e
    out[COL_SIGMA] = sigma
    out[COL_OMEGA] = omega
    out[COL_START] = max(0.0, t_star - half_width)
    out[COL_END] = min(n - 1.0, t_star + half_width)
    out[COL_SCORE] = p
    out[COL_STATUS] = status


@njit(cache=True, parallel=True)
def fit_batch(signals_by_class, background, video_start, video_length, point, label,
              delta, g1, g2, xatol, maxiter, solver, gauss_mode, uniform_mode):
    """Fit many instances at once.

    signals_by_class: (C, sum_T) float64, every video's class signals concatenated along time.
    background: (sum_T,) bool. Per instance i: video_start[i], video_length[i] locate its video in the
    concatenation; point[i] is its snippet index within the video and label[i] its class.
    Returns (N, N_COLS) float64; snippet columns are relative to the instance's video.
    """
    n_inst = point.shape[0]
    out = np.empty((n_inst, N_COLS))
    for i in prange(n_inst):
        lo = video_start[i]
        hi = lo + video_length[i]
        fit_one(signals_by_class[label[i], lo:hi], background[lo:hi], point[i], delta, g1, g2,
                xatol, maxiter, solver, gauss_mode, uniform_mode, out[i])
    return out
