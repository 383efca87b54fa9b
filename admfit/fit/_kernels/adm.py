"""Numba kernels of the ADM fit (docs/spec.md section 1). Private: the public wrappers live in admfit.fit.fitting
(one step of one fit) and admfit.fit.api (``fit_batch`` through ``fit_instances``).

All indices are 0-based snippet indices on the first-level grid. One instance is fitted by
``fit_one``; ``fit_batch`` runs it over many instances in parallel (``prange``), each instance
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

# Option values, distinct across families so that one passed in the wrong place cannot pass for another.
GAUSS_LITERAL = 10     # one exp per snippet: the literal loss, for the benchmark and checks
GAUSS_RECURRENCE = 11  # one exp per evaluation
UNIFORM_LITERAL = 20   # a pass over the bracket per evaluation, bitwise equal to the reference
UNIFORM_PREFIX = 21    # O(1) per evaluation after O(|beta|) prefix sums
UNIFORM_WINDOW = 22    # _term's mode for the literal uniform loss (tables of fill_workspace)
SOLVER_BRENT = 30
SOLVER_EXACT = 31

KIND_GAUSS = 40
KIND_UNIFORM = 41

_LB = 1e-6
_REANCHOR = 64
_PAD = 4
WORK_ROWS = 6
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
def agreeing_bracket(background, signal, t, level):
    """bracket, counting only background snippets where the class signal is below ``level``.

    A background head and a class head that disagree (background called where the class is still
    strong) say nothing certain about the boundary; the class signal's own fall decides there.
    """
    b_s = 0
    for j in range(t - 1, -1, -1):
        if background[j] and signal[j] < level:
            b_s = j
            break
    b_e = background.shape[0] - 1
    for j in range(t + 1, background.shape[0]):
        if background[j] and signal[j] < level:
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
def workspace(signal, b_s, b_e, t_star):
    """Per-instance tables that make the losses cheap; returns (work (WORK_ROWS, L), sum of s^2 over beta).

    work[0, i] = sum(s[b_s:b_s + i]) (prefix sums, i <= |beta|); work[1, k] = s[t* + k] + s[t* - k]
    and work[2, k] = how many of the two lie in beta (k = 0 counts t* once); for the literal uniform
    loss, work[3, i] = (p - s)^2 and work[4, i] = s^2 at snippet b_s + i (the terms inside and outside
    the window, as the reference computes them), and work[5, W] caches f_U at integer half-width W.
    """
    return fill_workspace(np.empty((WORK_ROWS, b_e - b_s + 2 + _PAD)), signal, b_s, b_e, t_star, signal[t_star])


@njit(cache=True, nogil=True)
def fill_workspace(work, signal, b_s, b_e, t_star, p):
    """workspace() into a reused buffer of at least b_e - b_s + 2 + _PAD columns, for the models' height p."""
    length = b_e - b_s + 2
    work[0, 0] = 0.0
    # Zeros past the reach let the Gaussian's four-lane loop run whole blocks.
    work[1, :length + _PAD] = 0.0
    work[2, :length + _PAD] = 0.0
    work[5, :length] = np.nan
    sum_sq = 0.0
    for j in range(b_s, b_e + 1):
        work[0, j - b_s + 1] = work[0, j - b_s] + signal[j]
        sum_sq += signal[j] * signal[j]
        k = abs(j - t_star)
        work[1, k] += signal[j]
        work[2, k] += 1.0
        inside = p - signal[j]
        work[3, j - b_s] = inside * inside
        work[4, j - b_s] = signal[j] * signal[j]
    return work, sum_sq


