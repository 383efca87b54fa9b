"""Pseudo-label quality: ADM against thresholding (paper Table 2) on THUMOS'14-shaped signals.

For each signal difficulty (clean, medium, hard: admfit.synthetic.make_signals on the real
THUMOS'14 training videos) and each point set (the shipped simulated points, and, when
../shared/data is present, SF-Net's four human annotators' clicks), it prints alpha
(pseudo-labels per ground-truth instance), mAP at tIoU 0.1:0.7:0.1, mAP-AVG, and the mean tIoU of
each point's pseudo-label with its own instance, for:

- thresholding, one label per point: the run of snippets >= theta containing the point;
- thresholding, every run (the base model's proposals, alpha > 1);
- ADM as the paper states it (symmetric interval, Delta = g1 sigma + g2 omega), both uniform solvers;
- ADM with the improvements beyond the paper (two-sided intervals, model selection);
- a small grid over (delta, g1, g2, smoothing, background threshold) for choosing the defaults.

``--quick``: one difficulty, the simulated points, a reduced grid.
"""
from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np

from admfit import ADMConfig, fit_instances
from admfit.baselines import threshold_all_runs, threshold_per_point
from admfit.datasets import load_points, points_by_video
from admfit.evaluation import Detections, GroundTruthSegments
from admfit.evaluation.pseudo_quality import pseudo_label_quality
from admfit.synthetic import make_signals

from ._workload import point_rows, train_set

TIOUS = np.round(np.arange(0.1, 0.71, 0.1), 2)
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "thumos14"


def point_sets(quick: bool) -> dict[str, dict]:
    _, _, simulated = train_set()
    sets = {"simulated": simulated}
    clicks = SHARED / "sfnet_single_frames"
    if not quick and clicks.is_dir():
        for number in range(1, 5):
            sets[f"SF-Net A{number}"] = points_by_video(load_points(clicks / f"THUMOS{number}.txt"))
    return sets


class Scorer:
    """alpha, mAP per tIoU and each point's tIoU with its own instance (admfit.evaluation.pseudo_label_quality)."""

    def __init__(self, videos, classes, signals):
        self.classes, self.signals = classes, signals
        self.ground_truth = GroundTruthSegments.from_annotations({key: videos[key] for key in signals})

    def score(self, video, label, start_s, end_s, score, point_s) -> dict:
        labels = Detections(np.asarray(video), np.asarray([self.classes[c] for c in label]), np.asarray(start_s),
                            np.asarray(end_s), np.asarray(score))
        quality = pseudo_label_quality(self.ground_truth, labels, np.asarray(point_s, dtype=np.float64), TIOUS)
        maps = quality.detection.map
        return {"alpha": quality.alpha, "map": maps, "avg": float(maps.mean()),
                "own_iou": quality.mean_tiou if quality.mean_tiou is not None else float("nan")}


def threshold_rows(scorer, rows, theta, every_run, split=False):
    probs = {key: scorer.signals[key].probs for key in rows}
    segments = (threshold_all_runs(probs, rows, theta) if every_run
                else threshold_per_point(probs, rows, theta, split_at_points=split))
    # A run of snippets [start, end] covers their whole windows: half a step beyond each centre.
    start_s = [float(scorer.signals[s.video].grid.snippet_to_seconds(s.start - 0.5)) for s in segments]
    end_s = [float(scorer.signals[s.video].grid.snippet_to_seconds(s.end + 0.5)) for s in segments]
    if every_run:
        point_s = [np.nan] * len(segments)
    else:
        point_s = [float(scorer.signals[key].grid.snippet_to_seconds(p)) for key in rows for p in rows[key][:, 0]]
    return scorer.score([s.video for s in segments], [s.label for s in segments], start_s, end_s,
                        [s.score for s in segments], point_s)


def adm_rows(scorer, rows, config: ADMConfig):
    probs = {key: scorer.signals[key].probs for key in rows}
    bg = {key: scorer.signals[key].bg_probs for key in rows}
    grids = {key: scorer.signals[key].grid for key in rows}
    fits = fit_instances(probs, rows, bg_probs=bg, config=config, grid=grids)
    point_s = [float(grids[f.video].snippet_to_seconds(f.point)) for f in fits]
    return scorer.score([f.video for f in fits], [f.label for f in fits], [f.start_s for f in fits],
                        [f.end_s for f in fits], [f.score for f in fits], point_s)


