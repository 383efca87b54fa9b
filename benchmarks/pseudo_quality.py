"""Pseudo-label quality on signal families designed apart from each other (paper Table 2; docs/adm.md, "Why these
defaults").

Every table is one signal family's variant x one point set, on the real THUMOS'14 training videos,
instances and points. Families (benchmarks/families/__init__.py names each one's module):

- ``synthetic`` (a): admfit.synthetic's signals; ``detector`` (c): real outputs of the reference base
  model (``admfit-torch train --stage base, pseudo`` on synthetic features; two seeds, two training
  lengths), fitted as the pipeline fits them; ``independent`` (b): a generator written apart from (a)
  (logit-space evidence, AR(1) noise, impulses, confusion, a background head with its own errors);
- ``degraded-*`` (d): degradations of one variant of each (impulses, strong noise, a shifted or
  mis-calibrated background head, quantised probabilities, a temperature change, a coarse level).

Point sets: the shipped simulated (Gaussian) points, uniform points drawn inside each instance and,
when ../shared/data is there, SF-Net's four human annotators (A1-A4).

Each table holds the baselines (the best single threshold, one label per point; ADMConfig.paper() at
its best (g1, g2)) and ADM's defaults before they were chosen on these families (docs/adm.md, "Choosing the
defaults") and now; the margin of a configuration is its mAP-AVG (0.1:0.7) minus the best baseline of that
table. The defaults are chosen by their WORST margin over the families marked "choose" (``--choose`` ranks a
grid of candidates that way); the families marked "held out" are reported, never used for choosing. The last
lines summarise each family.

``--quick``: one variant per family, the simulated points, no degradations.
"""
from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from functools import partial
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from admfit import ADMConfig, fit_instances
from admfit.data import data_path
from admfit.datasets import class_names, load_points, points_by_video, thumos14
from admfit.datasets.simulate import SimulationConfig, simulate_points
from admfit.evaluation import Detections, GroundTruthSegments
from admfit.evaluation.pseudo_quality import pseudo_label_quality
from admfit.fit.baselines import threshold_per_point
from admfit.fit.confidence import CONFIDENCE_LENGTH, length_factor
from admfit.fit.contrast import ContrastTable
from admfit.fit import tuning
from admfit.fit.tuning import candidates, fit_tuned
from admfit.fit.signal import prepare_signal
from admfit.synthetic.families import FamilySignals

from ._stats import spearman
from ._workload import point_rows
from .families import signal_family

TIOUS = np.round(np.arange(0.1, 0.71, 0.1), 2)
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "thumos14"
THRESHOLDS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
PAPER_WEIGHTS = ((1.0, 0.5), (1.0, 0.0), (0.0, 1.0), (0.5, 0.5), (1.0, 1.0), (1.5, 0.5), (0.5, 0.25))
# The defaults shipped before they were chosen on these families ("before" in docs/adm.md, "The shipped defaults
# on every table"), every field they set pinned (later defaults must not leak in).
BEFORE = ADMConfig(tuning="off", delta=0.5, g1=1.5, g2=1.0, uniform_solver="exact", interval="two_sided",
                   combine="select", select_margin=0.4, split_at_points=True, dip_cut=0.0, smoothing_sigma=0.0,
                   bg_threshold=0.5, point_radius=2, despike=False, locate_sigma=0.0, split_min_dip=0.0, bg_agreement=0.0)
# "ADM default" of every table: the fixed defaults (ADMConfig()'s options, tuning off; auto is the --auto column).
FIXED = ADMConfig(tuning="off")
CHOOSE, HELD_OUT = "choose", "held out"


@dataclass(frozen=True)
class Family:
    """A family's tables: which generator, which variants, and its role in choosing the defaults."""

    name: str
    module: str
    variants: tuple[str, ...]
    role: str
    degrade: tuple[str, str] | None = None  # (source family module, its variant) for degradations


def _variants(module: str, quick: bool) -> tuple[str, ...]:
    family = signal_family(module)
    return tuple(getattr(family, "QUICK_VARIANTS", family.VARIANTS[:1]) if quick else family.VARIANTS)


def families(quick: bool, wanted=None, held_out: str = "independent") -> list[Family]:
    """The families to tabulate (``wanted``: names, default all); ``held_out`` (and its degradations) is
    reported but never used for choosing, the others are the 'choose' families."""
    def role(name: str) -> str:
        return HELD_OUT if name == held_out else CHOOSE

    makers = {name: (lambda name=name: Family(name, name, _variants(name, quick), role(name)))
              for name in ("synthetic", "detector", "independent", "rough")}
    sources = {"synthetic": "medium", "detector": None, "independent": "medium", "rough": "medium"}
    for name, variant in sources.items():
        if quick:
            break
        makers[f"degraded-{name}"] = (lambda name=name, variant=variant: Family(
            f"degraded-{name}", "degrade", _variants("degrade", False), role(name),
            (name, variant or _variants(name, False)[-1])))
    return [make() for name, make in makers.items() if not wanted or name in wanted]


