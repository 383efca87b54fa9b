"""Self-tuning on real detector outputs: the base model's signals of the ablation runner's default runs.

For each training seed, the ablation runner's ``default`` run (``benchmarks.ablations``; shared with ``python -m
benchmarks ablations`` and ``peer_detector`` under the same ``--work``, trained here when missing) holds its base
model's per-snippet signals on the training videos (``RUN/base/signals.npz``). They are fitted again as ``admfit fit
RUN/base/signals.npz CLICKS`` fits them, with each candidate of self-tuning (``admfit.fit.tuning.candidates`` of the
fixed defaults, ``ADMConfig(tuning="off")``) and with ``tuning="auto"``, and each set of pseudo-labels is scored
against the training videos' annotations as ``admfit eval-pseudo`` scores them (paper Table 2: mAP-AVG over tIoU
0.1:0.7 and the mean tIoU of each label with its point's instance). No signal of these runs was used to design
self-tuning or choose its margins: they are a family of real detector outputs held out of it (docs/adm.md,
"Self-tuning").

With ``--degrade KIND[,KIND...]|all``, each seed's signals are degraded instead (``admfit.synthetic.families
.degradations``: the ways real outputs go wrong) and scored as ``pseudo_quality --auto`` scores a table, against
self-tuning's bar: real detector outputs gone wrong, a family no part of self-tuning was designed on.

    python -m benchmarks auto_on_runs -- [--generator synthetic|independent] [--seeds N] [--work DIR] [--degrade K]
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import ablations, peer_labels
from ._stats import spearman

AUTO = "auto"


def candidate_configs() -> dict:
    """{name: ADMConfig}: every candidate of self-tuning for the defaults, then auto."""
    from admfit.fit.config import ADMConfig
    from admfit.fit.tuning import candidates

    return {**candidates(ADMConfig(tuning="off")), AUTO: ADMConfig(tuning="auto")}


def quality(rows: Sequence[dict], truth, tious: np.ndarray) -> tuple[float, float, float]:
    """(mAP-AVG in %, mean tIoU with the point's instance, the confidence's Spearman with that tIoU) of pseudo-label
    rows against ``truth`` (GroundTruthSegments) at ``tious``."""
    from admfit.evaluation import pseudo_label_quality
    from admfit.evaluation.results_io import pseudo_label_columns

    found = pseudo_label_quality(truth, *pseudo_label_columns(rows), tious)
    assigned = np.isfinite(found.tious)
    confidence = np.array([row["confidence"] for row in rows], dtype=np.float64)
    return (float(found.detection.map.mean()) * 100, float(found.mean_tiou),
            spearman(confidence[assigned], found.tious[assigned]))


def training_truth(data: ablations.Data, cfg):
    """The GroundTruthSegments of the run's training subset."""
    from admfit.datasets.annotation_columns import read_annotation_columns
    from admfit.evaluation import GroundTruthSegments

    return GroundTruthSegments.from_columns(read_annotation_columns(data.annotations).select(cfg.run.train_subset))


def signals_table(signals, points, point_classes, truth, family: str, variant: str, *, signals_file=None,
                  points_file=None):
    """A ``benchmarks.pseudo_quality`` Table (role held out, point set "clicks") of a SignalSet with background
    probabilities and its clicks (``admfit.files.points`` RawPoints), resolved as ``admfit fit`` resolves them."""
    from admfit.fit.points import resolve_points
    from admfit.synthetic.families import FamilySignals

    from . import pseudo_quality as pq

    resolved = resolve_points(signals, points, point_classes, signals_file=signals_file, points_file=points_file)
    missing = [video for video in resolved.rows if video not in resolved.signals.bg_probs]
    if missing:
        raise ValueError(f"{signals_file}: no bg_probs for {missing[0]} (a background mask is not read here)")
    videos = {video: FamilySignals(np.asarray(resolved.signals.probs[video], dtype=np.float64),
                                   np.asarray(resolved.signals.bg_probs[video], dtype=np.float64),
                                   resolved.grids[video], resolved.signals.centres) for video in resolved.rows}
    return pq.Table(family, variant, "clicks", pq.HELD_OUT, videos, resolved.rows, truth, list(resolved.classes))