@njit(cache=True, nogil=True)
def _gauss_chains(inv, work, reach, p):
    """sum_{k=1..reach} g_k (n_k p^2 g_k - 2 p u_k), g_k = exp(-inv k^2), in four independent recurrences.

    Chain j holds k = k0 + j; stepping k by 4 multiplies g_k by a^(8k + 16) (a = exp(-inv)), and that
    ratio by a^32. Four chains instead of one remove the multiply-latency chain from the loop.
    """
    a = math.exp(-inv)
    a2 = a * a
    a4 = a2 * a2
    a8 = a4 * a4
    a16 = a8 * a8
    a32 = a16 * a16
    g0, g1, g2, g3 = a, a4, a8 * a, a16
    r0, r1, r2, r3 = a16 * a8, a32, a32 * a8, a32 * a16
    p2 = p * p
    total = 0.0
    k = 1
    while k <= reach:
        if g0 < _G_NEGLIGIBLE:
            return total
        total += g0 * (work[2, k] * p2 * g0 - 2.0 * p * work[1, k])
        total += g1 * (work[2, k + 1] * p2 * g1 - 2.0 * p * work[1, k + 1])
        total += g2 * (work[2, k + 2] * p2 * g2 - 2.0 * p * work[1, k + 2])
        total += g3 * (work[2, k + 3] * p2 * g3 - 2.0 * p * work[1, k + 3])
        k += 4
        if k % _REANCHOR == 1:
            # Re-anchor: rounding in the products grows with k.
            g0 = math.exp(-inv * k * k)
            g1 = math.exp(-inv * (k + 1) * (k + 1))
            g2 = math.exp(-inv * (k + 2) * (k + 2))
            g3 = math.exp(-inv * (k + 3) * (k + 3))
            r0 = math.exp(-inv * (8 * k + 16))
            r1 = math.exp(-inv * (8 * k + 24))
            r2 = math.exp(-inv * (8 * k + 32))
            r3 = math.exp(-inv * (8 * k + 40))
        else:
            g0 *= r0
            g1 *= r1
            g2 *= r2
            g3 *= r3
            r0 *= a32
            r1 *= a32
            r2 *= a32
            r3 *= a32
    return total


@njit(cache=True, nogil=True)
def _term(mode, i, work, x, signal, t_star, p, centre, half):
    """One squared residual, with the reference's operation order (so the sums are bitwise equal).

    mode GAUSS_LITERAL: the Gaussian's at snippet i; otherwise the uniform's at bracket index i,
    from the tables of fill_workspace (inside the window (p - s)^2, outside s^2).
    """
    if mode == GAUSS_LITERAL:
        z = (i - t_star) / x
        r = p * math.exp(-0.5 * (z * z)) - signal[i]
        return r * r
    return work[3, i] if abs(i - centre) <= half else work[4, i]


@njit(cache=True, nogil=True)
def _block_sum(mode, lo, n, work, x, signal, t_star, p, centre, half):
    """numpy's pairwise_sum on at most 128 terms: eight accumulators, then the remainder."""
    if n < 8:
        res = 0.0
        for i in range(lo, lo + n):
            res += _term(mode, i, work, x, signal, t_star, p, centre, half)
        return res
    r0 = _term(mode, lo, work, x, signal, t_star, p, centre, half)
    r1 = _term(mode, lo + 1, work, x, signal, t_star, p, centre, half)
    r2 = _term(mode, lo + 2, work, x, signal, t_star, p, centre, half)
    r3 = _term(mode, lo + 3, work, x, signal, t_star, p, centre, half)
    r4 = _term(mode, lo + 4, work, x, signal, t_star, p, centre, half)
    r5 = _term(mode, lo + 5, work, x, signal, t_star, p, centre, half)
    r6 = _term(mode, lo + 6, work, x, signal, t_star, p, centre, half)
    r7 = _term(mode, lo + 7, work, x, signal, t_star, p, centre, half)
    i = lo + 8
    whole = lo + n - (n % 8)
    while i < whole:
        r0 += _term(mode, i, work, x, signal, t_star, p, centre, half)
        r1 += _term(mode, i + 1, work, x, signal, t_star, p, centre, half)
        r2 += _term(mode, i + 2, work, x, signal, t_star, p, centre, half)
        r3 += _term(mode, i + 3, work, x, signal, t_star, p, centre, half)
        r4 += _term(mode, i + 4, work, x, signal, t_star, p, centre, half)
        r5 += _term(mode, i + 5, work, x, signal, t_star, p, centre, half)
        r6 += _term(mode, i + 6, work, x, signal, t_star, p, centre, half)
        r7 += _term(mode, i + 7, work, x, signal, t_star, p, centre, half)
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < lo + n:
        res += _term(mode, i, work, x, signal, t_star, p, centre, half)
        i += 1
    return res


