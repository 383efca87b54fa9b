"""Self-tuning of the ADM fit (``ADMConfig()``'s default, tuning "auto"): choose, without ground truth, among a few
documented configurations per dataset and, between the two closest ones, per label (docs/adm.md, "Self-tuning").

Every candidate (``candidates``) fits the same points, and each label is scored by its boundary contrast
(``admfit.fit.contrast``: the mean actionness inside its interval minus just outside it). When the background head
calls background at more than ``BACKGROUND_AT_POINTS`` of the scored points (clicked inside actions), it is
mis-calibrated, and the candidates other than the given one that end a bracket at every background snippet
(bg_agreement 0) are set aside. When the background head is out of step with the class head in more than
``OUT_OF_STEP_VIDEOS`` of the scored videos (``admfit.fit.alignment``: its best lag against the class evidence is
2 or more snippets), the contrast, which reads both heads, cannot be trusted to say whether to follow it, and step 1
asks ``OUT_OF_STEP_MARGIN`` of the candidate that follows it. Then, among the candidates left:

1. the base is whichever of the given configuration and the same without background agreement has the higher
   mean label contrast (ties: the given one; ``BASE_MARGIN``, 0, is the relative lead the second would need, and
   ``OUT_OF_STEP_MARGIN`` when the heads are out of step);
2. the paper's method replaces the base when its mean contrast is higher by ``PAPER_MARGIN`` (relative);
3. otherwise each label is taken from the other of the pair where its contrast beats the base's label by
   ``LABEL_MARGIN`` (actionness, in [0, 1]).

The margins were chosen by the worst case over the benchmark's signal families (benchmarks/pseudo_quality.py
``--auto``; docs/adm.md). Steps 1 and 2 score a subset of whole videos on large datasets (``TUNING_POINTS``),
picked by a hash of their keys, so that they cost a fraction of the fit and do not depend on the order of the
videos; step 3 fits the pair on every point.
"""
from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import replace
from typing import NamedTuple

import numpy as np

from admfit.fit import alignment
from admfit.fit.config import ADMConfig
from admfit.fit.contrast import ContrastTable
from admfit.fit.prepare import _inputs, prepare_instances
from admfit.fit.result import _labels, fit_prepared
from admfit.threads import numba_threads

PAPER_MARGIN = 0.04  # relative gain of mean contrast the paper's method needs over the base
# Relative gain of mean contrast no_bg_agreement needs over the given configuration in step 1; 0.04 was measured
# (benchmarks/pseudo_quality.py --base-margin) and costs more tables than it mends (docs/adm.md, "Self-tuning").
BASE_MARGIN = 0.0
LABEL_MARGIN = 0.1  # gain of one label's contrast (actionness) for the pair's other label to be taken instead
BACKGROUND_AT_POINTS = 0.5  # share of the points on background beyond which the background head is not trusted
# Share of the scored videos whose heads are out of step beyond which step 1 asks OUT_OF_STEP_MARGIN of
# no_bg_agreement: any from 0.52 to 0.97 makes the same choices on the choose families (docs/adm.md, "Self-tuning").
OUT_OF_STEP_VIDEOS = 0.7
OUT_OF_STEP_MARGIN = 0.04  # as --base-margin 0.04 measured it, applied to those datasets alone
TUNING_POINTS = 3000  # steps 1-2 fit at most about this many points (whole videos) with every candidate

# Fields that describe the data or the solver's tolerance, not the method: every candidate takes the given ones.
_DATA_FIELDS = ("bg_threshold", "point_radius", "xatol", "maxiter")


