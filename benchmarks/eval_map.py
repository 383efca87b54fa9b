"""Detection mAP speed: admfit's evaluator against the plain per-class implementation, one run.

Workload: the real THUMOS'14 test ground truth (shipped ``admfit/data/thumos14/gt.json``,
210 videos, 20 classes), thresholds 0.1:0.7:0.1, and ``--predictions`` (default 300,000)
predictions generated deterministically from ``--seed``: jittered copies of every instance
(some with a wrong class) and uniform random false positives, scores rounded to 3 decimals
so that ties occur.

Prints seconds and predictions/second of
  (a) admfit.evaluation.reference: the official code's logic as a Python loop per class,
      on the full set by default (about 10 s); with ``--reference N`` (and in ``--quick``)
      on a random subset of N predictions, and then its full-set time is an estimate (the
      subset's time per prediction times the full count), marked as such;
  (b) admfit.evaluation.evaluate_detection on the same predictions as (a) and on the full
      set, best of 3 (the first call is shown apart);
  (c) load_detections: reading the full set back from a results JSON file;
  (d) the whole `admfit eval GT PRED --json` command as a process, what a user waits for (best of 3,
      wall and CPU seconds: start-up, imports, loading, evaluation), then where the CPU time of one
      such process goes (a separate run that times its own phases);
  (e) the official way end to end: a plain ``json.load`` of the same file, Python lists, then (a);
the ratios (a)/(b) and (e)/(d) with the targets for (d) of docs/evaluation.md, "Speed" (at most 0.5 s wall, at
least 60x (e)), and the largest AP difference between (a) and (b) on the subset.
Everything runs on one core (numpy calls are single-threaded).

``--baseline [REV|DIR]`` (REV: a git revision, default ``BASELINE_COMMIT``, main before the work on the
whole command; or a folder holding a checkout) also times (d) on that code, the two alternately in the
same run (baseline, current, baseline, ...), and prints both phase breakdowns side by side.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from admfit.data import data_path
from admfit.datasets import load_annotations
from admfit.evaluation import THUMOS14_TIOUS, Detections, GroundTruthSegments, evaluate_detection
from admfit.evaluation.reference import reference_ap
from admfit.evaluation.results_io import load_detections

from ._revisions import REPO, checkout, current_code, import_path
from ._timing import timed

# main before the work on the whole `admfit eval` process (docs/evaluation.md, "Speed"): the default of --baseline
BASELINE_COMMIT = "818541ceb1b1d312aace381ce273226796a03cca"


def thumos14_test_ground_truth() -> GroundTruthSegments:
    return GroundTruthSegments.from_annotations(load_annotations(data_path("thumos14", "gt.json"), subset="test"))


def make_predictions(ground_truth: GroundTruthSegments, count: int, seed: int) -> Detections:
    """``count`` predictions (seconds), grouped by video: 60% jittered instances (10% of them
    mislabelled), 40% uniform random segments."""
    rng = np.random.default_rng(seed)
    classes, videos = np.unique(ground_truth.label), np.unique(ground_truth.video)
    near = int(0.6 * count)
    source = rng.integers(0, len(ground_truth), near)
    length = ground_truth.end_s[source] - ground_truth.start_s[source]
    start = ground_truth.start_s[source] + rng.normal(0, 0.3, near) * length
    end = ground_truth.end_s[source] + rng.normal(0, 0.3, near) * length
    label = np.where(rng.random(near) < 0.1, rng.choice(classes, near), ground_truth.label[source])
    far = count - near
    span = {video: ground_truth.end_s[ground_truth.video == video].max() + 30.0 for video in videos}
    far_video = rng.choice(videos, far)
    far_start = rng.random(far) * np.array([span[v] for v in far_video])
    far_end = far_start + rng.gamma(2.0, 3.0, far)
    score = np.round(rng.random(count), 3)
    detections = Detections(np.concatenate([ground_truth.video[source], far_video]),
                            np.concatenate([label, rng.choice(classes, far)]),
                            np.concatenate([start, far_start]), np.concatenate([end, far_end]), score)
    # Video by video, as a results file lists them (and load_detections returns them).
    return detections.subset(np.argsort(detections.video, kind="stable"))


def _write_results(path: Path, detections: Detections) -> None:
    results: dict[str, list] = {}
    for video, label, start, end, score in zip(detections.video.tolist(), detections.label.tolist(),
                                               detections.start_s.tolist(), detections.end_s.tolist(),
                                               detections.score.tolist()):
        results.setdefault(video, []).append({"segment": [start, end], "label": label, "score": score})
    path.write_text(json.dumps({"version": "bench", "results": results}))


def _official_load(path: Path) -> Detections:
    """What the official script does before evaluating: json.load, then one Python list per field."""
    with open(path, encoding="utf-8") as handle:
        results = json.load(handle)["results"]
    rows = [(video, entry["label"], float(entry["segment"][0]), float(entry["segment"][1]), float(entry["score"]))
            for video, entries in results.items() for entry in entries]
    return Detections(*(np.array(column) for column in zip(*rows)))


_ADMFIT_EVAL = "import sys; sys.argv[0] = 'admfit'; from admfit_cli.main import app; app()"


def _eval_process(ground_truth: Path, predictions: Path, repeat: int = 3,
                  pythonpath: str | None = None) -> tuple[float, float]:
    """(wall, CPU) seconds of `admfit eval GT PRED --json` as a new process, best of ``repeat``; ``pythonpath``:
    where admfit and admfit_cli are imported from (``_revisions.import_path``), else the installed copy."""
    walls, cpus = [], []
    for _ in range(repeat):
        before, began = os.times(), time.perf_counter()
        subprocess.run([sys.executable, "-c", _ADMFIT_EVAL, "eval", str(ground_truth), str(predictions), "--json"],
                       check=True, stdout=subprocess.DEVNULL, **_environment(pythonpath))
        walls.append(time.perf_counter() - began)
        after = os.times()
        cpus.append(after.children_user - before.children_user + after.children_system - before.children_system)
    return min(walls), min(cpus)


def _environment(pythonpath: str | None) -> dict:
    """subprocess.run's env and cwd for a process that imports from ``pythonpath`` (its first entry: the shim
    of ``_revisions.import_path``, its second the code's root). The root is also the working folder: ``-c``
    puts the working folder first on the import path."""
    if pythonpath is None:
        return {}
    return {"env": dict(os.environ, PYTHONPATH=pythonpath), "cwd": pythonpath.split(os.pathsep)[-1]}


# One `admfit eval` process that times its own phases (CPU seconds) and prints them on stderr as JSON, with
# the heavy packages it imported. It imports the command's modules as the command does (numpy with one
# BLAS thread where admfit.threads.one_blas_thread exists), then wraps their entry points.
_PHASES = r"""
import json, sys, time
began = time.process_time()
ground_truth, predictions = sys.argv[1:3]
sys.argv = ["admfit", "eval", ground_truth, predictions, "--json"]
phases = {"interpreter start-up (site included)": began}