@njit(cache=True, nogil=True)
def _pairwise_sum(mode, lo, n, work, x, signal, t_star, p, centre, half):
    """Sum of _term over [lo, lo + n) in numpy's pairwise order (np.sum's), without recursion.

    np.sum adds blocks of at most 128 terms with eight accumulators and splits longer runs in two
    (the first half a multiple of 8). Repeating that tree makes the literal losses bitwise equal
    to the reference's, which matters: Brent on the uniform loss, a step function, breaks exact
    ties in its parabola test by rounding, so any other order moves it to another point of the
    same plateau in a few percent of fits. The tree is walked with explicit stacks because numba
    cannot reload a cached recursive function safely.
    """
    seg_lo = np.empty(64, np.int64)
    seg_n = np.empty(64, np.int64)
    stage = np.zeros(64, np.int64)
    values = np.empty(64)
    depth = 0
    count = 0
    seg_lo[0] = lo
    seg_n[0] = n
    while depth >= 0:
        length = seg_n[depth]
        if length <= 128:
            values[count] = _block_sum(mode, seg_lo[depth], length, work, x, signal, t_star, p, centre, half)
            count += 1
            depth -= 1
            continue
        split = length // 2
        split -= split % 8
        if stage[depth] == 0:
            stage[depth] = 1
            seg_lo[depth + 1], seg_n[depth + 1], stage[depth + 1] = seg_lo[depth], split, 0
            depth += 1
        elif stage[depth] == 1:
            stage[depth] = 2
            seg_lo[depth + 1], seg_n[depth + 1], stage[depth + 1] = seg_lo[depth] + split, length - split, 0
            depth += 1
        else:
            count -= 1
            values[count - 1] = values[count - 1] + values[count]
            depth -= 1
    return values[0]


@njit(cache=True, nogil=True)
def gauss_loss(sigma, signal, work, b_s, b_e, t_star, p, sum_sq, mode):
    """f_G(sigma) = sum_{t in [b_s, b_e]} (p exp(-(t - t*)^2 / (2 sigma^2)) - s[t])^2."""
    if mode == GAUSS_LITERAL:
        return _pairwise_sum(GAUSS_LITERAL, b_s, b_e - b_s + 1, work, sigma, signal, t_star, p, 0, 0)
    # sum (p g - s)^2 = sum s^2 + sum g (p^2 g - 2 p s): only the terms where g matters.
    reach = max(t_star - b_s, b_e - t_star)
    return sum_sq + p * p - 2.0 * p * signal[t_star] + _gauss_chains(0.5 / (sigma * sigma), work, reach, p)


@njit(cache=True, nogil=True)
def uniform_loss(w, signal, work, b_s, b_e, t_star, p, sum_sq, mode):
    """f_U(w) = sum_{t in [b_s, b_e]} (p [|t - t*| <= w] - s[t])^2."""
    half = int(math.floor(w))
    if mode == UNIFORM_LITERAL:
        # f_U is a step function of w: a half-width already evaluated costs nothing (and the value
        # is bitwise the one computed before, so Brent's path is unchanged).
        cached = work[5, half] if half <= b_e - b_s else np.nan
        if cached == cached:
            return cached
        value = _pairwise_sum(UNIFORM_WINDOW, 0, b_e - b_s + 1, work, w, signal, t_star, p, t_star - b_s, half)
        if half <= b_e - b_s:
            work[5, half] = value
        return value
    lo = max(b_s, t_star - half)
    hi = min(b_e, t_star + half)
    inside = work[0, hi + 1 - b_s] - work[0, lo - b_s]
    return sum_sq + (hi - lo + 1) * p * p - 2.0 * p * inside


@njit(cache=True, nogil=True)
def _loss(kind, x, signal, work, b_s, b_e, t_star, p, sum_sq, mode):
    if kind == KIND_GAUSS:
        return gauss_loss(x, signal, work, b_s, b_e, t_star, p, sum_sq, mode)
    return uniform_loss(x, signal, work, b_s, b_e, t_star, p, sum_sq, mode)


@njit(cache=True, nogil=True)
def brent_bounded(kind, lower, upper, xatol, maxiter, signal, work, b_s, b_e, t_star, p, sum_sq, mode):
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
    fx = _loss(kind, x, signal, work, b_s, b_e, t_star, p, sum_sq, mode)
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
        fu = _loss(kind, x, signal, work, b_s, b_e, t_star, p, sum_sq, mode)
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
def uniform_exact(signal, work, b_s, b_e, t_star, p, sum_sq, upper):
    """Global minimum of f_U over integer w in {0, ..., floor(upper)}; smallest w on ties."""
    best_w = 0
    best_f = uniform_loss(0.0, signal, work, b_s, b_e, t_star, p, sum_sq, UNIFORM_PREFIX)
    for half in range(1, int(math.floor(upper)) + 1):
        f = uniform_loss(float(half), signal, work, b_s, b_e, t_star, p, sum_sq, UNIFORM_PREFIX)
        if f < best_f:
            best_f = f
            best_w = half
    return float(best_w), best_f