class TuningResult(NamedTuple):
    """What tuning chose: ``base``, the candidate whose labels are kept (and its ``config``, tuning off);
    ``contrast``, every candidate's mean label contrast on the scored points (in candidate order, the given one
    first); how many points and videos steps 1-2 scored; ``switched``, how many labels step 3 took from
    ``partner``, the pair's other candidate (None when the paper's method was chosen or no pair is left), out of
    ``labels``; ``on_background``, the share of the scored points the background head calls background, and
    ``set_aside``, the candidates that share excluded; ``out_of_step``, the share of the scored videos whose heads
    are out of step (module docstring)."""

    base: str
    config: ADMConfig
    contrast: dict[str, float]
    points_scored: int
    videos_scored: int
    partner: str | None
    switched: int
    labels: int
    on_background: float = 0.0
    set_aside: tuple[str, ...] = ()
    out_of_step: float = 0.0

    @property
    def line(self) -> str:
        """One line saying what was chosen and why (printed by ``admfit fit --auto`` and the pseudo stage)."""
        scores = ", ".join(f"{name} {value:.3f}" for name, value in self.contrast.items())
        per_label = "" if self.partner is None else \
            f"; {self.switched} of {self.labels} labels from {self.partner} (label contrast +{LABEL_MARGIN:g})"
        aside = f"; {self.set_aside_text}" if self.set_aside else ""
        step = f"; {self.out_of_step_text}" if self.heads_out_of_step else ""
        return (f"auto: {self.base} (highest mean boundary contrast: {scores}; on {self.points_scored} points of "
                f"{self.videos_scored} videos){per_label}{aside}{step}")

    @property
    def heads_out_of_step(self) -> bool:
        """Whether step 1 asked OUT_OF_STEP_MARGIN of no_bg_agreement."""
        return heads_out_of_step(self.out_of_step)

    @property
    def out_of_step_text(self) -> str:
        """What the alignment check found and asked (whether or not it applied)."""
        return (f"heads out of step in {self.out_of_step:.0%} of the videos: no_bg_agreement needs "
                f"+{OUT_OF_STEP_MARGIN:.0%} contrast")

    @property
    def set_aside_text(self) -> str:
        """Which candidates the background check set aside and why ("" when none)."""
        if not self.set_aside:
            return ""
        return f"{' and '.join(self.set_aside)} set aside: background at {self.on_background:.0%} of the points"

    def to_meta(self) -> dict:
        """The record kept in a pseudo-label file's meta (``tuning``)."""
        return {"base": self.base, "mean_contrast": dict(self.contrast), "points_scored": self.points_scored,
                "videos_scored": self.videos_scored, "partner": self.partner, "switched": self.switched,
                "points_on_background": self.on_background, "set_aside": list(self.set_aside),
                "videos_out_of_step": self.out_of_step, "paper_margin": PAPER_MARGIN, "label_margin": LABEL_MARGIN}


def candidates(config: ADMConfig) -> dict[str, ADMConfig]:
    """The candidate configurations of ``config`` (tuning off), the given one first: ``defaults`` (or ``given`` when
    it is not the fixed defaults, ADMConfig(tuning="off")), ``paper`` (ADMConfig.paper()) and ``no_bg_agreement`` (the
    given one with bg_agreement=0). Duplicates are dropped; every candidate keeps the given data fields (bg_threshold,
    point_radius, xatol, maxiter)."""
    given = config.model_copy(update={"tuning": "off"})
    data = {name: getattr(given, name) for name in _DATA_FIELDS}
    named = {"defaults" if given == ADMConfig(tuning="off") else "given": given,
             "paper": ADMConfig.paper(**data),
             "no_bg_agreement": given.model_copy(update={"bg_agreement": 0.0})}
    unique: dict[str, ADMConfig] = {}
    for name, candidate in named.items():
        if candidate not in unique.values():
            unique[name] = candidate
    return unique


def scored_videos(counts: Mapping[str, int], most_points: int | None = None) -> list[str]:
    """The videos (keys of ``counts``, their numbers of points) the candidates are scored on: every one with points
    when they hold at most ``most_points`` in all, else whole videos in the order of the CRC-32 of their keys until
    ``most_points`` (default TUNING_POINTS) is reached (independent of the input order)."""
    most_points = TUNING_POINTS if most_points is None else most_points
    with_points = [key for key, count in counts.items() if count]
    if sum(counts.values()) <= most_points:
        return with_points
    chosen, total = [], 0
    for key in sorted(with_points, key=lambda key: (zlib.crc32(key.encode("utf-8")), key)):
        if total >= most_points:
            break
        chosen.append(key)
        total += counts[key]
    return chosen


