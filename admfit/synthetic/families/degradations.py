"""Degradations of any family's signals: the ways a real detector's outputs go wrong that a fit must survive.

``degrade(signals, kind, seed)`` returns new ``FamilySignals`` (inputs untouched). Units: snippets of the
signal's own step (class probabilities may sit on a coarser last level, T_l <= T; the background is on the
first level, T). Each video draws from (seed, video id, kind) only, so its result does not depend on the
other videos.

* ``spikes``: single-snippet impulses in the class probabilities, SPIKES_PER_100 per 100 steps, in the
  video's likeliest classes (its top columns by mean): up to SPIKE_UP at random steps, down to SPIKE_DOWN
  at the column's strongest steps (where a dropout hurts a fit).
* ``ar_noise``: strong AR(1) noise (sd AR_SIGMA, correlation AR_TAU_SNIPPETS) added to the class logits.
* ``bg_shift``: the background head shifted in time by 3-6 snippets, direction drawn per video.
* ``bg_many`` / ``bg_few``: the background logit raised / lowered by BG_LOGIT_SHIFT (far too many
  background snippets, also inside actions / too few, also in real background).
* ``quantised``: both heads rounded to 0.1 steps (a low-precision export).
* ``temperature``: both heads' logits divided by TEMPERATURE (flatter, less confident).
* ``coarse``: class probabilities average-pooled by COARSE_POOL (a last pyramid level,
  T_l = ceil(T_l_in / 8)); the background untouched.
"""
from __future__ import annotations

from typing import Callable, Mapping

import numpy as np

from ...levels import StepCentres
from . import FamilySignals
from ._signal_ops import ar1_noise, pool_mean, to_logit, to_prob, video_rng

SPIKES_PER_100 = 3.0
SPIKE_UP, SPIKE_DOWN = 0.9, 0.05
SPIKE_COLUMNS = 3  # spikes go to this many of the video's likeliest classes
AR_SIGMA, AR_TAU_SNIPPETS = 1.5, 4.0
BG_SHIFT_SNIPPETS = (3, 6)
BG_LOGIT_SHIFT = 3.0
QUANTUM = 0.1
TEMPERATURE = 2.5
COARSE_POOL = 8


def _with(signals: FamilySignals, probs=None, bg_probs=None, centres=None) -> FamilySignals:
    return FamilySignals(probs=np.array(signals.probs if probs is None else probs, dtype=np.float64),
                         bg_probs=np.array(signals.bg_probs if bg_probs is None else bg_probs, dtype=np.float64),
                         grid=signals.grid, centres=signals.centres if centres is None else centres)


def _spikes(signals: FamilySignals, rng) -> FamilySignals:
    probs = np.array(signals.probs, dtype=np.float64)
    steps, num_classes = probs.shape
    columns = np.argsort(-probs.mean(axis=0), kind="stable")[:min(SPIKE_COLUMNS, num_classes)]
    # Down spikes land in a column's strongest fifth of steps, chosen before any spike is written.
    strongest = {column: np.argsort(-probs[:, column], kind="stable")[:max(1, steps // 5)] for column in columns}
    count = max(1, rng.poisson(SPIKES_PER_100 * steps / 100.0))
    for column in rng.choice(columns, size=count):
        if rng.random() < 0.5:
            probs[rng.integers(steps), column] = SPIKE_UP
        else:
            probs[rng.choice(strongest[column]), column] = SPIKE_DOWN
    return _with(signals, probs=probs)


def _ar_noise(signals: FamilySignals, rng) -> FamilySignals:
    logits = to_logit(signals.probs)
    return _with(signals, probs=to_prob(logits + ar1_noise(rng, logits.shape, AR_SIGMA, AR_TAU_SNIPPETS)))


def _bg_shift(signals: FamilySignals, rng) -> FamilySignals:
    """Later (+) or earlier (-) by a whole number of snippets; the edge value fills the gap."""
    shift = int(rng.integers(BG_SHIFT_SNIPPETS[0], BG_SHIFT_SNIPPETS[1] + 1)) * int(rng.choice([-1, 1]))
    steps = signals.num_snippets
    source = np.clip(np.arange(steps) - shift, 0, steps - 1)
    return _with(signals, bg_probs=np.asarray(signals.bg_probs)[source])


def _bg_logit_shift(amount: float):
    def shifted(signals: FamilySignals, rng) -> FamilySignals:
        return _with(signals, bg_probs=to_prob(to_logit(signals.bg_probs) + amount))
    return shifted


def _quantised(signals: FamilySignals, rng) -> FamilySignals:
    def rounded(values):
        return np.clip(np.round(np.asarray(values, dtype=np.float64) / QUANTUM) * QUANTUM, 0.0, 1.0)
    return _with(signals, probs=rounded(signals.probs), bg_probs=rounded(signals.bg_probs))


def _temperature(signals: FamilySignals, rng) -> FamilySignals:
    return _with(signals, probs=to_prob(to_logit(signals.probs) / TEMPERATURE),
                 bg_probs=to_prob(to_logit(signals.bg_probs) / TEMPERATURE))


def _coarse(signals: FamilySignals, rng) -> FamilySignals:
    pooled = pool_mean(np.asarray(signals.probs, dtype=np.float64), COARSE_POOL)
    # A pooled step sits at the middle of the steps it averages, on whatever grid those steps sit.
    before = signals.centres or StepCentres.window_aligned(signals.probs.shape[0], signals.num_snippets)
    middle = before.origin + 0.5 * (COARSE_POOL - 1) * before.spacing
    return _with(signals, probs=pooled, centres=StepCentres(origin=middle, spacing=before.spacing * COARSE_POOL))


_KINDS: dict[str, Callable[[FamilySignals, np.random.Generator], FamilySignals]] = {
    "spikes": _spikes, "ar_noise": _ar_noise, "bg_shift": _bg_shift,
    "bg_many": _bg_logit_shift(+BG_LOGIT_SHIFT), "bg_few": _bg_logit_shift(-BG_LOGIT_SHIFT),
    "quantised": _quantised, "temperature": _temperature, "coarse": _coarse,
}
DEGRADATIONS: tuple[str, ...] = tuple(_KINDS)


def degrade(signals: Mapping[str, FamilySignals], kind: str, seed: int) -> dict[str, FamilySignals]:
    """Every video's signals degraded by ``kind`` (one of DEGRADATIONS); new objects, inputs untouched."""
    if kind not in _KINDS:
        raise ValueError(f"unknown degradation {kind!r}; expected one of {', '.join(DEGRADATIONS)}")
    return {key: _KINDS[kind](value, video_rng(seed, key, "degrade", kind)) for key, value in signals.items()}
VARIANTS = DEGRADATIONS  # the family interface (admfit/synthetic/families/__init__.py): degradations are its variants