@njit(cache=True, nogil=True)
def _split_snippet(signal, near, far, min_dip):
    """Where the bracket of the point at ``near`` ends towards the neighbouring point at ``far``.

    The signal's lowest snippet from ``far`` (included) towards ``near`` (ties: the one nearest ``far``) when it dips at
    least ``min_dip`` below the lower of the two points' values; otherwise the midpoint, rounded
    towards ``near``: without a dip the lowest snippet is wherever noise put it, and the two
    annotations say only that the boundary lies between them.
    """
    step = 1 if far > near else -1
    low = far
    for j in range(far - step, near, -step):
        if signal[j] < signal[low]:
            low = j
    if min_dip > 0.0 and min(signal[near], signal[far]) - signal[low] < min_dip:
        return near + (far - near) // 2 if step > 0 else near - (near - far) // 2
    return low


@njit(cache=True, nogil=True)
def split_at_neighbours(signal, b_s, b_e, t, previous, following, min_dip):
    """Shrink [b_s, b_e] to end between t and each neighbouring point of its class (_split_snippet).

    previous / following: the nearest other annotated points of the same class before / after t
    (-1 / T when there is none). Another point means another instance, so the boundary lies
    between the two points; the split snippet ends the bracket as a background point would.
    min_dip: the depth (probability) a dip needs to be taken as the boundary; 0 = always the lowest snippet.
    """
    if previous >= 0 and previous >= b_s and previous < t:
        b_s = _split_snippet(signal, t, previous, min_dip)
    if following <= b_e and following > t:
        b_e = _split_snippet(signal, t, following, min_dip)
    return b_s, b_e


@njit(cache=True, nogil=True)
def cut_at_dips(signal, b_s, b_e, t_star, level):
    """Shrink [b_s, b_e] to the run around t* where signal >= level, keeping the first snippet below it.

    Like a background point, the first snippet below the level ends the bracket and belongs to it.
    """
    lo = t_star
    while lo > b_s and signal[lo - 1] >= level:
        lo -= 1
    hi = t_star
    while hi < b_e and signal[hi + 1] >= level:
        hi += 1
    return max(b_s, lo - 1), min(b_e, hi + 1)


@njit(cache=True, nogil=True)
def fit_pair(signal, lo, hi, t_star, p, xatol, maxiter, solver, gauss_mode, uniform_mode, buffer):
    """(sigma, omega, f_G(sigma), f_U(omega), status): both fits centred at t* with height p over [lo, hi]
    (eqs. 9-12; the paper's height is s[t*]).

    status: 0 converged, +1 the Gaussian's Brent hit maxiter, +2 the uniform's.
    """
    upper = max(max(t_star - lo, hi - t_star), _LB)
    work, sum_sq = fill_workspace(buffer, signal, lo, hi, t_star, p)
    if upper <= _LB:
        loss = gauss_loss(_LB, signal, work, lo, hi, t_star, p, sum_sq, GAUSS_RECURRENCE)
        return _LB, _LB, loss, loss, 0
    sigma, loss_g, _, status_g = brent_bounded(KIND_GAUSS, _LB, upper, xatol, maxiter, signal, work,
                                               lo, hi, t_star, p, sum_sq, gauss_mode)
    if solver == SOLVER_EXACT:
        omega, loss_u = uniform_exact(signal, work, lo, hi, t_star, p, sum_sq, upper)
        status_u = 0
    else:
        omega, loss_u, _, status_u = brent_bounded(KIND_UNIFORM, _LB, upper, xatol, maxiter, signal, work,
                                                   lo, hi, t_star, p, sum_sq, uniform_mode)
    return sigma, omega, loss_g, loss_u, status_g + 2 * status_u


@njit(cache=True, nogil=True)
def half_width(sigma, omega, loss_g, loss_u, g1, g2, select):
    """Delta (snippets): g1 sigma + g2 omega (eq. 13), or, when select > 0, g1 sigma if the Gaussian's
    MSE is below select times the uniform's, else g2 omega."""
    if select <= 0.0:
        return g1 * sigma + g2 * omega
    return g1 * sigma if loss_g < select * loss_u else g2 * omega