def lap(name, mark):
    now = time.process_time()
    phases[name] = phases.get(name, 0.0) + now - mark
    return now

mark = time.process_time()
from admfit_cli.main import app
mark = lap("admfit_cli.main (typer, every command module)", mark)
try:
    from admfit.threads import one_blas_thread
except ImportError:
    from contextlib import nullcontext as one_blas_thread
with one_blas_thread():
    import admfit.datasets.annotation_columns as columns, admfit.evaluation.detection as detection
    import admfit.evaluation.results_io as results_io
mark = lap("the command's own imports (numpy, orjson, the evaluator)", mark)

def timed(module, attribute, name):
    function = getattr(module, attribute)
    phases[name] = 0.0
    def wrapper(*args, **kwargs):
        start = time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            lap(name, start)
    setattr(module, attribute, wrapper)

try:
    import typer._coercion as coercion, typer.core as core  # typer >= 0.2x converts options with pydantic
    timed(core, "build_runtime_param", "typer's option conversion (imports pydantic)")
except (ImportError, AttributeError):
    pass
timed(columns, "read_annotation_columns", "ground truth (read, checked)")
timed(results_io, "load_detections", "results file (read, check, columns; msgspec's import)")
timed(detection, "evaluate_detection", "evaluation")
try:
    app()
