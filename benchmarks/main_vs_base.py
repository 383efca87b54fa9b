"""Main model against base model (the paper's central claim), per inference variant, over training seeds.

For each training seed, one run of the ablation runner's ``default`` variant (r_a = 2; main model with sigma head,
L_G, r_s = 2) is trained through every stage (``benchmarks.ablations``: same data, sizes and run folders). Its
base and main checkpoints are then detected and scored on the test videos again under each inference variant
(``--variants``, ``--set``-style overrides of ``inference.*``), so that every variant compares the same trained
models. Printed per variant: test mAP AVG (0.1:0.7, %) of base and main as mean +- std over seeds, the per-seed
difference main - base (mean +- std), whether it clears the bar (+3 and beyond the seed spread: the mean
difference larger than the std of the differences; docs/ablations.md, "Reading"), and the per-level scores that motivated ``level_fusion``
(docs/detector.md 4c).

    python -m benchmarks main_vs_base -- [--quick] [--seeds 3] [--generator synthetic|independent] [--work DIR]
        [--variants pool mean]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Sequence

from . import ablations

VARIANTS = {"pool": ("inference.level_fusion=pool",), "mean": ("inference.level_fusion=mean",)}
BAR = 3.0  # mAP points (%): the bar for main over base (docs/ablations.md, "Reading")


def rescore(run_dir: Path, data: ablations.Data, stage: str, sets: Sequence[str], device: str | None) -> float:
    """Test mAP AVG (%) of ``run_dir``'s ``stage`` checkpoint under the inference overrides ``sets``."""
    from admfit_torch import RunLayout
    from admfit_torch.run.request import detect_checkpoint

    found = detect_checkpoint(getattr(RunLayout(run_dir), f"{stage}_checkpoint"), data.features, data.annotations,
                              overrides=sets, device=device)
    return 100 * found.score().average


def _mean_std(values: Sequence[float]) -> tuple[float, float]:
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def summarise(scores: dict) -> list[dict]:
    """scores: {variant: {"base": [per seed], "main": [per seed]}} -> one row per variant."""
    rows = []
    for name, by_stage in scores.items():
        differences = [m - b for m, b in zip(by_stage["main"], by_stage["base"])]
        mean_diff, std_diff = _mean_std(differences)
        rows.append({"variant": name, "base": _mean_std(by_stage["base"]), "main": _mean_std(by_stage["main"]),
                     "difference": (mean_diff, std_diff), "per_seed": by_stage,
                     "bar_met": mean_diff >= BAR and mean_diff > std_diff})
    return rows


def render(rows: Sequence[dict]) -> str:
    lines = [f"{'inference':10s} {'base AVG (%)':>14s} {'main AVG (%)':>14s} {'main - base':>14s}  bar (+{BAR:g}, "
             "beyond spread)"]
    for row in rows:
        cells = [f"{row[key][0]:5.1f} ± {row[key][1]:4.1f}" for key in ("base", "main", "difference")]
        lines.append(f"{row['variant']:10s} {cells[0]:>14s} {cells[1]:>14s} {cells[2]:>14s}  "
                     f"{'met' if row['bar_met'] else 'NOT met'}")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks main_vs_base", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one seed, 20 + 20 videos, 20 epochs (a smoke run)")
    parser.add_argument("--seeds", type=int, default=None, help="training seeds (default 3)")
    parser.add_argument("--videos", type=int, default=None, help="videos per subset (default 60)")
    parser.add_argument("--epochs", type=int, default=None, help="optim.epochs (default 30)")
    ablations.add_data_arguments(parser)
    parser.add_argument("--config", default="cpu-small")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--device", default=None)
    parser.add_argument("--work", type=Path, default=None, help="keep data and runs here (reused when present)")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = parser.parse_args(list(argv or []))
    defaults = ablations.QUICK if args.quick else ablations.DEFAULT
    for name in ("seeds", "videos", "epochs"):
        if getattr(args, name) is None:
            setattr(args, name, defaults[name])
    args.input_length = defaults["input_length"]
    return args


def main(argv: Sequence[str] | None = None) -> list[dict]:
    import tempfile

    args = parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="admfit-main-vs-base-"))
    data = ablations.make_data(work, args.videos, args.dim, args.data_seed, args.generator, args.variant)
    user_sets = [f"data.input_length={args.input_length}", f"optim.epochs={args.epochs}"]
    default = ablations.variant("default")
    print(f"main_vs_base: generator {args.generator}{'/' + args.variant if args.variant else ''}, "
          f"{args.videos} + {args.videos} videos (dim {args.dim}, data seed {args.data_seed}), "
          f"{args.epochs} epochs, seeds 0..{args.seeds - 1}, {args.config}\ncode: {ablations.code_version()}",
          flush=True)
    began = time.perf_counter()
    scores = {name: {"base": [], "main": []} for name in args.variants}
    for seed in range(args.seeds):
        sets = ablations.run_overrides(default, seed, user_sets)
        # the ablation runner's layout: with the same --work, its default runs are these (trained once)
        run_dir = ablations.runs_root(work, data, args.config, user_sets) / f"seed{seed}" / default.name
        _, seconds = ablations.train(run_dir, ablations.run_config(data, args.config, sets, args.device))
        line = [f"seed {seed}: trained in {seconds:.0f} s"]
        for name in args.variants:
            for stage in ("base", "main"):
                scores[name][stage].append(rescore(run_dir, data, stage, VARIANTS[name], args.device))
            line.append(f"{name}: base {scores[name]['base'][-1]:.1f}, main {scores[name]['main'][-1]:.1f}")
        print("; ".join(line), flush=True)
    rows = summarise(scores)
    print(render(rows))
    print(f"({time.perf_counter() - began:.0f} s wall)")
    if args.json is not None:
        from admfit.files.atomic import atomic_write_text

        atomic_write_text(args.json, json.dumps(rows, indent=1))
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
