"""Which per-label measure ranks pseudo-labels by their true tIoU: the search behind ``PseudoLabel.confidence``
(docs/adm.md, "Confidence").

On every table of ``pseudo_quality`` (the same families, variants and point sets), the labels of the fixed defaults
(``ADMConfig(tuning="off")``) and of ``tuning="auto"`` (``ADMConfig()``) are scored by each measure below and by their
true tIoU with their own instance; the Spearman correlation of the two, per table, is summarised per family as its
median over the family's tables, and each measure by its worst family median over the families marked "choose" (the
held-out ones are printed, never used).

Measures (snippets on the first-level grid; actionness: the mean of the raw class column, upsampled, and one minus
the background probability, Gaussian-smoothed by sigma snippets):
- the confidence shipped before 692bc00, sqrt(p L / (L + 16)); the peak height p; the length L;
- the boundary contrast (``admfit.fit.contrast``); the lower of the two boundaries' contrasts (a quarter of the
  interval inside each boundary against as much outside); the contrast of each head alone;
- agreement (IoU) with the same point's label under ``ADMConfig.paper()`` and without background agreement; with
  its label under its own options (the defaults', or those auto chose) read at a smoother locate_sigma (stability
  under neighbouring smoothing), alone and times the shipped confidence;
- the distance to the nearest same-class point over L; minus the point's distance from the interval's centre over
  L; minus |log L - the class's median log L|;
- the run agreement of ``admfit.fit.confidence`` x L / (L + 8) at levels 0.3 to 0.7 of the way from floor to peak,
  floor reaches of 0.5, 1 and 2 interval lengths and smoothings of 1, 2 and 3 snippets (one changed at a time from
  the shipped 0.5, 1, 2); the same run read on the class head alone; the lower of the two heads' runs; the mean and
  the product of the shipped run agreement and the class head's (each x L / (L + 8)).
- crowding, the shipped confidence (run agreement x L / (L + 8)) times: one minus the largest share of the interval
  another label of the video covers; zero when another point (of any class; of the label's class) lies inside it.

With ``--runs WORK``, the base model's signals of the ablation runner's default runs in WORK (both generators, seeds
0..N-1; ``benchmarks.auto_on_runs.run_tables``) are ranked too, each generator a family, held out: real detector
outputs with the runs' clicks.

With ``--combine``, a weighted sum of the measures' within-table ranks is searched on the choose families alone
(``combined_search``) and printed on every family: whether the measures together rank better than any one.

``python -m benchmarks confidence_measures -- [--quick] [--workers N] [--runs WORK [--seeds N]] [--combine]`` (every
table: about 9 minutes on 2 cores).
"""
from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.stats import rankdata

from admfit import ADMConfig, fit_instances
from admfit.evaluation import Detections
from admfit.evaluation.detection import segment_iou
from admfit.evaluation.pseudo_quality import pseudo_label_quality
from admfit.fit.confidence import run_agreement
from admfit.fit.contrast import CONTRAST_MARGIN, ContrastTable
from admfit.fit.signal import upsample_signal
from admfit.fit.tuning import fit_tuned

from . import ablations, auto_on_runs
from . import pseudo_quality as pq
from ._stats import spearman

# Stability: the same point's label under the labels' own options with the peak, splits and background agreement
# read on a smoother copy of the class signal (locate_sigma, steps of the signal; the defaults choose it from the
# measured noise).
STABILITY_LOCATE_SIGMA = 4.0
STABILITY = f"its own options at locate_sigma {STABILITY_LOCATE_SIGMA:g} (stability)"
SHIPPED = (0.5, 1.0, 2.0)  # the run agreement's level, floor reach (interval lengths) and smoothing (snippets)
SHIPPED_NAME = "run agreement x L/(L+8), shipped"
COMBINE_WEIGHTS = (0.0, 0.1, 0.25, 0.5, 1.0)  # --combine: each measure's weight against the shipped one's 1
COMBINE_SWEEPS = 2
VARIANTS = [("level", level, (level, 1.0, 2.0)) for level in (0.3, 0.4, 0.6, 0.7)] + \
    [("reach", reach, (0.5, reach, 2.0)) for reach in (0.5, 2.0)] + \
    [("sigma", sigma, (0.5, 1.0, sigma)) for sigma in (1.0, 3.0)]


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if values.size else float("nan")


