"""ADM fit speed: the numba core against a plain scipy loop, measured in one run.

Workload: the real THUMOS'14 training videos (durations, instances, classes, points of the
shipped annotations), replicated with different seeds of the synthetic signal generator until
there are at least ``--instances`` points (default 20,000), on the ActionFormer grid.

Prints instances/second of
  (a) admfit.reference: scipy.optimize.minimize_scalar per instance, SPEC section 1 literally
      (timed on a subset of ``--reference`` instances: it is slow);
  (b) the numba core on one thread, step by step: a literal port of fminbound, then the
      Gaussian recurrence, then uniform prefix sums, then the exact uniform solver;
  (c) the default configuration on all threads;
the ratios to (a), the agreement of (b) with (a) by the SPEC's rule, and the first-call compile
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
from admfit.api import _fit
from admfit.reference import reference_fit

_VARIANTS = [
    # name, uniform solver, Gaussian loss, uniform loss
    ("literal fminbound port (brent)", "brent", K.GAUSS_LITERAL, K.UNIFORM_LITERAL),
    ("+ Gaussian recurrence (brent)", "brent", K.GAUSS_RECURRENCE, K.UNIFORM_LITERAL),
    ("+ uniform prefix sums (brent)", "brent", K.GAUSS_RECURRENCE, K.UNIFORM_PREFIX),
    ("exact uniform solver (default)", "exact", K.GAUSS_RECURRENCE, K.UNIFORM_PREFIX),
]


def build_workload(min_instances: int, seed: int, difficulty: str = "medium"):
    """Videos as (signals (T, C), background mask (T,), points (N, 2)) until min_instances points."""
    from admfit.datasets import load_points, thumos14
    from admfit.data import data_path
    from admfit.signal import background_mask
    from admfit.synthetic.signals import make_signals

    videos = thumos14("train")
    classes = sorted({inst.label for video in videos.values() for inst in video.instances})
    points = load_points(data_path("thumos14", "point_gaussian.csv"))
    by_video: dict[str, list] = {}
    for point in points:
        by_video.setdefault(point.video, []).append(point)
    probs, masks, rows = {}, {}, {}
    replica = 0
    while sum(len(r) for r in rows.values()) < min_instances:
        signals = make_signals(videos, classes, difficulty=difficulty, seed=seed + replica)
        for video, signal in signals.items():
            snippets = [int(signal.grid.seconds_to_index(p.time_s, signal.probs.shape[0])) for p in by_video.get(video, [])]
            if not snippets:
                continue
            key = f"{video}#{replica}"
            probs[key] = signal.probs
            rows[key] = np.array([[s, classes.index(p.label)] for s, p in zip(snippets, by_video[video])])
            masks[key] = background_mask(signal.bg_probs, 0.5, snippets, radius=2)
        replica += 1
    return probs, masks, rows


def _time_core(probs, masks, rows, solver, gauss_mode, uniform_mode, threads, repeat=3):
    config = ADMConfig(uniform_solver=solver, smoothing_sigma=0.0)
    best = np.inf
    for _ in range(repeat):
        began = time.perf_counter()
        fits = _fit(probs, rows, masks, None, config, None, threads, gauss_mode, uniform_mode)
        best = min(best, time.perf_counter() - began)
    return fits, best


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
    """Share of instances meeting SPEC 1's rule; exact-equality of bracket/peak; sigma; omega; f_U."""
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

    probs, masks, rows = build_workload(args.instances, args.seed)
    count = sum(len(r) for r in rows.values())
    print(f"workload: {count} instances in {len(probs)} videos (THUMOS'14 train replicated), "
          f"{numba.config.NUMBA_NUM_THREADS} threads available", flush=True)
    _fit(probs, rows, masks, None, ADMConfig(smoothing_sigma=0.0), None, 1, K.GAUSS_LITERAL, K.UNIFORM_LITERAL)

    subset = _reference_subset(probs, masks, rows, args.reference, args.seed)
    reference, ref_seconds = _time_reference(probs, masks, rows, subset)
    ref_rate = len(subset) / ref_seconds
    print(f"\n{'variant':44s} {'inst/s':>12s} {'x scipy':>9s}  agreement (bracket+peak / sigma / omega)")
    print(f"{'(a) scipy minimize_scalar loop':44s} {ref_rate:12,.0f} {1.0:9.1f}  (timed on {len(subset)} instances)")
    for name, solver, gauss_mode, uniform_mode in _VARIANTS:
        fits, seconds = _time_core(probs, masks, rows, solver, gauss_mode, uniform_mode, threads=1)
        rate = count / seconds
        agree = _agreement(fits, subset, rows, reference) if solver == "brent" else None
        shown = "n/a (other uniform optimum)" if agree is None else " / ".join(f"{a:.2%}" for a in agree)
        print(f"{'(b) numba 1 thread: ' + name:44s} {rate:12,.0f} {rate / ref_rate:9.1f}  {shown}", flush=True)
    threads = numba.config.NUMBA_NUM_THREADS
    for name, solver, gauss_mode, uniform_mode in (_VARIANTS[1], _VARIANTS[3]):
        _, seconds = _time_core(probs, masks, rows, solver, gauss_mode, uniform_mode, threads=threads)
        rate = count / seconds
        print(f"{f'(c) numba {threads} threads: ' + name:44s} {rate:12,.0f} {rate / ref_rate:9.1f}")
    cold, warm = _compile_times()
    print(f"\nfirst call (import + compile or cache load): empty numba cache {cold:.2f} s, warm cache {warm:.2f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