def fit_tuned(probs, points, *, background=None, bg_probs=None, config: ADMConfig | None = None, grid=None,
              centres=None, num_threads: int | None = None, as_table: bool = False):
    """``fit_instances`` with the options chosen by the three steps of this module's docstring (arguments as
    ``fit_instances``; ``config``'s own options are the given candidate). Returns (labels, TuningResult); the
    labels as ``fit_instances(..., as_table=as_table)`` returns them. Same inputs, same labels."""
    options = candidates(ADMConfig() if config is None else config)
    inputs = _inputs(probs, points, background, bg_probs, centres)
    every = {"probs": dict(zip(inputs.keys, inputs.probs)), "points": dict(zip(inputs.keys, inputs.points)),
             "background": _given(inputs.keys, inputs.masks), "bg_probs": _given(inputs.keys, inputs.bgs),
             "centres": _given(inputs.keys, inputs.centres)}
    counts = {key: int(np.asarray(rows).reshape(-1, 2).shape[0]) for key, rows in every["points"].items()}
    keys = scored_videos(counts)
    chosen = set(keys)
    rest = [key for key in every["points"] if key not in chosen]
    scored, others = (_only(every, keys), _only(every, rest)) if any(counts[k] for k in rest) else (every, None)

    def fit(names: list[str], on: dict) -> dict[str, dict[str, np.ndarray]]:
        # The given options and no_bg_agreement differ only in the kernel's bg_agreement: one preparation serves both.
        pair = {name: options[name] for name in names if name != "paper"}
        found = _fit_sharing_preparation(pair, on, grid, num_threads) if pair else {}
        if "paper" in names:
            found.update(_fit_sharing_preparation({"paper": options["paper"]}, on, grid, num_threads))
        return {name: found[name] for name in names}

    # Contrast tables are built only on videos a fit has checked: bad input fails as fit_instances fails.
    tables = fit(list(options), scored)
    scorer = _scorer(scored)
    contrast = {name: _mean(scorer.contrast(t["video"], t["label"], t["start"], t["end"]))
                for name, t in tables.items()}
    on_background = points_on_background(scored, options[next(iter(options))].bg_threshold)
    set_aside = _untrusting(options) if on_background > BACKGROUND_AT_POINTS else ()
    out_of_step = videos_out_of_step(scored)
    margin = OUT_OF_STEP_MARGIN if heads_out_of_step(out_of_step) else BASE_MARGIN
    base, partner = _base({name: value for name, value in contrast.items() if name not in set_aside}, margin)
    if others is not None:  # the other videos too, for the labels kept
        order = {key: index for index, key in enumerate(every["points"])}
        kept = [name for name in options if name in (base, partner)]
        tables = {name: _in_order(tables[name], table, order) for name, table in fit(kept, others).items()}
    labels, switched = tables[base], 0
    if partner is not None:
        labels, switched = _per_label(tables[base], tables[partner], every)
    result = TuningResult(base, options[base], contrast, sum(counts[key] for key in keys), len(keys), partner,
                          switched, int(labels["point"].size), on_background, set_aside, out_of_step)
    return (labels if as_table else _labels(labels)), result


def points_on_background(on: dict, threshold: float) -> float:
    """The share of the points (snippets of ``on["points"]``, every video's) where the background head calls
    background: ``on["background"]`` True, or ``on["bg_probs"]`` above ``threshold`` (as the fit's mask); 0 without
    a background head or points. The points must be valid (a fit has checked them)."""
    heads = on["bg_probs"] if on["background"] is None else on["background"]
    if heads is None:
        return 0.0
    called = total = 0
    for key, rows in on["points"].items():
        snippets = np.asarray(rows).reshape(-1, 2)[:, 0].astype(np.int64)
        values = np.asarray(heads[key])[snippets]
        called += int(np.count_nonzero(values if on["bg_probs"] is None else values > threshold))
        total += snippets.size
    return called / total if total else 0.0


def heads_out_of_step(share: float) -> bool:
    """Whether ``share`` of the scored videos out of step is beyond OUT_OF_STEP_VIDEOS (read at each call)."""
    return share > OUT_OF_STEP_VIDEOS


def videos_out_of_step(on: dict) -> float:
    """The share of the videos of ``on`` (with points) whose background head is out of step with the class head
    (``admfit.fit.alignment``); 0 without a background head."""
    background = on["bg_probs"] if on["background"] is None else on["background"]
    if background is None:
        return 0.0
    return alignment.share_out_of_step(alignment.lags(on["probs"], on["points"], background, on["centres"]))


