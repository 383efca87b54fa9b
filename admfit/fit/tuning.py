"""Self-tuning of the ADM fit: choose, per dataset and without ground truth, among a few documented configurations
(docs/adm.md, "Self-tuning").

Every candidate fits the same points; each label is scored by its boundary contrast (``admfit.fit.contrast``: mean
actionness inside its interval minus just outside it), and the candidate whose labels have the highest mean contrast
wins, except that the given configuration (the first candidate) is kept unless another beats its mean contrast by
``TUNING_MARGIN`` (relative): on signals whose background head is shifted, contrast gains smaller than that came with
lower mAP (docs/adm.md). Large datasets are scored on a subset of whole videos (``TUNING_POINTS``), picked by a hash
of their keys, so that the choice costs a fraction of the final fit and does not depend on the order of the videos.
"""
from __future__ import annotations

import zlib
from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

from admfit.fit.config import ADMConfig
from admfit.fit.contrast import ContrastTable
from admfit.fit.prepare import _inputs

TUNING_MARGIN = 0.04  # relative gain of mean contrast another candidate needs over the given configuration
TUNING_POINTS = 3000  # at most about this many points (whole videos) are fitted by every candidate

# Fields that describe the data or the solver's tolerance, not the method: every candidate takes the given ones.
_DATA_FIELDS = ("bg_threshold", "point_radius", "xatol", "maxiter")


class TuningResult(NamedTuple):
    """What :func:`tune` chose: the candidate's name and configuration (``tuning="off"``), every candidate's mean
    label contrast (in candidate order), and how many points and videos they were scored on."""

    chosen: str
    config: ADMConfig
    contrast: dict[str, float]
    points_scored: int
    videos_scored: int

    @property
    def line(self) -> str:
        """One line saying what was chosen and why (printed by ``admfit fit --auto`` and the pseudo stage)."""
        given = next(iter(self.contrast))
        scores = ", ".join(f"{name} {value:.3f}" for name, value in self.contrast.items())
        if self.chosen == given:
            why = f"no other candidate's mean boundary contrast beats it by {TUNING_MARGIN:.0%}"
        else:
            gain = self.contrast[self.chosen] / self.contrast[given] - 1.0
            why = f"mean boundary contrast {gain:+.0%} over {given}"
        return (f"auto: {self.chosen} ({why}; {scores}; on {self.points_scored} points of "
                f"{self.videos_scored} videos)")

    def to_meta(self) -> dict:
        """The record kept in a pseudo-label file's meta (``tuning``)."""
        return {"chosen": self.chosen, "mean_contrast": dict(self.contrast), "points_scored": self.points_scored,
                "videos_scored": self.videos_scored, "margin": TUNING_MARGIN}


def candidates(config: ADMConfig) -> dict[str, ADMConfig]:
    """The candidate configurations of ``config`` (tuning off), the given one first: ``defaults`` (or ``given``
    when it is not ADMConfig()), ``paper`` (ADMConfig.paper()) and ``no_bg_agreement`` (the given one with
    bg_agreement=0). Duplicates are dropped; every candidate keeps the given data fields (bg_threshold,
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


def scored_videos(points: Mapping[str, np.ndarray], most_points: int = TUNING_POINTS) -> list[str]:
    """The videos the candidates are scored on: all when they hold at most ``most_points`` points, else whole
    videos in the order of the CRC-32 of their keys until ``most_points`` is reached (independent of input order)."""
    counts = {key: int(np.asarray(rows).reshape(-1, 2).shape[0]) for key, rows in points.items()}
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


def tune(probs, points, *, background=None, bg_probs=None, config: ADMConfig | None = None, centres=None,
         num_threads: int | None = None) -> TuningResult:
    """Choose the candidate of ``config`` (``candidates``) whose labels separate action from their surroundings
    best (arguments as :func:`admfit.fit_instances`; InputError on bad input). Same inputs, same choice."""
    from admfit.fit.api import fit_instances

    config = config or ADMConfig()
    inputs = _inputs(probs, points, background, bg_probs, centres)
    by_key = {key: index for index, key in enumerate(inputs.keys)}
    keys = scored_videos(dict(zip(inputs.keys, inputs.points)))
    pick = lambda values: None if all(values[by_key[k]] is None for k in keys) else \
        {k: values[by_key[k]] for k in keys}
    sub = {"probs": pick(inputs.probs), "points": pick(inputs.points), "background": pick(inputs.masks),
           "bg_probs": pick(inputs.bgs), "centres": pick(inputs.centres)}
    options = candidates(config)
    tables = {name: fit_instances(sub["probs"] or {}, sub["points"] or {}, background=sub["background"],
                                  bg_probs=sub["bg_probs"], config=option, centres=sub["centres"],
                                  num_threads=num_threads, as_table=True)
              for name, option in options.items()}
    background_probs = sub["bg_probs"] if sub["background"] is None else \
        {key: np.asarray(mask, dtype=np.float64) for key, mask in sub["background"].items()}
    scorer = ContrastTable(sub["probs"] or {}, sub["points"] or {}, background_probs, sub["centres"])
    contrast = {name: _mean_contrast(scorer, table) for name, table in tables.items()}
    chosen = _choose(contrast)
    points_scored = int(next(iter(tables.values()))["point"].size)
    return TuningResult(chosen, options[chosen], contrast, points_scored, len(keys))


def _mean_contrast(scorer: ContrastTable, table: dict[str, np.ndarray]) -> float:
    if table["point"].size == 0:
        return 0.0
    return float(scorer.contrast(table["video"], table["label"], table["start"], table["end"]).mean())


def _choose(contrast: dict[str, float]) -> str:
    """The first candidate unless the best other one's mean contrast exceeds it by TUNING_MARGIN (relative);
    ties go to the earlier candidate."""
    names = list(contrast)
    given, others = names[0], names[1:]
    if not others:
        return given
    best = max(others, key=lambda name: (contrast[name], -names.index(name)))
    beats = contrast[best] > contrast[given] + TUNING_MARGIN * abs(contrast[given])
    return best if beats else given