def make_signals(family: Family, variant: str, videos, classes, seed: int, cache: dict) -> dict[str, FamilySignals]:
    """A variant's signals; degradations start from their source variant's signals (built once)."""
    key = (family.name, variant)
    if key in cache:
        return cache[key]
    if family.degrade is None:
        made = signal_family(family.module).make_family(videos, classes, variant, seed)
    else:
        source_module, source_variant = family.degrade
        source = make_signals(Family(source_module, source_module, (source_variant,), family.role), source_variant,
                              videos, classes, seed, cache)
        made = signal_family("degrade").degrade(source, variant, seed)
    cache[key] = made
    return made


def point_sets(videos, quick: bool, with_humans: bool) -> dict[str, dict]:
    """{name: {video: [PointLabel]}} on the training videos."""
    sets = {"simulated": points_by_video(load_points(data_path("thumos14", "point_gaussian.csv")))}
    if quick:
        return sets
    uniform = simulate_points(videos, SimulationConfig(dist="uniform", seed=0)).points
    sets["uniform"] = points_by_video([point.to_point_label() for point in uniform])
    clicks = SHARED / "sfnet_single_frames"
    if with_humans and clicks.is_dir():
        for number in range(1, 5):
            sets[f"SF-Net A{number}"] = points_by_video(load_points(clicks / f"THUMOS{number}.txt"))
    return sets


@dataclass
class Table:
    """One family variant x one point set: its inputs, and the results of every method run on it."""

    family: str
    variant: str
    points_name: str
    role: str
    signals: dict[str, FamilySignals]
    rows: dict[str, np.ndarray]
    ground_truth: GroundTruthSegments
    classes: list[str]
    results: dict[str, dict] = field(default_factory=dict)
    first_level: dict[str, np.ndarray] | None = None  # (T, C) signals on the first-level grid, for thresholds
    scorer: ContrastTable | None = None  # with --auto: every ADM fit's mean label contrast is recorded too

    @property
    def name(self) -> str:
        return f"{self.family} {self.variant}, {self.points_name}"

    def best(self, prefix: str) -> tuple[str, dict]:
        chosen = [(n, r) for n, r in self.results.items() if n.startswith(prefix)]
        return max(chosen, key=lambda item: item[1]["avg"])

    def baseline(self) -> float:
        return max(self.best("threshold")[1]["avg"], self.best("paper")[1]["avg"])

    def margin(self, method: str) -> float:
        return self.results[method]["avg"] - self.baseline()


def make_table(family, variant, points_name, points, signals, videos, classes) -> Table:
    keys = [key for key in points if key in signals]
    rows = {key: point_rows(signals[key], points[key], classes) for key in keys}
    truth = GroundTruthSegments.from_annotations({key: videos[key] for key in keys})
    return Table(family.name, variant, points_name, family.role, {k: signals[k] for k in keys}, rows, truth, classes)


def _with_contrast(table: Table, result: dict, video, label, start, end) -> dict:
    """result, with the mean boundary contrast of the labels (snippets start..end) when the table has a scorer."""
    if table.scorer is not None:
        result["contrast"] = float(table.scorer.contrast(video, label, start, end).mean())
    return result


def score(table: Table, video, label, start_s, end_s, score_, point_s, confidence=None, contrast=None,
          rankers=None) -> dict:
    """avg mAP (and alpha, mAP per tIoU, mean tIoU with each point's instance) of one table's labels; with
    ``confidence`` / ``contrast`` (per label), their Spearman correlation with each label's tIoU; with ``rankers``
    ({name: per label}), theirs under "rankers"."""
    labels = Detections(np.asarray(video), np.asarray([table.classes[c] for c in label]), np.asarray(start_s),
                        np.asarray(end_s), np.asarray(score_))
    quality = pseudo_label_quality(table.ground_truth, labels, np.asarray(point_s, dtype=np.float64), TIOUS)
    maps = quality.detection.map
    result = {"alpha": quality.alpha, "map": maps, "avg": float(maps.mean()) * 100,
              "own_iou": quality.mean_tiou if quality.mean_tiou is not None else float("nan")}
    assigned = np.isfinite(quality.tious)
    truth = quality.tious[assigned]

    def rank(values) -> float:
        return spearman(np.asarray(values)[assigned], truth)

    if confidence is not None:
        result["spearman"] = rank(confidence)
        result["kept"] = kept_by_confidence(np.asarray(confidence)[assigned], truth)
    if contrast is not None:
        result["contrast_spearman"] = rank(contrast)
    if rankers is not None:
        result["rankers"] = {name: rank(values) for name, values in rankers.items()}
    return result