def methods(quick: bool):
    """(name, kind, argument): the rows of the table."""
    yield from (("threshold per point, theta=%.1f" % t, "threshold", (t, False)) for t in (0.2, 0.3, 0.4, 0.5, 0.7))
    yield from (("threshold per point, theta=%.1f, split" % t, "threshold", (t, False, True)) for t in (0.3, 0.4, 0.5))
    yield "threshold, every run, theta=0.5", "threshold", (0.5, True)
    paper = ADMConfig.paper()
    yield "ADM paper (brent), g1=1 g2=0.5", "adm", paper
    yield "ADM paper (exact), g1=1 g2=0.5", "adm", paper.model_copy(update={"uniform_solver": "exact"})
    yield "ADM default", "adm", ADMConfig()
    yield "ADM default without split_at_points", "adm", ADMConfig(split_at_points=False)
    grid = {
        "interval": ["symmetric", "two_sided"],
        "combine": ["sum", "select"],
        "weights": [(1.0, 0.5), (1.5, 0.0), (0.0, 1.0), (2.0, 1.0), (1.5, 1.0), (1.2, 0.3)],
        "smoothing_sigma": [0.0, 1.0] if not quick else [1.0],
        "bg_threshold": [0.5] if not quick else [0.5],
        "dip_cut": [0.0, 0.3, 0.5],
    }
    for interval, combine, (g1, g2), smoothing, threshold, dip_cut in itertools.product(*grid.values()):
        config = ADMConfig(interval=interval, combine=combine, g1=g1, g2=g2, smoothing_sigma=smoothing,
                           bg_threshold=threshold, dip_cut=dip_cut, select_margin=1.0)
        name = (f"ADM {interval}/{combine} g=({g1:g},{g2:g}) sm={smoothing:g} bg={threshold:g} "
                f"cut={dip_cut:g}")
        yield name, "grid", config


def run_one(scorer, rows, kind, argument):
    if kind == "threshold":
        return threshold_rows(scorer, rows, *argument)
    return adm_rows(scorer, rows, argument)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks pseudo_quality", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="medium difficulty, simulated points, small grid")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--top", type=int, default=8, help="grid rows shown per table (best mAP-AVG first)")
    args = parser.parse_args(argv or [])
    videos, classes, _ = train_set()
    difficulties = ["medium"] if args.quick else ["clean", "medium", "hard"]
    grid_scores: dict[str, list[float]] = {}
    began = time.perf_counter()
    for difficulty in difficulties:
        signals = make_signals(videos, classes, difficulty=difficulty, seed=args.seed)
        for set_name, points in point_sets(args.quick).items():
            keys = [key for key in points if key in signals]
            rows = {key: point_rows(signals[key], points[key], classes) for key in keys}
            scorer = Scorer(videos, classes, {key: signals[key] for key in keys})
            header = f"\n## {difficulty} signals, {set_name} points ({sum(len(r) for r in rows.values())} points)"
            print(header)
            print(f"{'method':62s} {'alpha':>6s} " + " ".join(f"{t:>5.1f}" for t in TIOUS) + f" {'AVG':>5s} {'ownIoU':>6s}")
            table = []
            for name, kind, argument in methods(args.quick):
                result = run_one(scorer, rows, kind, argument)
                if kind == "grid":
                    grid_scores.setdefault(name, []).append(result["avg"])
                    table.append((name, result))
                    continue
                print(_row(name, result))
            for name, result in sorted(table, key=lambda item: -item[1]["avg"])[:args.top]:
                print(_row("  grid: " + name, result))
            sys.stdout.flush()
    print(f"\n## grid configurations by mean mAP-AVG over {len(next(iter(grid_scores.values())))} tables "
          f"(the default should sit at the top)")
    ranked = sorted(grid_scores.items(), key=lambda item: -np.mean(item[1]))
    for name, scores in ranked[:args.top]:
        print(f"{name:62s} mean {np.mean(scores) * 100:5.1f}  min {np.min(scores) * 100:5.1f}")
    print(f"\n({time.perf_counter() - began:.0f} s)")


def _row(name: str, result: dict) -> str:
    maps = " ".join(f"{m * 100:5.1f}" for m in result["map"])
    return f"{name:62s} {result['alpha']:6.2f} {maps} {result['avg'] * 100:5.1f} {result['own_iou']:6.3f}"


if __name__ == "__main__":
    main(sys.argv[1:])
