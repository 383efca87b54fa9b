"""ADM fit speed: the numba core against a plain scipy loop, measured in one run.

Workload: the real THUMOS'14 training videos (durations, instances, classes, points of the
shipped annotations), replicated with different noise until there are at least
``--instances`` points (default 20,000), on the ActionFormer grid (benchmarks/_workload.py).

Prints instances/second of
  (a) admfit.fit.reference: scipy.optimize.minimize_scalar per instance, docs/spec.md section 1 literally
      (timed on a subset of ``--reference`` instances: it is slow);
  (b) the numba core on one thread (inputs validated and prepared once; the fit, flattening
      included), step by step: a literal port of fminbound, then the Gaussian recurrence,
      then uniform prefix sums, then the exact uniform solver;
  (c) the core on all threads;
  (d) for ADMConfig(tuning="off") and ADMConfig.paper(), at 1, 2 and all threads: fit_batch alone on a prepared batch
      (admfit.fit.prepare.prepare_instances once, then the numba kernel) next to the public fit_instances end to end
      on the same inputs (per-snippet class and background probabilities in: checks, preparation, the fit; columns
      out with as_table=True, PseudoLabel objects out without), with the ratio end to end / fit_batch alone in
      wall-clock time (the target: at most 1.2x) and in CPU time (the work: what the wall-clock ratio is on a machine
      of its own at 1 thread), and the time to read every input value once (np.max of each array), the floor of any
      preparation that checks every value;
  (e) 2 threads against 1, end to end (the target: faster), and what is not the kernel at each count;
  (f) ADMConfig() (tuning "auto", the default) end to end against one fit of the fixed defaults,
      ADMConfig(tuning="off") (the target: at most 3x);
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
from dataclasses import replace

import numba
import numpy as np

from admfit import ADMConfig, fit_instances
from admfit.fit._kernels import adm as K
from admfit.fit.api import _fit_rows, _table
from admfit.fit.prepare import prepare_instances
from admfit.fit.reference import reference_fit
from admfit.fit.signal import background_mask

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
    """(probs (T, C), bg_probs (T,), background masks (T,), points (N, 2)) by video, with min_instances points."""
    probs, bg_probs, rows = thumos14_workload(min_instances, seed)
    # Masks fixed up front, so that every variant (and scipy) fits exactly the same brackets.
    masks = {key: background_mask(bg_probs[key], config.bg_threshold, rows[key][:, 0], config.point_radius)
             for key in probs}
    return probs, bg_probs, masks, rows


def _time_kernel(batch, solver, gauss_mode, uniform_mode, threads, repeat=3):
    """The numba core alone on a prepared batch (the paper's symmetric fit, docs/spec.md section 1 as written),
    with the given uniform solver and losses: (the fits as a table, seconds)."""
    batch = replace(batch, config=batch.config.model_copy(update={"uniform_solver": solver}))
    seconds, rows = timed(lambda: _fit_rows(batch, threads, gauss_mode, uniform_mode), repeat)
    return _table(batch, rows, None), seconds


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
    """Share of instances meeting docs/spec.md 1.9's rule; exact-equality of bracket/peak; sigma; omega."""
    index = {}
    position = 0
    for key in rows:
        for i in range(len(rows[key])):
            index[(key, i)] = position
            position += 1
    exact = sigma_ok = omega_ok = 0
    for (key, i), ref in zip(subset, reference):
        at = index[(key, i)]
        upper = max(ref.t_star - ref.b_s, ref.b_e - ref.t_star, 1e-6)
        exact += (fits["b_s"][at], fits["b_e"][at], fits["t_star"][at]) == (ref.b_s, ref.b_e, ref.t_star)
        sigma_ok += abs(fits["sigma"][at] - ref.sigma) <= 1e-4 * upper
        omega_ok += abs(fits["omega"][at] - ref.omega) <= 1e-4 * upper
    n = len(subset)
    return exact / n, sigma_ok / n, omega_ok / n


def _interleaved(runs: dict, repeat: int) -> tuple[dict, dict, dict]:
    """(best wall-clock seconds, the process's CPU seconds in that best run, the least CPU seconds of any run) of
    each run over `repeat` rounds, the runs taking turns in every round, so that load from other processes on a
    shared machine falls on all of them alike; each result is dropped before the next clock starts (freeing
    20,000 labels is not the next run's time). CPU / wall is how many cores the best run had on average; the least
    CPU time is the work done, what one thread takes on a machine of its own."""
    best, cpu, least = dict.fromkeys(runs, float("inf")), dict.fromkeys(runs, 0.0), dict.fromkeys(runs, float("inf"))
    for _ in range(repeat):
        for label, run in runs.items():
            began, began_cpu = time.perf_counter(), time.process_time()
            result = run()
            seconds, cpu_seconds = time.perf_counter() - began, time.process_time() - began_cpu
            if seconds < best[label]:
                best[label], cpu[label] = seconds, cpu_seconds
            least[label] = min(least[label], cpu_seconds)
            del result
    return best, cpu, least


_TARGET = 1.2  # end to end at most this many times the fit alone (docs/adm.md, "Speed", "End to end")


_AUTO_TARGET = 3.0  # tuning="auto" against one fit of the fixed defaults, end to end (docs/adm.md, "Self-tuning")


def _end_to_end(probs, bg_probs, rows, thread_counts, ref_rate, repeat):
    """(d): fit_instances end to end against fit_batch alone on the same prepared batch, per config and thread
    count; (e): 2 threads against 1, end to end. All timings of one config interleaved (_interleaved)."""
    count = sum(len(r) for r in rows.values())
    arrays = [*probs.values(), *bg_probs.values()]
    print(f"\n{'(d) probabilities in, labels out':62s} {'inst/s':>10s} {'x (a)':>7s}  / fit_batch alone: wall, CPU "
          f"(target <= {_TARGET}x), best of {repeat} interleaved")
    speedups = {}
    fixed = ADMConfig(tuning="off")
    for name, config in (("ADMConfig(tuning='off')", fixed), ("ADMConfig.paper()", ADMConfig.paper())):
        batch = prepare_instances(probs, rows, bg_probs=bg_probs, config=config)
        runs = {("read", 1): lambda: [values.max() for values in arrays]}
        for used in thread_counts:
            runs[("kernel", used)] = lambda used=used: _fit_rows(batch, used, K.GAUSS_RECURRENCE, K.UNIFORM_LITERAL)
            runs[("table", used)] = lambda used=used: fit_instances(probs, rows, bg_probs=bg_probs, config=config,
                                                                    num_threads=used, as_table=True)
            runs[("labels", used)] = lambda used=used: fit_instances(probs, rows, bg_probs=bg_probs, config=config,
                                                                     num_threads=used)
        best, cpu, least = _interleaved(runs, repeat)
        for used in thread_counts:
            for kind, label in (("kernel", "fit_batch alone"), ("table", "fit_instances, as_table=True"),
                                ("labels", "fit_instances, PseudoLabels")):
                seconds = best[(kind, used)]
                ratio, work = seconds / best[("kernel", used)], least[(kind, used)] / least[("kernel", used)]
                verdict = "" if kind == "kernel" else f"  target {'met' if ratio <= _TARGET else 'unmet'}"
                print(f"{f'{name}, {used} thread(s): {label}':62s} {count / seconds:10,.0f} "
                      f"{count / seconds / ref_rate:7.1f}  {ratio:.2f}x  {work:.2f}x{verdict}", flush=True)
        read = best[("read", 1)]
        print(f"{f'{name}: every input value read once (np.max per array)':62s} {'':10s} {'':7s}  "
              f"{read / best[('kernel', 1)]:.2f}x  {least[('read', 1)] / least[('kernel', 1)]:.2f}x  "
              f"({read * 1e3:.1f} ms: the floor of a check of every value, 1 thread)")
        speedups[name] = best, cpu
    if len(thread_counts) < 2:
        return
    many = thread_counts[1]
    print(f"\n(e) {many} threads against 1, end to end (the same interleaved timings; target: faster; fewer cores "
          f"used than threads: the machine had no core free for them)")
    print(f"{'':62s} {'1 thread':>11s}    {f'{many} threads':>11s}  speed-up  cores used at {many} (CPU / wall)")
    for name, (best, cpu) in speedups.items():
        for kind, label in (("kernel", "fit_batch alone"), ("table", "fit_instances, as_table=True"),
                            ("labels", "fit_instances, PseudoLabels")):
            one, more = best[(kind, 1)], best[(kind, many)]
            verdict = "" if kind == "kernel" else f"  target {'met' if more < one else 'unmet'}"
            print(f"{f'{name}: {label}':62s} {one * 1e3:8.1f} ms -> {more * 1e3:8.1f} ms  x{one / more:.2f}  "
                  f"{cpu[(kind, many)] / more:.2f}{verdict}")
        rest_one = best[("labels", 1)] - best[("kernel", 1)]
        rest_many = best[("labels", many)] - best[("kernel", many)]
        print(f"{f'{name}: the rest (PseudoLabels minus fit_batch)':62s} {rest_one * 1e3:8.1f} ms -> "
              f"{rest_many * 1e3:8.1f} ms  x{rest_one / rest_many:.2f}")


# The fixed defaults: self-tuning's candidates run the same kernels, so its first call compiles nothing more.
_COMPILE_SNIPPET = """
import time, numpy as np
began = time.perf_counter()
from admfit import ADMConfig, fit_instances
fit_instances({'v': np.random.default_rng(0).random((50, 2))}, {'v': [[10, 1]]}, bg_probs={'v': np.zeros(50)},
              config=ADMConfig(tuning='off'))
print(time.perf_counter() - began)
"""


def _compile_times() -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        times = [float(subprocess.run([sys.executable, "-c", _COMPILE_SNIPPET], env=env, check=True,
                                      capture_output=True, text=True).stdout.strip()) for _ in range(2)]
    return times[0], times[1]


def _auto_cost(probs, bg_probs, rows, threads, repeat):
    """(f): ADMConfig() (tuning "auto") end to end against one ADMConfig(tuning="off") fit, PseudoLabels out,
    interleaved."""
    runs = {name: lambda config=config: fit_instances(probs, rows, bg_probs=bg_probs, config=config,
                                                      num_threads=threads)
            for name, config in (("default", ADMConfig(tuning="off")), ("auto", ADMConfig()))}
    best, _, _ = _interleaved(runs, repeat)
    ratio = best["auto"] / best["default"]
    print(f"\n(f) tuning='auto' end to end, {threads} thread(s), best of {repeat} interleaved: "
          f"{best['auto'] * 1e3:.1f} ms against one ADMConfig(tuning='off') fit "
          f"{best['default'] * 1e3:.1f} ms: {ratio:.2f}x "
          f"(target <= {_AUTO_TARGET}x: {'met' if ratio <= _AUTO_TARGET else 'unmet'})", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks adm_fit", description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=20_000, help="at least this many points")
    parser.add_argument("--reference", type=int, default=1_000, help="instances timed with scipy")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=7, help="best of this many rounds for the (d) and (e) lines")
    parser.add_argument("--quick", action="store_true", help="small smoke run (2,000 points, 200 for scipy)")
    args = parser.parse_args(argv or [])
    if args.quick:
        args.instances, args.reference = 2_000, 200

    probs, bg_probs, masks, rows = build_workload(args.instances, args.seed, ADMConfig(tuning="off"))
    count = sum(len(r) for r in rows.values())
    threads = numba.config.NUMBA_NUM_THREADS
    print(f"workload: {count} instances in {len(probs)} videos (THUMOS'14 train replicated), "
          f"{threads} threads available", flush=True)
    # compile (or load) and start numba's pool
    fit_instances(probs, rows, background=masks, config=ADMConfig(tuning="off"), num_threads=1)
    fit_instances(probs, rows, bg_probs=bg_probs, num_threads=1)
    print(f"numba threading layer: {numba.threading_layer()} (admfit/threads.py)", flush=True)
    # docs/spec.md section 1 as scipy's reference runs it: peak and fits read on the signal as given.
    literal = ADMConfig.paper(smoothing_sigma=0.0, locate_sigma=0.0)
    batch = prepare_instances(probs, rows, background=masks, config=literal)
    for _, solver, gauss_mode, uniform_mode in _VARIANTS:  # compile (or load) every variant first
        _time_kernel(batch, solver, gauss_mode, uniform_mode, 1, repeat=1)

    subset = _reference_subset(probs, masks, rows, args.reference, args.seed)
    reference, ref_seconds = _time_reference(probs, masks, rows, subset)
    ref_rate = len(subset) / ref_seconds
    print(f"\n{'variant':52s} {'inst/s':>10s} {'x (a)':>7s}  agreement with (a): bracket+peak / sigma / omega")
    print(f"{'(a) scipy minimize_scalar loop':52s} {ref_rate:10,.0f} {1.0:7.1f}  (timed on {len(subset)} instances)")
    for name, solver, gauss_mode, uniform_mode in _VARIANTS:
        fits, seconds = _time_kernel(batch, solver, gauss_mode, uniform_mode, threads=1)
        rate = count / seconds
        agree = _agreement(fits, subset, rows, reference) if solver == "brent" else None
        shown = "(another uniform optimum)" if agree is None else " / ".join(f"{a:.2%}" for a in agree)
        print(f"{'(b) core, 1 thread: ' + name:52s} {rate:10,.0f} {rate / ref_rate:7.1f}  {shown}", flush=True)
    for name, solver, gauss_mode, uniform_mode in (_VARIANTS[1], _VARIANTS[3]):
        _, seconds = _time_kernel(batch, solver, gauss_mode, uniform_mode, threads=threads)
        rate = count / seconds
        print(f"{f'(c) core, {threads} threads: ' + name:52s} {rate:10,.0f} {rate / ref_rate:7.1f}")
    _end_to_end(probs, bg_probs, rows, sorted({1, min(2, threads), threads}), ref_rate, args.repeat)
    _auto_cost(probs, bg_probs, rows, threads, args.repeat)
    cold, warm = _compile_times()
    print(f"\nfirst call (import + compile or cache load): empty numba cache {cold:.2f} s, warm cache {warm:.2f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