class _Signals:
    """Per (video, class): the unsmoothed actionness and the two heads' columns, smoothed on demand."""

    def __init__(self, table: pq.Table):
        self.table, self.cache = table, {}

    def columns(self, video, label: int, sigma: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        key = (video, label, sigma)
        if key not in self.cache:
            signals = self.table.signals[video]
            background = 1.0 - np.asarray(signals.bg_probs, dtype=np.float64)
            column = upsample_signal(np.asarray(signals.probs)[:, [label]], background.size, signals.centres)[:, 0]
            self.cache[key] = tuple(gaussian_filter1d(x, sigma, mode="nearest")
                                    for x in (0.5 * (column + background), column, background))
        return self.cache[key]


def _boundaries(values: np.ndarray, lo: int, hi: int) -> tuple[float, float, float]:
    """(inside minus outside a quarter-length flank pair, the lower of the two boundaries' contrasts)."""
    width = hi - lo + 1
    margin = max(1, int(np.ceil(CONTRAST_MARGIN * width)))
    left, right = values[max(0, lo - margin):lo], values[hi + 1:hi + 1 + margin]
    inside = _mean(values[lo:hi + 1])
    contrast = inside - _mean(np.concatenate([left, right])) if left.size + right.size else 0.0
    sides = [_mean(values[lo:lo + margin]) - _mean(left) if left.size else np.inf,
             _mean(values[hi + 1 - margin:hi + 1]) - _mean(right) if right.size else np.inf]
    lower = min(sides)
    return contrast, lower if np.isfinite(lower) else contrast


def measures(table: pq.Table, fits: dict, others: dict[str, dict]) -> dict[str, np.ndarray]:
    """Every measure of the module docstring, per label of ``fits`` (others: the same points' labels under the
    configurations agreement is measured with)."""
    signals, rows = _Signals(table), table.rows
    start, end = fits["start"], fits["end"]
    length = np.maximum(end - start, 0.0)
    factor = length / (length + 8.0)
    found = {"before: sqrt(p L / (L + 16))": np.sqrt(fits["score"].clip(0, 1) * length / (length + 16.0)),
             "peak height": fits["score"], "length": length}
    per_label: dict[str, list] = {name: [] for name in (
        "lower boundary contrast", "class head contrast", "background head contrast", "nearest same-class point / L",
        "- point's distance from the centre / L", SHIPPED_NAME,
        "run agreement on the class head x L/(L+8)", "run agreement, the lower of the two heads', x L/(L+8)",
        "run agreement, mean of both heads' and the class head's, x L/(L+8)",
        "run agreement, both heads' x the class head's, x L/(L+8)",
        *[f"... {what} {value:g}" for what, value, _ in VARIANTS])}
    for video, point, label, first, last in zip(fits["video"], fits["point"], fits["label"], start, end):
        both, single, background = signals.columns(video, int(label), 2.0)
        lo = int(np.clip(np.rint(first), 0, both.size - 1))
        hi = int(np.clip(np.rint(last), lo, both.size - 1))
        per_label["lower boundary contrast"].append(_boundaries(both, lo, hi)[1])
        per_label["class head contrast"].append(_boundaries(single, lo, hi)[0])
        per_label["background head contrast"].append(_boundaries(background, lo, hi)[0])
        same = rows[video][rows[video][:, 1] == label, 0]
        gaps = np.abs(same - point)
        per_label["nearest same-class point / L"].append(gaps[gaps > 0].min(initial=1e6) / max(last - first, 1.0))
        per_label["- point's distance from the centre / L"].append(-abs(point - 0.5 * (first + last))
                                                                   / max(last - first, 1.0))
        on_both = run_agreement(both, lo, hi, *SHIPPED[:2])
        per_label[SHIPPED_NAME].append(on_both)
        on_class = run_agreement(single, lo, hi, *SHIPPED[:2])
        per_label["run agreement on the class head x L/(L+8)"].append(on_class)
        per_label["run agreement, the lower of the two heads', x L/(L+8)"].append(
            min(on_class, run_agreement(background, lo, hi, *SHIPPED[:2])))
        per_label["run agreement, mean of both heads' and the class head's, x L/(L+8)"].append(
            0.5 * (on_both + on_class))
        per_label["run agreement, both heads' x the class head's, x L/(L+8)"].append(on_both * on_class)
        for what, value, (level, reach, sigma) in VARIANTS:
            values = both if sigma == 2.0 else signals.columns(video, int(label), sigma)[0]
            per_label[f"... {what} {value:g}"].append(run_agreement(values, lo, hi, level, reach))
    for name, values in per_label.items():
        found[name] = np.asarray(values) * (factor if name.startswith(("run", "...")) else 1.0)
    contrast = ContrastTable({k: s.probs for k, s in table.signals.items()}, rows,
                             {k: s.bg_probs for k, s in table.signals.items()}, pq._centres(table))
    found["boundary contrast"] = contrast.contrast(fits["video"], fits["label"], start, end)
    found["- |log L - class median|"] = _length_consistency(length, fits["label"])
    crowding = _crowding(fits)
    shipped = found[SHIPPED_NAME]
    found["x (1 - share claimed by a neighbouring label)"] = shipped * (1.0 - crowding["overlap"])
    found["x [no other point inside]"] = shipped * (crowding["points_inside"] == 0)
    found["x [no same-class point inside]"] = shipped * (crowding["same_class_inside"] == 0)
    for name, other in others.items():
        with np.errstate(invalid="ignore"):  # two empty intervals: no overlap, 0
            found[f"agreement with {name}"] = np.nan_to_num(segment_iou(start, end, other["start"], other["end"]))
    if STABILITY in others:
        found[f"x agreement with {STABILITY}"] = shipped * found[f"agreement with {STABILITY}"]
    return found


def _crowding(fits: dict) -> dict[str, np.ndarray]:
    """Per label: the largest share of its interval that another label of the same video covers, and how many other
    points (of any class; of its class) lie inside it (snippets)."""
    start, end, point, label = (np.asarray(fits[k], dtype=np.float64) for k in ("start", "end", "point", "label"))
    video = np.asarray(list(fits["video"]))
    found = {k: np.zeros(start.size) for k in ("overlap", "points_inside", "same_class_inside")}
    for name in np.unique(video):
        mine = np.flatnonzero(video == name)
        s, e = start[mine], end[mine]
        covered = np.clip(np.minimum(e[:, None], e[None, :]) - np.maximum(s[:, None], s[None, :]), 0.0, None)
        np.fill_diagonal(covered, 0.0)
        found["overlap"][mine] = covered.max(axis=1) / np.maximum(e - s, 1.0)
        inside = (point[mine][None, :] >= s[:, None]) & (point[mine][None, :] <= e[:, None])
        np.fill_diagonal(inside, False)
        found["points_inside"][mine] = inside.sum(axis=1)
        found["same_class_inside"][mine] = (inside & (label[mine][None, :] == label[mine][:, None])).sum(axis=1)
    return found


def _length_consistency(length: np.ndarray, label: np.ndarray) -> np.ndarray:
    logs = np.log(np.maximum(length, 1.0))
    out = np.empty_like(logs)
    for value in np.unique(label):
        mine = label == value
        out[mine] = -np.abs(logs[mine] - np.median(logs[mine]))
    return out


def tious(table: pq.Table, fits: dict) -> np.ndarray:
    point_s = [float(table.signals[v].grid.snippet_to_seconds(p)) for v, p in zip(fits["video"], fits["point"])]
    labels = Detections(np.asarray(list(fits["video"])), np.asarray([table.classes[c] for c in fits["label"]]),
                        np.asarray(fits["start_s"]), np.asarray(fits["end_s"]), np.asarray(fits["score"]))
    return pseudo_label_quality(table.ground_truth, labels, np.asarray(point_s), pq.TIOUS).tious


def label_measures(table: pq.Table) -> dict[str, tuple[np.ndarray, dict[str, np.ndarray]]]:
    """{labels ("defaults", "auto"): (each label's true tIoU, {measure: its values})} of one table, the labels whose
    tIoU is known."""
    inputs, options = pq._adm_inputs(table), pq._adm_options(table)
    auto, tuned = fit_tuned(*inputs, config=ADMConfig(tuning="auto"), **options, as_table=True)
    fitted = {"defaults": (fit_instances(*inputs, config=pq.FIXED, **options, as_table=True), pq.FIXED),
              "auto": (auto, tuned.config)}
    others = {"ADMConfig.paper()": fit_instances(*inputs, config=ADMConfig.paper(), **options, as_table=True),
              "no background agreement": fit_instances(
                  *inputs, config=pq.FIXED.model_copy(update={"bg_agreement": 0.0}), **options, as_table=True)}
    found = {}
    for name, (fits, config) in fitted.items():
        truth = tious(table, fits)
        known = np.isfinite(truth)
        smoothed = config.model_copy(update={"locate_sigma": STABILITY_LOCATE_SIGMA})
        compared = {**others, STABILITY: fit_instances(*inputs, config=smoothed, **options, as_table=True)}
        found[name] = (truth[known], {measure: np.asarray(values, dtype=np.float64)[known]
                                      for measure, values in measures(table, fits, compared).items()})
    return found


def rank_table(table: pq.Table) -> dict[str, dict[str, float]]:
    """{labels: {measure: Spearman with tIoU}} of one table (what a worker returns without --combine)."""
    return spearmans(label_measures(table))


def spearmans(found: dict) -> dict[str, dict[str, float]]:
    """``label_measures``' values -> {labels: {measure: Spearman with tIoU}}."""
    return {name: {measure: spearman(values, truth) for measure, values in columns.items()}
            for name, (truth, columns) in found.items()}


def within_table_ranks(found: dict) -> dict:
    """``label_measures``' values with each measure replaced by its ranks over the table's labels, in (0, 1]."""
    return {name: (truth, {measure: rankdata(np.nan_to_num(values, nan=-np.inf)) / max(values.size, 1)
                           for measure, values in columns.items()})
            for name, (truth, columns) in found.items()}


def combined_medians(tables: list[pq.Table], ranked: list[dict], weights: dict[str, float]) -> dict:
    """{(family, labels): the median over the family's tables of the Spearman of the weighted sum of the measures'
    ranks (``within_table_ranks``) with tIoU}."""
    per: dict[tuple[str, str], list[float]] = {}
    for table, table_ranked in zip(tables, ranked):
        for name, (truth, columns) in table_ranked.items():
            score = sum(weight * columns[measure] for measure, weight in weights.items())
            per.setdefault((table.family, name), []).append(spearman(score, truth))
    return {key: _median(values) for key, values in per.items()}


def combined_search(tables: list[pq.Table], ranked: list[dict]) -> dict[str, float]:
    """The weights of the rank sum with the best worst median over the choose families and both kinds of labels:
    coordinate search from the shipped confidence alone, each other measure's weight over COMBINE_WEIGHTS, for
    COMBINE_SWEEPS sweeps. Held-out families and real outputs are not read."""
    chosen = [(table, table_ranked) for table, table_ranked in zip(tables, ranked) if table.role == pq.CHOOSE]

    def worst(weights: dict[str, float]) -> float:  # a family where nothing ranks (NaN) counts as the worst
        medians = combined_medians([t for t, _ in chosen], [r for _, r in chosen], weights).values()
        return min(value if np.isfinite(value) else -np.inf for value in medians)

    weights = {SHIPPED_NAME: 1.0}
    best = worst(weights)
    for _ in range(COMBINE_SWEEPS):
        for measure in ranked[0]["defaults"][1]:
            for weight in COMBINE_WEIGHTS if measure != SHIPPED_NAME else ():
                trial = {**weights, measure: weight}
                value = worst(trial)
                if value > best + 1e-4:
                    best, weights = value, trial
            weights = {name: weight for name, weight in weights.items() if weight}
    return weights


def report_combined(tables: list[pq.Table], found: list[dict]) -> None:
    """``--combine``: the weights ``combined_search`` chooses and the rank sum's median Spearman on every family."""
    ranked = [within_table_ranks(table_found) for table_found in found]
    weights = combined_search(tables, ranked)
    medians = combined_medians(tables, ranked, weights)
    print("\n## a weighted sum of the measures' ranks, weights chosen by the worst choose family (defaults' / auto's "
          "labels; held-out families and real outputs not read)")
    print("weights: " + "; ".join(f"{name} {weight:g}" for name, weight in weights.items()))
    for family in dict.fromkeys(t.family for t in tables):
        print(f"  {family:42s} {medians[family, 'defaults']:+.2f} / {medians[family, 'auto']:+.2f}")


def _median(values: list[float]) -> float:
    finite = [value for value in values if np.isfinite(value)]
    return float(np.median(finite)) if finite else float("nan")


def report(tables: list[pq.Table], ranks: list[dict]) -> None:
    names = list(dict.fromkeys(t.family for t in tables))
    choose = [name for name in names if next(t.role for t in tables if t.family == name) == pq.CHOOSE]
    print("Spearman with tIoU: median over each family's tables, defaults' / auto's labels; the worst family of "
          "those marked 'choose' (held out: " + ", ".join(n for n in names if n not in choose) + ")")
    print(f"{'measure':42s}" + "".join(f"{name[:15]:>16s}" for name in names) + "   worst (choose)")
    for measure in ranks[0]["defaults"]:
        medians = {name: [_median([r[labels][measure] for t, r in zip(tables, ranks) if t.family == name])
                          for labels in ("defaults", "auto")] for name in names}
        worst = [min((medians[name][k] for name in choose), key=lambda m: (np.isfinite(m), m)) for k in (0, 1)]
        print(f"{measure:42s}" + "".join(f"{m[0]:+8.2f}/{m[1]:+.2f}" for m in medians.values())
              + f"   {worst[0]:+.2f} / {worst[1]:+.2f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks confidence_measures",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one variant per family, simulated points only")
    parser.add_argument("--workers", type=int, default=1, help="processes scoring tables in parallel")
    parser.add_argument("--runs", type=Path, default=None, metavar="WORK",
                        help="also rank on real detector outputs: the base-model signals of the ablation runner's "
                        "default runs in WORK, both generators (benchmarks.auto_on_runs; trained where missing); "
                        "held out")
    parser.add_argument("--seeds", type=int, default=3, help="with --runs: training seeds 0..N-1")
    parser.add_argument("--combine", action="store_true",
                        help="also search a weighted sum of the measures' ranks on the choose families (docs/adm.md)")
    args = parser.parse_args(argv or [])
    began = time.perf_counter()
    tables = pq.build_tables(argparse.Namespace(quick=args.quick, families=None, hold_out="rough", choose=False,
                                                seed=0))
    for generator in ablations.GENERATORS if args.runs is not None else ():
        tables += auto_on_runs.run_tables(["--generator", generator, "--seeds", str(args.seeds), "--work",
                                           str(args.runs)], log=lambda line: None)
    with multiprocessing.get_context("fork").Pool(args.workers) as pool:
        # The per-label values cross from the workers only when the rank sum needs them.
        found = pool.map(label_measures if args.combine else rank_table, tables, chunksize=1)
    report(tables, [spearmans(table_found) for table_found in found] if args.combine else found)
    if args.combine:
        report_combined(tables, found)
    print(f"\n({time.perf_counter() - began:.0f} s)")


if __name__ == "__main__":
    main(sys.argv[1:])