def _untrusting(options: dict[str, ADMConfig]) -> tuple[str, ...]:
    """The candidates other than the given one (the first) that end a bracket at every background snippet."""
    return tuple(name for name, option in list(options.items())[1:] if option.bg_agreement == 0.0)


def _fit_sharing_preparation(configs: dict[str, ADMConfig], on: dict, grid,
                             num_threads) -> dict[str, dict[str, np.ndarray]]:
    """The tables of configurations that differ only in what the kernel reads (bg_agreement), from one
    preparation (``prepare_instances`` of the first)."""
    with numba_threads(num_threads):
        batch = prepare_instances(on["probs"], on["points"], background=on["background"], bg_probs=on["bg_probs"],
                                  config=next(iter(configs.values())), centres=on["centres"])
        return {name: fit_prepared(replace(batch, config=config), grid=grid) for name, config in configs.items()}


def _only(inputs: dict, keys: list[str]) -> dict:
    """The inputs of these videos only."""
    return {name: None if value is None else {key: value[key] for key in keys} for name, value in inputs.items()}


def _in_order(first: dict[str, np.ndarray], second: dict[str, np.ndarray], order: dict[str, int]):
    """The rows of two tables of disjoint videos, videos in ``order`` (each video's rows kept in their order)."""
    video = np.concatenate([first["video"], second["video"]])
    rows = np.argsort(np.fromiter((order[key] for key in video), dtype=np.int64, count=video.size), kind="stable")
    return {name: np.concatenate([first[name], second[name]])[rows] for name in first}


def _given(keys: list[str], values: list) -> dict | None:
    return None if all(value is None for value in values) else dict(zip(keys, values))


def _scorer(on: dict) -> ContrastTable:
    background = on["bg_probs"] if on["background"] is None else \
        {key: np.asarray(mask, dtype=np.float64) for key, mask in on["background"].items()}
    return ContrastTable(on["probs"], on["points"], background, on["centres"])


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if values.size else 0.0


def _base(contrast: dict[str, float], margin: float) -> tuple[str, str | None]:
    """Steps 1-2 on the candidates' mean contrast (the given one first), ``margin`` step 1's relative lead asked
    of no_bg_agreement: (the base, step 3's partner or None)."""
    given = next(iter(contrast))
    pair = [name for name in (given, "no_bg_agreement") if name in contrast]
    handicap = {name: 0.0 if name == given else margin * abs(contrast[given]) for name in pair}
    base = max(pair, key=lambda name: (contrast[name] - handicap[name], name == given))
    if "paper" in contrast and contrast["paper"] > contrast[base] + PAPER_MARGIN * abs(contrast[base]):
        return "paper", None
    others = [name for name in pair if name != base]
    return base, (others[0] if others else None)


def _per_label(base: dict[str, np.ndarray], other: dict[str, np.ndarray], on: dict):
    """Step 3: each label from ``other`` where its contrast beats ``base``'s by LABEL_MARGIN; (table, count).
    Only the labels whose intervals differ can gain: the contrast is read for them alone."""
    differ = np.flatnonzero((base["start"] != other["start"]) | (base["end"] != other["end"]))
    video, label = base["video"][differ], base["label"][differ]  # the same points, in the same order, in both
    rows = np.stack([base["point"][differ], label], axis=1)
    where: dict = {}
    for index, key in enumerate(video.tolist()):
        where.setdefault(key, []).append(index)
    scorer = _scorer({**_only(on, list(where)), "points": {key: rows[found] for key, found in where.items()}})
    columns = scorer.columns(video, label)
    gain = scorer.contrast_at(columns, other["start"][differ], other["end"][differ]) \
        - scorer.contrast_at(columns, base["start"][differ], base["end"][differ])
    switch = np.zeros(base["point"].size, dtype=bool)
    switch[differ[gain > LABEL_MARGIN]] = True
    return mix_labels(base, other, switch), int(switch.sum())


def mix_labels(base: dict[str, np.ndarray], other: dict[str, np.ndarray], switch: np.ndarray) -> dict[str, np.ndarray]:
    """The table of ``base``'s labels with those where ``switch`` is True taken from ``other`` (the same points, in
    the same order)."""
    return {name: np.where(switch, other[name], column) if column.dtype != object else column
            for name, column in base.items()}