def run_tables(argv: Sequence[str], log=print) -> list:
    """One ``signals_table`` per seed of the default runs ``argv`` (this module's options) names, trained where
    missing: family "base model, GENERATOR generator", variant "seed N"."""
    args = parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="admfit-auto-on-runs-"))
    data = ablations.make_data(work, args.videos, args.dim, args.data_seed, args.generator, args.variant)
    return tables_of(args, work, data, log)


def tables_of(args: argparse.Namespace, work: Path, data: ablations.Data, log=print) -> list:
    """``run_tables`` of parsed options, the data made."""
    tables = []
    for seed in range(args.seeds):
        cfg, run_dir, _ = ablations.default_run(args, work, data, seed, log=log)
        signals, points, point_classes, signals_file = peer_labels.fit_inputs(
            peer_labels.Source(data, cfg, run_dir, work))
        tables.append(signals_table(signals, points, point_classes, training_truth(data, cfg),
                                    f"base model, {args.generator} generator", f"seed {seed}",
                                    signals_file=signals_file, points_file=data.points))
    return tables


def degraded_rows(table, kinds: Sequence[str]) -> tuple[list[str], list[dict]]:
    """``--degrade``: for each of ``kinds`` (``admfit.synthetic.families.degradations``), the table's signals
    degraded and scored as ``pseudo_quality --auto`` scores a table; one line each, and the figures of the bar."""
    from admfit.synthetic.families.degradations import degrade

    from . import pseudo_quality as pq

    lines, figures = [], []
    for kind in kinds:
        degraded = dataclasses.replace(table, signals=degrade(table.signals, kind, 0), variant=f"{table.variant} "
                                       f"{kind}", results={})
        degraded.results = pq.baselines_and_defaults(degraded, None, True)
        found = pq.auto_figures(degraded)
        avg = {name: degraded.results[key]["avg"] for name, key in (
            ("defaults", "ADM default"), ("paper", pq.PAPER_LITERAL), ("no_bg_agreement", "cand no_bg_agreement"),
            ("auto", pq.AUTO))}
        lines.append(f"{degraded.variant:22s} " + "  ".join(f"{name} {value:5.1f}" for name, value in avg.items())
                     + f"; vs defaults {found['vs_default']:+.1f}, vs paper {found['vs_paper']:+.1f}, below the best "
                     f"candidate {found['regret']:.1f}; videos out of step {found['out_of_step']:.0%}; "
                     f"{found['chosen']}")
        figures.append(found)
    return lines, figures


def bar_summary(figures: list[dict]) -> str:
    """The bar of docs/adm.md "Self-tuning" over ``degraded_rows``' figures."""
    from .pseudo_quality import outside_bar

    outside = sum(outside_bar(f) for f in figures)
    return (f"{len(figures)} tables: worst vs defaults {min(f['vs_default'] for f in figures):+.1f}, vs paper "
            f"{min(f['vs_paper'] for f in figures):+.1f}, most below the best candidate "
            f"{max(f['regret'] for f in figures):.1f}; tables outside the bar: {outside}")


def run_seed(args, work: Path, data: ablations.Data, seed: int) -> dict[str, tuple[float, float, float]]:
    """{configuration: ``quality``} of one seed's base-model signals, on the run's training subset."""
    from admfit.evaluation.thresholds import parse_tious

    cfg, run_dir, _ = ablations.default_run(args, work, data, seed, log=lambda line: print(line, flush=True))
    source = peer_labels.Source(data, cfg, run_dir, work)
    truth = training_truth(data, cfg)
    tious = parse_tious(cfg.run.tious)
    fitted, _ = peer_labels.fits_of(source, candidate_configs())
    tuned = fitted[AUTO].tuning
    print(f"seed {seed}: {tuned.line}; videos out of step {tuned.out_of_step:.0%}", flush=True)
    return {name: quality(outcome.rows, truth, tious) for name, outcome in fitted.items()}