def confidence_candidates(fits: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per label, the measures the confidence was chosen among (docs/adm.md, "Confidence"), from a fit's table: the
    confidence shipped before (sqrt(peak height x L / (L + 16))), the run agreement alone (confidence / the length
    factor) and with other length factors L / (L + L0)."""
    length = np.maximum(fits["end"] - fits["start"], 0.0)
    factor = length_factor(fits["start"], fits["end"])
    agreement = np.divide(fits["confidence"], factor, out=np.zeros_like(factor), where=factor > 0)
    found = {"height x length (before)": np.sqrt(fits["score"].clip(0.0, 1.0) * length / (length + 16.0)),
             "run agreement": agreement}
    for reach in (4.0, CONFIDENCE_LENGTH, 16.0):
        shipped = " (shipped)" if reach == CONFIDENCE_LENGTH else ""
        found[f"x L/(L+{reach:g}){shipped}"] = agreement * length / (length + reach)
    return found


CONFIDENCE_CUTS = (0.5, 0.6, 0.7, 0.8)  # the --min-confidence values whose effect is reported


def kept_by_confidence(confidence: np.ndarray, tious: np.ndarray) -> dict[float, tuple[float, float]]:
    """{cut: (share of the labels kept, their mean tIoU with their own instance)} for cut 0 (all) and
    CONFIDENCE_CUTS (labels whose point has an instance; NaN mean where none is kept)."""
    found = {}
    for cut in (0.0, *CONFIDENCE_CUTS):
        kept = confidence >= cut
        found[cut] = (float(kept.mean()) if kept.size else float("nan"),
                      float(tious[kept].mean()) if kept.any() else float("nan"))
    return found


def confidence_summary(tables: list[Table]) -> None:
    """What --min-confidence C buys on the defaults' labels: per family, the median over its tables of the share of
    labels kept and of their mean tIoU with their own instance."""
    print("\n## --min-confidence on the defaults' labels: median over each family's tables of (share kept, mean tIoU)")
    heads = ["all" if cut == 0 else f">= {cut:g}" for cut in (0.0, *CONFIDENCE_CUTS)]
    print(f"{'family':22s} " + " ".join(f"{head:>14s}" for head in heads))
    for name in dict.fromkeys(t.family for t in tables):
        kept = [t.results["ADM default"]["kept"] for t in tables if t.family == name]
        cells = [f"{np.median([k[cut][0] for k in kept]):5.0%} {_median_or_dash([k[cut][1] for k in kept])}"
                 for cut in (0.0, *CONFIDENCE_CUTS)]
        print(f"{name:22s} " + " ".join(f"{cell:>14s}" for cell in cells))


def _median_or_dash(values: list[float]) -> str:
    finite = [value for value in values if np.isfinite(value)]
    return f"{np.median(finite):.3f}" if finite else "    -"


def run_threshold(table: Table, theta: float) -> dict:
    if table.first_level is None:
        # Thresholds see the signal ADM fits before any preparation: a coarse level upsampled, nothing else.
        table.first_level = {key: prepare_signal(s.probs, s.num_snippets, 0.0, s.centres)
                             for key, s in table.signals.items()}
    segments = threshold_per_point(table.first_level, table.rows, theta)
    video = np.array([s.video for s in segments])
    # A run of snippets [start, end] covers their whole windows: half a step beyond each centre.
    bounds = np.array([[s.start - 0.5, s.end + 0.5] for s in segments])
    seconds = np.empty_like(bounds)
    for key in table.rows:
        mine = video == key
        seconds[mine] = table.signals[key].grid.snippet_to_seconds(bounds[mine])
    point_s = np.concatenate([table.signals[key].grid.snippet_to_seconds(table.rows[key][:, 0].astype(float))
                              for key in table.rows])
    return score(table, video, [s.label for s in segments], seconds[:, 0], seconds[:, 1],
                 [s.score for s in segments], point_s)


def _centres(table: Table) -> dict:
    """Each video's step centres (None: the window-aligned reading), as fit_instances takes them."""
    return {key: table.signals[key].centres for key in table.rows}


def run_adm(table: Table, config: ADMConfig) -> dict:
    return score_fits(table, fit_instances(*_adm_inputs(table), config=config, **_adm_options(table), as_table=True))


def _adm_inputs(table: Table) -> tuple[dict, dict]:
    return {k: s.probs for k, s in table.signals.items() if k in table.rows}, table.rows


def _adm_options(table: Table) -> dict:
    return dict(bg_probs={k: table.signals[k].bg_probs for k in table.rows},
                grid={k: table.signals[k].grid for k in table.rows}, centres=_centres(table))


def score_fits(table: Table, fits: dict[str, np.ndarray]) -> dict:
    """The scores of fit_instances(..., as_table=True)'s labels (and their mean contrast with --auto)."""
    point_s = [float(table.signals[v].grid.snippet_to_seconds(p)) for v, p in zip(fits["video"], fits["point"])]
    contrast = None if table.scorer is None else \
        table.scorer.contrast(fits["video"], fits["label"], fits["start"], fits["end"])
    # With --auto, also the measures the confidence was chosen among.
    rankers = None if table.scorer is None else confidence_candidates(fits)
    result = score(table, list(fits["video"]), fits["label"], fits["start_s"], fits["end_s"], fits["score"], point_s,
                   fits["confidence"], contrast, rankers)
    if contrast is not None:
        result["contrast"] = float(contrast.mean())
    return result


def run_paper_weights(table: Table) -> dict[str, dict]:
    """ADMConfig.paper() at every (g1, g2) of PAPER_WEIGHTS from one fit: with a symmetric interval and the
    sum, sigma and omega do not depend on the weights, and Delta = g1 sigma + g2 omega is what the kernel
    computes (the same operations, so the same numbers as one fit per pair)."""
    fits = fit_instances({k: s.probs for k, s in table.signals.items()}, table.rows,
                         bg_probs={k: s.bg_probs for k, s in table.signals.items()}, config=ADMConfig.paper(),
                         centres=_centres(table))
    video = [f.video for f in fits]
    t_star, sigma, omega = (np.array([getattr(f, name) for f in fits], dtype=np.float64)
                            for name in ("t_star", "sigma", "omega"))
    last = np.array([table.signals[f.video].num_snippets - 1.0 for f in fits])
    point_s = [float(table.signals[f.video].grid.snippet_to_seconds(f.point)) for f in fits]
    results = {}
    for g1, g2 in PAPER_WEIGHTS:
        half = g1 * sigma + g2 * omega
        start, end = np.maximum(0.0, t_star - half), np.minimum(last, t_star + half)
        # As fit_instances: the interval's snippets cover their windows, half a step beyond each end's centre.
        start_s = [float(table.signals[v].grid.snippet_to_seconds(x - 0.5)) for v, x in zip(video, start)]
        end_s = [float(table.signals[v].grid.snippet_to_seconds(x + 0.5)) for v, x in zip(video, end)]
        result = score(table, video, [f.label for f in fits], start_s, end_s, [f.score for f in fits], point_s)
        results[f"paper g1={g1:g} g2={g2:g}"] = _with_contrast(table, result, video, [f.label for f in fits],
                                                               start, end)
    return results


def baselines_and_defaults(table: Table, candidate: ADMConfig | None = None, auto: bool = False) -> dict[str, dict]:
    """Every baseline of the table, and ADM with the defaults before (BEFORE) and now (results by method name), and
    ``candidate`` (``--candidate``) when given; with ``auto``, every tuning candidate and what tuning="auto" chose."""
    if auto:
        table.scorer = ContrastTable({k: s.probs for k, s in table.signals.items()}, table.rows,
                                     {k: s.bg_probs for k, s in table.signals.items()}, _centres(table))
    results = {f"threshold {theta:.1f}": run_threshold(table, theta) for theta in THRESHOLDS}
    results.update(run_paper_weights(table))
    results["ADM before"] = run_adm(table, BEFORE)
    results["ADM default"] = run_adm(table, FIXED)
    if candidate is not None:
        results[CANDIDATE] = run_adm(table, candidate)
    if auto:
        results.update(run_auto(table, results))
    return results


CANDIDATE = "ADM candidate"
AUTO = "ADM auto"
PAPER_LITERAL = "paper g1=1 g2=0.5"  # ADMConfig.paper() exactly


def run_auto(table: Table, results: dict[str, dict]) -> dict[str, dict]:
    """Every candidate of tuning="auto" (results "cand NAME"; the defaults' is the fit already in ``results``) and
    the labels of tuning="auto" ("ADM auto"; its TuningResult under "tuning")."""
    fits, tuned = fit_tuned(*_adm_inputs(table), config=ADMConfig(tuning="auto"), **_adm_options(table),
                            as_table=True)
    done = {"defaults": results["ADM default"]}  # the paper's is fitted again for its labels' confidence
    found = {f"cand {name}": done[name] if name in done else run_adm(table, option)
             for name, option in candidates(FIXED).items()}
    found[AUTO] = {**score_fits(table, fits), "tuning": tuned}
    return found


def auto_figures(table: Table) -> dict[str, float | str]:
    """What --auto reports of a table: auto's choice and its avg mAP against the defaults, the paper's literal
    method and the best candidate chosen with the ground truth (the ceiling); the Spearman correlation of the
    mean label contrast with avg mAP over every ADM configuration the table fitted."""
    results = table.results
    auto = results[AUTO]
    ceiling = max((name for name in results if name.startswith("cand ")), key=lambda name: results[name]["avg"])
    # Every configuration once: "cand defaults" and "cand paper" are "ADM default" and PAPER_LITERAL's labels.
    fitted = [r for name, r in results.items()
              if "contrast" in r and name not in (AUTO, "cand defaults", "cand paper")]
    rho = spearman([r["contrast"] for r in fitted], [r["avg"] for r in fitted])
    tuned = auto["tuning"]
    chosen = tuned.base if tuned.partner is None else f"{tuned.base} +{tuned.switched} {tuned.partner}"
    if tuned.set_aside:
        chosen += f" ({tuned.set_aside_text})"
    if tuned.heads_out_of_step:
        chosen += f" ({tuned.out_of_step_text})"
    return {"chosen": chosen, "base": tuned.base, "out_of_step": tuned.out_of_step,
            "vs_default": auto["avg"] - results["ADM default"]["avg"],
            "vs_paper": auto["avg"] - results[PAPER_LITERAL]["avg"], "ceiling": ceiling[len("cand "):],
            "regret": results[ceiling]["avg"] - auto["avg"], "rho": rho, "configs": len(fitted)}


def outside_bar(figures: dict) -> bool:
    """Whether ``auto_figures``' figures miss the bar of docs/adm.md "Self-tuning": more than 1 below the defaults
    or the paper's literal method, or more than 3 below the best candidate."""
    return figures["vs_default"] < -1 or figures["vs_paper"] < -1 or figures["regret"] > 3


def parse_candidate(text: str) -> ADMConfig:
    """``KEY=VALUE[,KEY=VALUE...]`` of ADMConfig fields (values as YAML) -> the fixed defaults (tuning off) with them
    changed."""
    import yaml

    fields = {}
    for part in filter(None, (item.strip() for item in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep:
            raise ValueError(f"--candidate wants KEY=VALUE[,KEY=VALUE...], got {part!r}")
        fields[key.strip()] = yaml.safe_load(value)
    return ADMConfig(**{"tuning": "off", **fields})


# Tables are independent: on a machine with spare cores they are scored in parallel (fork: the workers
# share the parent's tables; only indices and results cross).
_TABLES: list[Table] = []


def _in_worker(job):
    import numba

    numba.set_num_threads(1)  # the processes are the parallelism
    function, index, argument = job
    return function(_TABLES[index], *argument)


def parallel(function, tables: list[Table], *argument, workers: int = 1) -> list:
    """[function(table, *argument) for table in tables], in ``workers`` processes."""
    if workers <= 1:
        return [function(table, *argument) for table in tables]
    global _TABLES
    _TABLES = tables
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        return pool.map(_in_worker, [(function, tables.index(t), argument) for t in tables])


def adm_margin(table: Table, config: ADMConfig) -> float:
    return run_adm(table, config)["avg"] - table.baseline()


# How each table's interval is measured, from the paper's sum to one model per side (docs/adm.md).
SHAPES = {
    "select 0.4 (1.5,1)": dict(combine="select", select_margin=0.4, g1=1.5, g2=1.0),
    "select 1 (1.5,1)": dict(combine="select", select_margin=1.0, g1=1.5, g2=1.0),
    "sum (1,0.5)": dict(combine="sum", g1=1.0, g2=0.5),
    "sum (0.5,0.5)": dict(combine="sum", g1=0.5, g2=0.5),
    "sum (0.75,0.75)": dict(combine="sum", g1=0.75, g2=0.75),
    "sum (1,0.25)": dict(combine="sum", g1=1.0, g2=0.25),
    "sum (1.5,1)": dict(combine="sum", g1=1.5, g2=1.0),
}
# The options --choose searches, with the values it tries (the first is where the search starts from
# unless the current default is listed).
SEARCH = {"bg_agreement": [0.0, 0.3, 0.5, 0.7], "despike": [False, True], "locate_sigma": [0.0, "auto"],
          "split_min_dip": [0.0, 2.0, 4.0], "shape": list(SHAPES)}


def _merit(margins: tuple[float, float]) -> float:
    """(worst, mean) margin -> what the search maximises: the worst case first, the mean breaking near ties."""
    worst, mean = margins
    return worst + 0.25 * mean


def _config(point: dict) -> ADMConfig:
    values = {key: value for key, value in point.items() if key != "shape"}
    return ADMConfig(tuning="off", **values, **SHAPES[point["shape"]])


def _describe(point: dict) -> str:
    return " ".join(f"{key}={value}" for key, value in point.items())


def print_table(table: Table) -> None:
    print(f"\n## {table.name} ({sum(len(r) for r in table.rows.values())} points; {table.role})")
    print(f"{'method':34s} {'alpha':>5s} " + " ".join(f"{t:>5.1f}" for t in TIOUS) + f" {'AVG':>5s} {'ownIoU':>6s}")
    shown = [table.best("threshold"), table.best("paper"), ("ADM before", table.results["ADM before"]),
             ("ADM default", table.results["ADM default"])]
    if CANDIDATE in table.results:
        shown.append((CANDIDATE, table.results[CANDIDATE]))
    if AUTO in table.results:
        shown = shown[:3] + [(PAPER_LITERAL, table.results[PAPER_LITERAL])] + shown[3:]
        shown += [(name, r) for name, r in table.results.items() if name.startswith("cand ")]
        shown.append((AUTO, table.results[AUTO]))
    for name, result in shown:
        maps = " ".join(f"{m * 100:5.1f}" for m in result["map"])
        print(f"{name:34s} {result['alpha']:5.2f} {maps} {result['avg']:5.1f} {result['own_iou']:6.3f}")
    default = table.results["ADM default"]
    print(f"margin over the best baseline: before {table.margin('ADM before'):+.1f}, "
          f"default {table.margin('ADM default'):+.1f}; default vs paper at its best "
          f"{default['avg'] - table.best('paper')[1]['avg']:+.1f}; confidence vs tIoU Spearman "
          f"{default['spearman']:.2f}" + (f"; candidate {table.margin(CANDIDATE):+.1f}"
                                            if CANDIDATE in table.results else ""))
    if AUTO in table.results:
        f = auto_figures(table)
        print(f"auto: {f['chosen']}; vs defaults {f['vs_default']:+.1f}, vs paper {f['vs_paper']:+.1f}, below the "
              f"best candidate ({f['ceiling']}) by {f['regret']:.1f}; contrast vs avg mAP Spearman {f['rho']:+.2f} "
              f"over {f['configs']} ADM configurations; videos out of step {f['out_of_step']:.0%}; mean contrast "
              + ", ".join(f"{name[5:]} {r['contrast']:.4f}" for name, r in table.results.items()
                          if name.startswith("cand ")))


def summary(tables: list[Table]) -> None:
    print("\n## summary per family: margin = mAP-AVG minus the best baseline of each table (points)")
    for name in dict.fromkeys(t.family for t in tables):
        mine = [t for t in tables if t.family == name]
        for method in ("ADM before", "ADM default", CANDIDATE):
            if method not in mine[0].results:
                continue
            margins = [t.margin(method) for t in mine]
            vs_paper = [t.results[method]["avg"] - t.best("paper")[1]["avg"] for t in mine]
            worst = mine[int(np.argmin(margins))]
            line = (f"{name:22s} ({mine[0].role:8s}) {method:11s}: worst margin {min(margins):+5.1f} "
                    f"({worst.variant}, {worst.points_name}), mean {np.mean(margins):+5.1f}, "
                    f">= +3 in {sum(m >= 3 for m in margins)}/{len(margins)}, worst vs paper {min(vs_paper):+5.1f}")
            if method != "ADM before":
                line += f", Spearman {np.nanmedian([t.results[method]['spearman'] for t in mine]):.2f}"
            print(line)
    confidence_summary(tables)
    if AUTO in tables[0].results:
        auto_summary(tables)
    for role in (CHOOSE, HELD_OUT):
        margins = [t.margin("ADM default") for t in tables if t.role == role]
        if margins:
            line = (f"worst case over the families marked '{role}': default {min(margins):+.1f}, "
                    f"before {min(t.margin('ADM before') for t in tables if t.role == role):+.1f}")
            if CANDIDATE in tables[0].results:
                line += f", candidate {min(t.margin(CANDIDATE) for t in tables if t.role == role):+.1f}"
            print(line)


def auto_summary(tables: list[Table]) -> None:
    """Per family, tuning="auto" against the bar of docs/adm.md "Self-tuning": never more than 1 below the defaults
    or the paper's literal method, never more than 3 below the best candidate chosen with the ground truth."""
    print("\n## tuning='auto' per family (avg mAP points; the bar: vs defaults >= -1, vs paper >= -1, below the "
          "best candidate <= 3)")
    failing = []
    for name in dict.fromkeys(t.family for t in tables):
        found = [auto_figures(t) for t in tables if t.family == name]
        worst = {key: min(f[key] for f in found) for key in ("vs_default", "vs_paper", "rho")}
        regret = max(f["regret"] for f in found)
        picks = {pick: sum(f["base"] == pick for f in found) for pick in dict.fromkeys(f["base"] for f in found)}
        failing += [(t.name, f) for t, f in zip([t for t in tables if t.family == name], found) if outside_bar(f)]
        print(f"{name:22s} worst vs defaults {worst['vs_default']:+5.1f}, vs paper {worst['vs_paper']:+5.1f}, "
              f"most below the best candidate {regret:4.1f}; contrast Spearman median "
              f"{np.median([f['rho'] for f in found]):+.2f} (min {worst['rho']:+.2f}); base "
              + ", ".join(f"{pick} {count}" for pick, count in picks.items()))
    print(f"tables outside the bar: {len(failing)} of {len(tables)}"
          + "".join(f"\n  {name}: vs defaults {f['vs_default']:+.1f}, vs paper {f['vs_paper']:+.1f}, below the best "
                    f"candidate {f['regret']:.1f} (base {f['base']})" for name, f in failing))
    print("\n## ranking labels by their tIoU with their instance, Spearman per family: median (min) over its tables")
    for name in dict.fromkeys(t.family for t in tables):
        mine = [t for t in tables if t.family == name]
        cells = []
        for method in ("ADM default", AUTO, "cand paper"):
            for key, what in (("spearman", "confidence"), ("contrast_spearman", "contrast")):
                values = [t.results[method][key] for t in mine]
                cells.append(f"{what} {np.nanmedian(values):+.2f} ({np.nanmin(values):+.2f})")
        print(f"{name:22s} defaults' labels: {cells[0]}, {cells[1]}; auto's: {cells[2]}, {cells[3]}; "
              f"the paper's: {cells[4]}, {cells[5]}")
    confidence_choice(tables)


def confidence_choice(tables: list[Table]) -> None:
    """The measures the confidence was chosen among, per family: the median over its tables of their Spearman with
    each label's tIoU, on the defaults' / auto's labels; and the worst family median of each."""
    families_ = list(dict.fromkeys(t.family for t in tables))
    names = list(tables[0].results["ADM default"]["rankers"])
    print("\n## the confidence's candidates: Spearman with tIoU, median over each family's tables, defaults' / auto's "
          "labels")
    print(f"{'measure':28s}" + "".join(f"{name[:16]:>17s}" for name in families_) + "  worst family")
    for measure in names:
        cells, worst = [], []
        for name in families_:
            pair = [np.nanmedian([t.results[method]["rankers"][measure] for t in tables if t.family == name])
                    for method in ("ADM default", AUTO)]
            cells.append(f"{pair[0]:+.2f}/{pair[1]:+.2f}")
            worst.append(pair)
        print(f"{measure:28s}" + "".join(f"{cell:>17s}" for cell in cells)
              + f"  {min(p[0] for p in worst):+.2f}/{min(p[1] for p in worst):+.2f}")


def choose(tables: list[Table], sweeps: int, workers: int = 1) -> dict:
    """Coordinate search over SEARCH from the current defaults, one option at a time, keeping the value with
    the best worst margin over the 'choose' tables, a quarter of the mean margin added so that near ties
    in the worst case go to the better mean (the worst table alone would decide every option by noise);
    the held-out tables are scored for the start and the end only. Returns the chosen point.
    """
    choosing = [t for t in tables if t.role == CHOOSE]
    held_out = [t for t in tables if t.role == HELD_OUT]
    default = FIXED
    point = {key: getattr(default, key) for key in SEARCH if key != "shape"}
    point["shape"] = next(name for name, shape in SHAPES.items()
                          if all(getattr(default, k) == v for k, v in shape.items()))
    seen: dict[str, tuple[float, float]] = {}

    def judge(candidate: dict, on: list[Table]) -> tuple[float, float]:
        margins = parallel(adm_margin, on, _config(candidate), workers=workers)
        return min(margins), float(np.mean(margins))

    def judged(candidate: dict) -> tuple[float, float]:
        name = _describe(candidate)
        if name not in seen:
            seen[name] = judge(candidate, choosing)
            print(f"  {name:92s} worst {seen[name][0]:+5.1f} mean {seen[name][1]:+5.1f} "
                  f"merit {_merit(seen[name]):+5.1f}", flush=True)
        return seen[name]

    print(f"\n## coordinate search over {len(choosing)} 'choose' tables (worst margin, then mean)")
    start = dict(point)
    for _ in range(sweeps):
        before = dict(point)
        for key, values in SEARCH.items():
            point[key] = max(values, key=lambda value: _merit(judged({**point, key: value})))
        if point == before:
            break
    for label, candidate in (("start (shipped before this search)", start), ("chosen", point)):
        worst, mean = judged(candidate)
        held = judge(candidate, held_out) if held_out else (float("nan"), float("nan"))
        print(f"{label}: {_describe(candidate)}\n  choose tables: worst {worst:+.1f} mean {mean:+.1f}; "
              f"held-out tables: worst {held[0]:+.1f} mean {held[1]:+.1f}")
    return point


def per_label_by_confidence(base: dict, other: dict, on: dict, margin: float) -> tuple[dict, int]:
    """Step 3 of self-tuning by the labels' confidence instead of their contrast (``--label-by confidence``): each
    label from ``other`` where its confidence beats ``base``'s by ``margin``; as ``tuning._per_label``."""
    switch = other["confidence"] - base["confidence"] > margin
    return tuning.mix_labels(base, other, switch), int(switch.sum())


def build_tables(args) -> list[Table]:
    videos = thumos14("train")
    classes = class_names(videos)
    cache: dict = {}
    tables = []
    for family in families(args.quick, args.families, args.hold_out):
        # Degraded families keep three point sets: the tables multiply, the point sets' lesson does not.
        sets = point_sets(videos, args.quick, with_humans=family.degrade is None)
        if args.choose:  # the grid's tables only (choose's docstring)
            kept = ("simulated",) if family.degrade else ("simulated", "uniform", "SF-Net A1")
            sets = {name: points for name, points in sets.items() if name in kept}
        for variant in family.variants:
            signals = make_signals(family, variant, videos, classes, args.seed, cache)
            for points_name, points in sets.items():
                tables.append(make_table(family, variant, points_name, points, signals, videos, classes))
    return tables


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks pseudo_quality", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one variant per family, simulated points only")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--families", nargs="*", help="only these families (default: all)")
    parser.add_argument("--choose", action="store_true",
                        help="search the defaults by worst margin (simulated, uniform, SF-Net A1 points; simulated "
                             "only for degradations)")
    parser.add_argument("--sweeps", type=int, default=2, help="coordinate-search sweeps with --choose")
    parser.add_argument("--workers", type=int, default=1, help="processes scoring tables in parallel")
    parser.add_argument("--candidate", default=None, metavar="KEY=VALUE[,KEY=VALUE...]",
                        help="also score the defaults with these ADMConfig fields changed, e.g. g1=1.0")
    parser.add_argument("--auto", action="store_true",
                        help="also score tuning='auto' and each of its candidates (docs/adm.md, 'Self-tuning')")
    parser.add_argument("--label-margin", type=float, default=None, metavar="M",
                        help="with --auto: step 3's LABEL_MARGIN instead of the shipped one (how it was chosen)")
    parser.add_argument("--background-at-points", type=float, default=None, metavar="S",
                        help="with --auto: BACKGROUND_AT_POINTS instead of the shipped one (1: never set a candidate "
                             "aside, the rule before)")
    parser.add_argument("--base-margin", type=float, default=None, metavar="M",
                        help="with --auto: step 1's BASE_MARGIN instead of the shipped one (how it was chosen)")
    parser.add_argument("--out-of-step", type=float, default=None, metavar="S",
                        help="with --auto: OUT_OF_STEP_VIDEOS instead of the shipped one (1: never ask no_bg_agreement "
                             "a margin for heads out of step, the rule before)")
    parser.add_argument("--label-by", choices=["contrast", "confidence"], default="contrast",
                        help="with --auto: what step 3 compares per label (confidence: the alternative tried, "
                             "docs/adm.md 'Self-tuning'), with --label-margin as its margin (default 0)")
    parser.add_argument("--hold-out", default="independent", choices=["synthetic", "detector", "independent", "rough"],
                        help="the family (with its degradations) never used for choosing")
    args = parser.parse_args(argv or [])
    began = time.perf_counter()
    try:
        candidate = None if args.candidate is None else parse_candidate(args.candidate)
    except ValueError as error:  # pydantic's ValidationError is a ValueError too
        parser.error(str(error).splitlines()[0])
    if args.label_by == "confidence":  # the worker processes fork after this
        tuning._per_label = partial(per_label_by_confidence, margin=args.label_margin or 0.0)
    elif args.label_margin is not None:  # read at each call
        tuning.LABEL_MARGIN = args.label_margin
    if args.background_at_points is not None:
        tuning.BACKGROUND_AT_POINTS = args.background_at_points
    if args.base_margin is not None:
        tuning.BASE_MARGIN = args.base_margin
    if args.out_of_step is not None:
        tuning.OUT_OF_STEP_VIDEOS = args.out_of_step
    tables = build_tables(args)
    for table, results in zip(tables, parallel(baselines_and_defaults, tables, candidate, args.auto,
                                                        workers=args.workers)):
        table.results = results
        print_table(table)
        sys.stdout.flush()
    summary(tables)
    if args.choose:
        choose(tables, args.sweeps, args.workers)
    print(f"\n({time.perf_counter() - began:.0f} s)")


if __name__ == "__main__":
    main(sys.argv[1:])
