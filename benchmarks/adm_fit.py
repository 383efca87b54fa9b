"""ADM fit speed: the numba core against a plain scipy loop, measured in one run.

Workload: the real THUMOS'14 training videos (durations, instances, classes, points of the
shipped annotations), replicated with different noise until there are at least
``--instances`` points (default 20,000), on the ActionFormer grid (benchmarks/_workload.py).

Prints instances/second of
  (a) admfit.reference: scipy.optimize.minimize_scalar per instance, docs/spec.md section 1 literally
      (timed on a subset of ``--reference`` instances: it is slow);
  (b) the numba core on one thread (inputs validated and prepared once; the fit, flattening
      included), step by step: a literal port of fminbound, then the Gaussian recurrence,
      then uniform prefix sums, then the exact uniform solver;
  (c) the core on all threads;
  and, next to the core's exact-solver line at 1 and at all threads, the public fit_instances on
  the same fits, end to end (validation, preparation, result objects included);
the ratios to (a), the agreement of (b) with (a) by the rule of docs/spec.md 1.9, and the first-call compile
time of the kernels with an empty and with a warm numba cache.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numba
import numpy as np

from admfit import ADMConfig
from admfit import _kernels as K
from admfit import fit_instances
from admfit.api import _prepare_video, _run_kernel, _to_labels
from admfit.reference import reference_fit
from admfit.signal import background_mask

from ._timing import timed
from ._workload import thumos14_workload

_VARIANTS = [
    # name, uniform solver, Gaussian loss, uniform loss
    ("literal fminbound port (brent)", "brent", K.GAUSS_LITERAL, K.UNIFORM_LITERAL),
    ("+ Gaussian recurrence (brent)", "brent", K.GAUSS_RECURRENCE, K.UNIFORM_LITERAL),
    ("+ uniform prefix sums (brent)", "brent", K.GAUSS_RECURRENCE, K.UNIFORM_PREFIX),
    ("exact uniform solver", "exact", K.GAUSS_RECURRENCE, K.UNIFORM_PREFIX),
]


def build_workload(min_instances: int, seed: int, config: ADMConfig):
    """Videos as (prepared signals (T, C), background mask (T,), points (N, 2)) with min_instances points."""
    probs, bg_probs, rows = thumos14_workload(min_instances, seed)
    # Masks fixed up front, so that every variant (and scipy) fits exactly the same brackets.
    masks = {key: background_mask(bg_probs[key], config.bg_threshold, rows[key][:, 0], config.point_radius)
             for key in probs}
    return probs, masks, rows


def _time_kernel(videos, solver, gauss_mode, uniform_mode, threads, repeat=3, config=None):
    """The numba core alone: inputs validated and prepared once, then fitted (flattening included).

    Default: docs/spec.md section 1 as written (the paper's symmetric fit), with the given uniform solver.
    """
    config = config or ADMConfig.paper(uniform_solver=solver, smoothing_sigma=0.0)
    seconds, rows = timed(lambda: _run_kernel(videos, config, threads, gauss_mode, uniform_mode), repeat)
    return _to_labels(videos, rows, None), seconds


def _time_api(probs, masks, rows, threads, repeat=3):
    """fit_instances end to end (the paper's fit, exact uniform): validation, preparation, fit, result objects."""
    config = ADMConfig.paper(uniform_solver="exact", smoothing_sigma=0.0)
    return timed(lambda: fit_instances(probs, rows, background=masks, config=config, num_threads=threads), repeat)[0]


def _reference_subset(probs, masks, rows, count, seed):
    """count instances picked at random: (key, row index)."""
    flat = [(key, i) for key in rows for i in range(len(rows[key]))]
    picks = np.random.default_rng(seed).choice(len(flat), size=min(count, len(flat)), replace=False)
    return [flat[i] for i in sorted(picks)]


def _time_reference(probs, masks, rows, subset):
    began = time.perf_counter()
    fits = []
    for key, i in subset:
        t, c = rows[key][i]
        fits.append(reference_fit(probs[key][:, c], masks[key], int(t)))
    return fits, time.perf_counter() - began


def _agreement(fits, subset, rows, reference):
    """Share of instances meeting docs/spec.md 1.9's rule; exact-equality of bracket/peak; sigma; omega; f_U."""
    index = {}
    position = 0
    for key in rows:
        for i in range(len(rows[key])):
            index[(key, i)] = position
            position += 1
    exact = sigma_ok = omega_ok = 0
    for (key, i), ref in zip(subset, reference):
        fit = fits[index[(key, i)]]
        upper = max(ref.t_star - ref.b_s, ref.b_e - ref.t_star, 1e-6)
        exact += (fit.b_s, fit.b_e, fit.t_star) == (ref.b_s, ref.b_e, ref.t_star)
        sigma_ok += abs(fit.sigma - ref.sigma) <= 1e-4 * upper
        omega_ok += abs(fit.omega - ref.omega) <= 1e-4 * upper
    n = len(subset)
    return exact / n, sigma_ok / n, omega_ok / n


_COMPILE_SNIPPET = """
import time, numpy as np
began = time.perf_counter()
from admfit import fit_instances
fit_instances({'v': np.random.default_rng(0).random((50, 2))}, {'v': [[10, 1]]}, bg_probs={'v': np.zeros(50)})
print(time.perf_counter() - began)
"""


def _compile_times() -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        times = [float(subprocess.run([sys.executable, "-c", _COMPILE_SNIPPET], env=env, check=True,
                                      capture_output=True, text=True).stdout.strip()) for _ in range(2)]
    return times[0], times[1]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks adm_fit", description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=20_000, help="at least this many points")
    parser.add_argument("--reference", type=int, default=1_000, help="instances timed with scipy")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="small smoke run (2,000 points, 200 for scipy)")
    args = parser.parse_args(argv or [])
    if args.quick:
        args.instances, args.reference = 2_000, 200

    probs, masks, rows = build_workload(args.instances, args.seed, ADMConfig())
    count = sum(len(r) for r in rows.values())
    threads = numba.config.NUMBA_NUM_THREADS
    print(f"workload: {count} instances in {len(probs)} videos (THUMOS'14 train replicated), "
          f"{threads} threads available", flush=True)
    fit_instances(probs, rows, background=masks, num_threads=1)  # compile (or load) and start numba's pool
    print(f"numba threading layer: {numba.threading_layer()} (admfit/threads.py)", flush=True)
    prepare = ADMConfig.paper(smoothing_sigma=0.0)
    videos = [_prepare_video(key, probs[key], rows[key], masks[key], None, prepare) for key in rows]
    for _, solver, gauss_mode, uniform_mode in _VARIANTS:  # compile (or load) every variant first
        _time_kernel(videos[:1], solver, gauss_mode, uniform_mode, 1, repeat=1)

    subset = _reference_subset(probs, masks, rows, args.reference, args.seed)
    reference, ref_seconds = _time_reference(probs, masks, rows, subset)
    ref_rate = len(subset) / ref_seconds
    print(f"\n{'variant':52s} {'inst/s':>10s} {'x (a)':>7s}  agreement with (a): bracket+peak / sigma / omega")
    print(f"{'(a) scipy minimize_scalar loop':52s} {ref_rate:10,.0f} {1.0:7.1f}  (timed on {len(subset)} instances)")
    for name, solver, gauss_mode, uniform_mode in _VARIANTS:
        fits, seconds = _time_kernel(videos, solver, gauss_mode, uniform_mode, threads=1)
        rate = count / seconds
        agree = _agreement(fits, subset, rows, reference) if solver == "brent" else None
        shown = "(another uniform optimum)" if agree is None else " / ".join(f"{a:.2%}" for a in agree)
        print(f"{'(b) core, 1 thread: ' + name:52s} {rate:10,.0f} {rate / ref_rate:7.1f}  {shown}", flush=True)
    for name, solver, gauss_mode, uniform_mode in (_VARIANTS[1], _VARIANTS[3]):
        _, seconds = _time_kernel(videos, solver, gauss_mode, uniform_mode, threads=threads)
        rate = count / seconds
        print(f"{f'(c) core, {threads} threads: ' + name:52s} {rate:10,.0f} {rate / ref_rate:7.1f}")
    # What a caller gets: the public fit_instances on the same fits as the exact-solver core lines above.
    print(f"\n{'exact uniform solver, the paper fit':52s} {'inst/s':>10s} {'x (a)':>7s}  end to end / core alone")
    for used in (1, threads):
        _, core = _time_kernel(videos, "exact", K.GAUSS_RECURRENCE, K.UNIFORM_PREFIX, threads=used)
        api = _time_api(probs, masks, rows, used)
        print(f"{f'core alone, {used} thread(s)':52s} {count / core:10,.0f} {count / core / ref_rate:7.1f}")
        print(f"{f'fit_instances end to end, {used} thread(s)':52s} {count / api:10,.0f} {count / api / ref_rate:7.1f}"
              f"  {core / api:.0%}", flush=True)
    default = ADMConfig(smoothing_sigma=0.0)
    # The default also splits brackets at neighbouring points, which the preparation records.
    default_videos = [_prepare_video(key, probs[key], rows[key], masks[key], None, default) for key in rows]
    for used in (1, threads):
        _, seconds = _time_kernel(default_videos, "exact", K.GAUSS_RECURRENCE, K.UNIFORM_PREFIX, used,
                                  config=default)
        rate = count / seconds
        print(f"{f'core, {used} thread(s): ADMConfig() (two-sided, 3 fit pairs)':52s} {rate:10,.0f} {rate / ref_rate:7.1f}")
    cold, warm = _compile_times()
    print(f"\nfirst call (import + compile or cache load): empty numba cache {cold:.2f} s, warm cache {warm:.2f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