def render(per_seed: dict[int, dict[str, tuple[float, float, float]]]) -> str:
    """One line per seed (mAP-AVG / mean tIoU / the confidence's Spearman per configuration; auto against the
    defaults and the best candidate) and the mean over seeds."""
    names = list(next(iter(per_seed.values())))
    lines = ["seed  " + "  ".join(f"{name:>22s}" for name in names) + "  auto-defaults  auto-best"]
    for seed, found in per_seed.items():
        best = max(found[name][0] for name in names if name != AUTO)
        cells = "  ".join(f"{found[name][0]:8.1f} / {found[name][1]:.3f} / {found[name][2]:+.2f}" for name in names)
        lines.append(f"{seed:4d}  {cells}  {found[AUTO][0] - found['defaults'][0]:+13.1f}  "
                     f"{found[AUTO][0] - best:+9.1f}")
    means = "  ".join(f"{np.mean([f[name][0] for f in per_seed.values()]):22.1f}" for name in names)
    lines.append(f"mean  {means}")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks auto_on_runs", description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=ablations.DEFAULT["seeds"], help="training seeds 0..N-1")
    parser.add_argument("--videos", type=int, default=ablations.DEFAULT["videos"], help="videos per subset")
    parser.add_argument("--epochs", type=int, default=ablations.DEFAULT["epochs"], help="admfit's optim.epochs")
    ablations.add_data_arguments(parser)
    parser.add_argument("--config", default="cpu-small", help="admfit's preset or YAML (the ablation runner's)")
    parser.add_argument("--device", default=None, help="admfit's device")
    parser.add_argument("--degrade", default=None, metavar="KIND[,KIND...]|all",
                        help="instead: each seed's signals degraded (admfit.synthetic.families.degradations) and "
                             "scored as pseudo_quality --auto scores a table")
    parser.add_argument("--out-of-step", type=float, default=None, metavar="S",
                        help="self-tuning's OUT_OF_STEP_VIDEOS instead of the shipped one (1: the rule before the "
                             "alignment check)")
    parser.add_argument("--work", type=Path, default=None, help="keep data and runs here (default: a new temporary "
                        "folder, kept)")
    args = parser.parse_args(list(argv or []))
    if args.seeds < 1:
        parser.error("--seeds must be at least 1")
    if args.out_of_step is not None:  # read at each fit
        from admfit.fit import tuning

        tuning.OUT_OF_STEP_VIDEOS = args.out_of_step
    if args.degrade is not None:
        from admfit.synthetic.families.degradations import DEGRADATIONS

        args.degrade = list(DEGRADATIONS) if args.degrade == "all" else args.degrade.split(",")
        unknown = [kind for kind in args.degrade if kind not in DEGRADATIONS]
        if unknown:
            parser.error(f"--degrade: unknown {unknown[0]!r} (one of {', '.join(DEGRADATIONS)}, or all)")
    args.input_length, args.data = ablations.DEFAULT["input_length"], None
    if args.generator == "independent":
        from admfit.synthetic.families.independent_features import DEFAULT_VARIANT

        args.variant = args.variant or DEFAULT_VARIANT
    elif args.variant is not None:
        parser.error("--variant applies to --generator independent only")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="admfit-auto-on-runs-"))
    work.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    print(f"auto_on_runs: generator {args.generator}{'/' + args.variant if args.variant else ''}, {args.videos} + "
          f"{args.videos} videos, admfit {args.config} {args.epochs} epochs, seeds 0..{args.seeds - 1}\nwork: {work}\n"
          f"code: {ablations.code_version()}", flush=True)
    data = ablations.make_data(work, args.videos, args.dim, args.data_seed, args.generator, args.variant)
    if args.degrade is not None:
        figures = []
        for table in tables_of(args, work, data, log=lambda line: print(line, flush=True)):
            lines, found = degraded_rows(table, args.degrade)
            print("\n".join(lines), flush=True)
            figures += found
        print(f"\n## degraded base-model signals, tuning='auto' against the bar: {bar_summary(figures)}")
        print(f"({time.perf_counter() - began:.0f} s wall)")
        return 0
    per_seed = {seed: run_seed(args, work, data, seed) for seed in range(args.seeds)}
    print("\n## pseudo-label quality of the base model's signals on the training videos: mAP-AVG (%) / mean tIoU / "
          "the confidence's Spearman with tIoU")
    print(render(per_seed))
    print(f"({time.perf_counter() - began:.0f} s wall)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