except SystemExit:
    pass
total = time.process_time()
phases["the rest (subset, output)"] = total - sum(phases.values())
heavy = sorted(name for name in ("pydantic", "msgspec", "orjson", "numba", "scipy") if name in sys.modules)
print(json.dumps({"total": total, "phases": phases, "imported": heavy}), file=sys.stderr)
"""


def _process_phases(ground_truth: Path, predictions: Path, pythonpath: str | None = None) -> dict:
    """CPU seconds of each phase of one `admfit eval --json` process (``_PHASES``)."""
    done = subprocess.run([sys.executable, "-c", _PHASES, str(ground_truth), str(predictions)], check=True,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, **_environment(pythonpath))
    return json.loads(done.stderr.strip().splitlines()[-1])


def _against_baseline(revision: str, ground_truth: Path, predictions: Path, rounds: int = 3) -> None:
    """(d) on the baseline's code and on this one, alternately in this run, and both phase breakdowns."""
    with checkout(revision) as (root, name), import_path(root) as base_path, import_path(REPO) as own_path:
        sides = {f"baseline, {name}": base_path, f"current, {current_code()}": own_path}
        measured: dict[str, list] = {side: [] for side in sides}
        for _ in range(rounds):
            for side, path in sides.items():
                measured[side].append(_eval_process(ground_truth, predictions, repeat=1, pythonpath=path))
        phases = {side: _process_phases(ground_truth, predictions, path) for side, path in sides.items()}
    best = {side: (min(w for w, _ in rows), min(c for _, c in rows)) for side, rows in measured.items()}
    print(f"(d) against the baseline, alternately in this run ({rounds} processes each, best):")
    for side, (wall, cpu) in best.items():
        print(f"    {side:60s}{wall:7.3f} s wall {cpu:7.3f} s CPU")
    (base_wall, base_cpu), (own_wall, own_cpu) = best.values()
    print(f"    baseline / current: {base_wall / own_wall:.2f}x wall, {base_cpu / own_cpu:.2f}x CPU")
    print(f"    {'phase (CPU s of one process)':60s}{'baseline':>9s}{'current':>9s}")
    for phase in dict.fromkeys(name for report in phases.values() for name in report["phases"]):
        print(f"    {phase:60s}" + "".join(f"{report['phases'].get(phase, 0.0):9.3f}" for report in phases.values()))
    print(f"    {'total':60s}" + "".join(f"{report['total']:9.3f}" for report in phases.values()))
    for side, report in phases.items():
        print(f"    {side}: imported {', '.join(report['imported']) or 'none of them'}")