@njit(cache=True, nogil=True)
def fit_one(signal, locate, background, t, previous, following, min_dip, delta, g1, g2, xatol, maxiter, solver,
            gauss_mode, uniform_mode, two_sided, select, dip_cut, bg_agreement, buffer, out):
    """Fit one point t of one class signal (T,) against a background mask (T,); fill out[N_COLS].

    signal: what the models are fitted to; locate: the same class signal, smoothed, where the decisions
    are read (the peak t* and the models' height locate[t*], the splits, the background agreement, the
    dip cut); pass the same array twice for the paper's method.

    two_sided: the interval's ends come from separate fits of [b_s, t*] and [t*, b_e] (an
    asymmetric action keeps its own extent on each side); sigma and omega stay the symmetric fit's.
    select: 0 for the paper's sum; > 0: each half-width from one model, the Gaussian only where its
        MSE is below select times the uniform's (see half_width).
    dip_cut: when > 0, the bracket also ends where the signal falls below dip_cut * s[t*] (cut_at_dips).
    previous, following: neighbouring same-class points (split_at_neighbours), or -1 / T to not split;
    min_dip: the dip depth that places a split at the lowest snippet rather than the midpoint.
    bg_agreement: when > 0, only background snippets where the signal is below bg_agreement * s[t] end the
        bracket (agreeing_bracket); 0 = every background snippet (the paper).
    buffer: (WORK_ROWS, >= T + 1 + _PAD) scratch space, reused across instances to spare an allocation each.
    """
    n = signal.shape[0]
    if bg_agreement > 0.0:
        b_s, b_e = agreeing_bracket(background, locate, t, bg_agreement * locate[t])
    else:
        b_s, b_e = bracket(background, t)
    b_s, b_e = split_at_neighbours(locate, b_s, b_e, t, previous, following, min_dip)
    t_star = peak(locate, t, b_s, b_e, delta)
    p = locate[t_star]
    if dip_cut > 0.0:
        b_s, b_e = cut_at_dips(locate, b_s, b_e, t_star, dip_cut * p)
    sigma, omega, loss_g, loss_u, status = fit_pair(signal, b_s, b_e, t_star, p, xatol, maxiter, solver,
                                                    gauss_mode, uniform_mode, buffer)
    if two_sided:
        s_l, w_l, lg_l, lu_l, status_l = fit_pair(signal, b_s, t_star, t_star, p, xatol, maxiter, solver,
                                                  gauss_mode, uniform_mode, buffer)
        s_r, w_r, lg_r, lu_r, status_r = fit_pair(signal, t_star, b_e, t_star, p, xatol, maxiter, solver,
                                                  gauss_mode, uniform_mode, buffer)
        left = half_width(s_l, w_l, lg_l, lu_l, g1, g2, select)
        right = half_width(s_r, w_r, lg_r, lu_r, g1, g2, select)
        status = status | status_l | status_r
    else:
        left = right = half_width(sigma, omega, loss_g, loss_u, g1, g2, select)
    out[COL_T_STAR] = t_star
    out[COL_B_S] = b_s
    out[COL_B_E] = b_e
    out[COL_SIGMA] = sigma
    out[COL_OMEGA] = omega
    out[COL_START] = max(0.0, t_star - left)
    out[COL_END] = min(n - 1.0, t_star + right)
    out[COL_SCORE] = p
    out[COL_STATUS] = status


@njit(cache=True, parallel=True)
def fit_batch(columns, locate, background, column_start, background_start, length, point, previous, following,
              min_dip,
              delta, g1, g2, xatol, maxiter, solver, gauss_mode, uniform_mode, two_sided, select, dip_cut,
              bg_agreement, n_chunks):
    """Fit many instances at once.

    columns: (sum,) float64, the class signals that have points, each video's concatenated; locate: the
    same, smoothed for the decisions (fit_one), laid out alike;
    background: (sum_T,) bool, every video's mask concatenated. Instance i's signal is
    columns[column_start[i]:column_start[i] + length[i]], its mask starts at background_start[i],
    and point[i] is its snippet index within the video; previous[i] / following[i] are the
    neighbouring same-class points used to split brackets (-1 / T: none) and min_dip[i] the dip depth a
    split needs (split_at_neighbours). Instances are split into n_chunks contiguous chunks (a few per
    thread), each with one scratch buffer.
    Returns (N, N_COLS) float64; snippet columns are relative to the instance's video.
    """
    n_inst = point.shape[0]
    out = np.empty((n_inst, N_COLS))
    longest = length.max() if n_inst else 0
    for chunk in prange(n_chunks):
        buffer = np.empty((WORK_ROWS, longest + 1 + _PAD))
        for i in range(chunk * n_inst // n_chunks, (chunk + 1) * n_inst // n_chunks):
            signal = columns[column_start[i]:column_start[i] + length[i]]
            smooth = locate[column_start[i]:column_start[i] + length[i]]
            mask = background[background_start[i]:background_start[i] + length[i]]
            fit_one(signal, smooth, mask, point[i], previous[i], following[i], min_dip[i], delta, g1, g2, xatol, maxiter,
                    solver, gauss_mode, uniform_mode, two_sided, select, dip_cut, bg_agreement, buffer, out[i])
    return out