def _verdict(met: bool) -> str:
    return "met" if met else "UNMET"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks eval_map", description=__doc__.split("\n")[0])
    parser.add_argument("--predictions", type=int, default=300_000)
    parser.add_argument("--reference", type=int, default=None,
                        help="predictions given to the slow reference (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="smoke run: 20,000 predictions, 2,000 for the reference")
    parser.add_argument("--baseline", nargs="?", const=BASELINE_COMMIT, metavar="REV|DIR",
                        help=f"also time (d) on this revision's code, alternately (default {BASELINE_COMMIT[:10]})")
    args = parser.parse_args(argv)
    if args.quick:
        args.predictions, args.reference = 20_000, 2_000
    tious = THUMOS14_TIOUS
    ground_truth = thumos14_test_ground_truth()
    detections = make_predictions(ground_truth, args.predictions, args.seed)
    measured_in_full = args.reference is None or args.reference >= len(detections)
    subset = detections if measured_in_full else detections.subset(np.sort(
        np.random.default_rng(args.seed + 1).choice(len(detections), args.reference, replace=False)))

    first_call, _ = timed(lambda: evaluate_detection(ground_truth, subset, tious))
    cpu_began = time.process_time()
    ref_time, (_, ref_ap) = timed(lambda: reference_ap(ground_truth, subset, tious))
    ref_cpu = time.process_time() - cpu_began
    full_time, full_result = timed(lambda: evaluate_detection(ground_truth, detections, tious), repeat=3)
    sub_time, sub_result = (full_time, full_result) if measured_in_full else timed(
        lambda: evaluate_detection(ground_truth, subset, tious), repeat=3)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "results.json"
        _write_results(path, detections)
        load_time, _ = timed(lambda: load_detections(path), repeat=3)
        cpu_began = time.process_time()
        official_load_time, _ = timed(lambda: _official_load(path))
        official_load_cpu = time.process_time() - cpu_began
        process_wall, process_cpu = _eval_process(data_path("thumos14", "gt.json"), path)
        phases = _process_phases(data_path("thumos14", "gt.json"), path)
        if args.baseline:
            _against_baseline(args.baseline, data_path("thumos14", "gt.json"), path)

    ref_full = ref_time / len(subset) * len(detections)
    print(f"THUMOS'14 test ground truth: {len(ground_truth)} instances, {len(full_result.classes)} classes, "
          f"{np.unique(ground_truth.video).size} videos; tIoU {list(tious)}; seed {args.seed}")
    print(f"{'':50s}{'predictions':>12s}{'seconds':>10s}{'pred/s':>12s}")
    rows = [("(b) admfit, full (measured, best of 3)", len(detections), full_time),
            ("(c) load_detections, full JSON (measured, best of 3)", len(detections), load_time)]
    if measured_in_full:
        rows.insert(0, ("(a) plain reference, full (measured)", len(detections), ref_time))
    else:
        rows[:0] = [("(a) plain reference, subset (measured)", len(subset), ref_time),
                    ("(b) admfit, same subset (measured, best of 3)", len(subset), sub_time),
                    ("(a) plain reference, full (ESTIMATED from subset)", len(detections), ref_full)]
    for name, count, seconds in rows:
        print(f"{name:50s}{count:12d}{seconds:10.3f}{count / seconds:12.0f}")
    print(f"first admfit call in this process: {first_call:.3f} s")
    if measured_in_full:
        print(f"speed-up (a)/(b), full set, both measured in this run: {ref_time / full_time:.0f}x")
    else:
        print(f"speed-up (a)/(b) on the same subset, both measured: {ref_time / sub_time:.0f}x")
        print(f"speed-up (a) ESTIMATED / (b) measured, full set: {ref_full / full_time:.0f}x")
    official = official_load_time + ref_full
    official_cpu = official_load_cpu + ref_cpu / len(subset) * len(detections)
    estimated = "" if measured_in_full else ", (a) ESTIMATED from the subset"
    print(f"(d) `admfit eval GT PRED --json` as a process, full set (best of 3): {process_wall:.3f} s wall, "
          f"{process_cpu:.3f} s CPU")
    print(f"(e) official way: json.load + Python lists {official_load_time:.3f} s + (a) {ref_full:.3f} s "
          f"= {official:.3f} s wall, {official_cpu:.3f} s CPU{estimated}")
    # On a busy machine wall times stretch unevenly; the CPU ratio is the steadier one.
    print(f"speed-up (e)/(d), what a user waits for: {official / process_wall:.0f}x wall, "
          f"{official_cpu / process_cpu:.0f}x CPU{estimated}")
    print(f"(d) where the CPU time of one such process goes ({phases['total']:.3f} s CPU in all; imported "
          f"{', '.join(phases['imported']) or 'none of pydantic, msgspec, orjson'}):")
    for name, seconds in phases["phases"].items():
        print(f"    {name:60s}{seconds:7.3f} s")
    ratio = official / process_wall
    print(f"target (d) <= 0.5 s wall: {_verdict(process_wall <= 0.5)} ({process_wall:.3f} s)")
    print(f"target (e)/(d) >= 60x: {_verdict(ratio >= 60)} ({ratio:.0f}x wall{estimated})")
    print(f"max |AP(a) - AP(b)| on the predictions given to (a): {np.abs(ref_ap - sub_result.ap).max():.2e}")
    print(f"full-set mAP: {np.round(full_result.map, 4).tolist()} average {full_result.average:.4f} "
          f"({full_result.num_invalid} reversed/zero-length, {full_result.num_ignored} ignored)")


if __name__ == "__main__":
    main()
