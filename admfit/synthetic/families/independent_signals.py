"""An independently designed signal family: detector-like class and background heads, built in logit space.

Modelled on what an I3D + temporal-head detector (ActionFormer; the point-supervised base models LACP,
SF-Net) outputs on THUMOS'14, not on admfit.synthetic.signals. Everything below is in **snippets** of the
ActionFormer THUMOS'14 grid (native fps, stride 4, 16-frame windows: 7.5 snippets per second at 30 fps)
unless a name ends in ``_s``. Per video and class, the class logit is

    base + context (the video's own classes, whole video: the scene gives them away)
    + max over instances of amplitude * shape(t)        (own instance evidence, asymmetric shapes)
    + max over instances of confusion * amplitude * shape(t) for 1-2 "similar" classes
    + false-positive bumps of the video's own classes away from instances
    - short dropouts inside long instances
    + AR(1) noise (per class, plus a part shared by all classes) + rare single-snippet spikes

and the probability is its sigmoid. The background head is its own model: a soft "action" box per instance
whose boundaries are offset from the true ones (either direction, more for long instances), shallower
inside short instances (under-confidence), blurred by the head's limited temporal resolution (short gaps
between neighbouring instances are not seen as background), occasional holes in long background
stretches, and its own, faster AR(1) noise.

Variants: ``clean``, ``medium``, ``noisy`` (weak evidence, strong slow AR noise, frequent spikes, strong
confusion, many false positives, badly offset background) and ``coarse`` (medium, with the class
probabilities average-pooled by 8 as a detector's last pyramid level, T_l = ceil(T / 8); background stays
on the first level, as ADM-Loc reads it).

Seeding: the confusion matrix depends on (seed, number of classes) only; a video's signals on (seed, video
id). The variant does not enter the seed, so variants share their random draws where they have the
same number of them (a clean and a noisy video put the same shapes at the same instances).
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, replace
from typing import Mapping

import numpy as np
from scipy import ndimage

from ...datasets import VideoAnnotation
from ..layout import thumos14_grid
from . import FamilySignals
from ._signal_ops import ar1_noise, pool_mean, soft_box, to_prob, video_rng

VARIANTS = ("clean", "medium", "noisy", "coarse")

MIN_EVIDENCE_SNIPPETS = 2.0  # a detector's receptive field: even a 0.2 s instance lights up ~2 snippets
SHORT_INSTANCE_SNIPPETS = 15.0  # ~2 s: below this, evidence weakens and the background head stays unsure
LONG_INSTANCE_SNIPPETS = 40.0  # ~5 s: only instances this long get dropouts
LONG_BACKGROUND_SNIPPETS = 60.0  # ~8 s: only background stretches this long get holes
FP_MARGIN_SNIPPETS = 10.0  # false-positive bumps stay this far from every instance


@dataclass(frozen=True)
class Difficulty:
    """How hard one variant is. Logit amounts are in logit units; rates per 100 snippets."""

    evidence_logit: tuple[float, float]  # mean, sd of an instance's peak evidence above the base
    base_logit: float  # a class's logit far from its instances
    context_logit: float  # raises the video's own classes over the whole video
    ar_sigma: float  # class logit AR(1) noise: standard deviation
    ar_tau_snippets: float  # ... and correlation time
    common_fraction: float  # share of the AR variance common to all classes (scene-level changes)
    spikes_per_100: float  # single-snippet impulses in the class logits
    spike_logit: tuple[float, float]  # their size range (sign drawn per spike)
    confusion: float  # scales the confusion matrix: leaked evidence / own evidence
    false_positives_per_100: float  # bumps of each own class away from instances
    false_positive_fraction: tuple[float, float]  # their height / the mean instance evidence
    dropout_chance: float  # chance that a long instance has 1-2 short dropouts
    dropout_logit: float  # their depth
    leak_fraction: tuple[float, float]  # evidence edges move out (+) or in (-) by this share of the duration
    bg_offset_sd_snippets: float  # background boundaries: offset from the true ones, sd: this ...
    bg_offset_fraction: float  # ... plus this share of the instance's duration (long ones are vaguer)
    bg_blur_snippets: float  # the head's temporal resolution (Gaussian sd): rounds edges, fills short gaps
    bg_ar_sigma: float  # background logit AR(1) noise, sd (correlation time BG_TAU_SNIPPETS)
    bg_holes_per_100: float  # holes per 100 snippets of long background stretches
    short_bg_depth: float  # depth of the background dip inside the shortest instances (1 = full)
    pool: int = 1  # class probabilities average-pooled by this (a coarse last pyramid level)


BG_TAU_SNIPPETS = 1.5  # the background is read from the first (finest) level: faster noise
BG_EDGE_SNIPPETS = 0.7

DIFFICULTIES: dict[str, Difficulty] = {
    "clean": Difficulty(
        evidence_logit=(8.0, 0.8), base_logit=-5.0, context_logit=0.5, ar_sigma=0.3, ar_tau_snippets=3.0,
        common_fraction=0.3, spikes_per_100=0.2, spike_logit=(2.0, 4.0), confusion=0.25,
        false_positives_per_100=0.1, false_positive_fraction=(0.15, 0.35), dropout_chance=0.15,
        dropout_logit=2.0, leak_fraction=(-0.05, 0.1), bg_offset_sd_snippets=0.5,
        bg_offset_fraction=0.05, bg_blur_snippets=0.5, bg_ar_sigma=0.3,
        bg_holes_per_100=0.03, short_bg_depth=0.6),
    "medium": Difficulty(
        evidence_logit=(5.0, 1.2), base_logit=-4.5, context_logit=1.0, ar_sigma=0.8, ar_tau_snippets=4.0,
        common_fraction=0.4, spikes_per_100=1.0, spike_logit=(3.0, 5.0), confusion=0.5,
        false_positives_per_100=0.4, false_positive_fraction=(0.25, 0.55), dropout_chance=0.35,
        dropout_logit=3.0, leak_fraction=(-0.1, 0.2), bg_offset_sd_snippets=1.5,
        bg_offset_fraction=0.12, bg_blur_snippets=1.5, bg_ar_sigma=0.7,
        bg_holes_per_100=0.2, short_bg_depth=0.4),
    "noisy": Difficulty(
        evidence_logit=(3.5, 1.5), base_logit=-4.0, context_logit=1.5, ar_sigma=1.4, ar_tau_snippets=6.0,
        common_fraction=0.5, spikes_per_100=3.0, spike_logit=(3.0, 6.0), confusion=0.9,
        false_positives_per_100=1.0, false_positive_fraction=(0.4, 0.85), dropout_chance=0.6,
        dropout_logit=4.0, leak_fraction=(-0.15, 0.35), bg_offset_sd_snippets=2.5,
        bg_offset_fraction=0.25, bg_blur_snippets=3.0, bg_ar_sigma=1.2,
        bg_holes_per_100=0.6, short_bg_depth=0.25),
}
DIFFICULTIES["coarse"] = replace(DIFFICULTIES["medium"], pool=8)


# --- instance shapes: functions of u, the position within the instance (0 = start, 1 = end) ----------

def _bell(u, rng):
    centre, width = rng.uniform(0.35, 0.65), rng.uniform(0.18, 0.3)
    return np.exp(-0.5 * ((u - centre) / width) ** 2)


def _plateau(u, rng):
    """Flat top with a slow wobble (two sinusoids, periods 0.3-0.8 of the instance)."""
    wobble = sum(rng.uniform(0.05, 0.15) * np.sin(2 * np.pi * u / rng.uniform(0.3, 0.8) + rng.uniform(0, 2 * np.pi))
                 for _ in range(2))
    return np.clip(0.85 + wobble, 0.0, 1.0)


def _attack_decay(u, rng):
    """Fast rise to a peak in the first third, then a slow exponential decay (to ~0.1-0.4 at the end)."""
    peak, decay = rng.uniform(0.1, 0.3), rng.uniform(0.35, 0.8)
    rise = np.exp(-0.5 * ((u - peak) / (peak / 2.5)) ** 2)
    return np.where(u < peak, rise, np.exp(-np.maximum(u - peak, 0.0) / decay))


def _slow_rise(u, rng):
    """The mirror image: a slow build-up, a peak late in the instance, a fast release."""
    return _attack_decay(1.0 - u, rng)


def _onset(u, rng):
    """Onset-heavy: the peak sits right at the start, then a long lower shoulder (30-50 % of the peak)."""
    peak, shoulder = rng.uniform(0.0, 0.12), rng.uniform(0.3, 0.5)
    rise = np.exp(-0.5 * ((u - peak) / 0.04) ** 2)
    return np.where(u < peak, rise, shoulder + (1 - shoulder) * np.exp(-np.maximum(u - peak, 0.0) / 0.15))


def _partial(u, rng):
    """A sub-action: evidence over 30-60 % of the instance only, a faint trace over the rest."""
    length = rng.uniform(0.3, 0.6)
    start = rng.uniform(0.0, 1.0 - length)
    inside = ndimage.gaussian_filter1d(((u >= start) & (u <= start + length)).astype(float), 1.0)
    return np.maximum(inside / max(inside.max(), 1e-9), 0.15)


SHAPES = {"bell": _bell, "plateau": _plateau, "attack_decay": _attack_decay, "slow_rise": _slow_rise,
          "onset": _onset, "partial": _partial}
SHAPE_WEIGHTS = np.array([0.2, 0.2, 0.2, 0.1, 0.15, 0.15])


# --- one video ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Instance:
    """An instance in fractional snippets of the grid: [start, end], its class column."""

    start: float
    end: float
    column: int

    @property
    def length(self) -> float:
        return self.end - self.start


def _instances(video: VideoAnnotation, grid, column: Mapping[str, int]) -> list[_Instance]:
    return [_Instance(float(grid.seconds_to_snippet(inst.start_s)), float(grid.seconds_to_snippet(inst.end_s)),
                      column[inst.label]) for inst in video.instances]


def _evidence_profile(index, inst: _Instance, difficulty: Difficulty, rng) -> np.ndarray:
    """(T,) in [0, 1]: one instance's evidence shape, edges leaking out of (or short of) the instance."""
    width = max(inst.length, MIN_EVIDENCE_SNIPPETS)
    start = 0.5 * (inst.start + inst.end) - 0.5 * width
    name = rng.choice(list(SHAPES), p=SHAPE_WEIGHTS / SHAPE_WEIGHTS.sum())
    shape = SHAPES[name]((index - start) / width, rng)
    leak_start, leak_end = rng.uniform(*difficulty.leak_fraction, size=2) * width
    edge = max(0.6, 0.06 * width)
    return shape * soft_box(index, start - leak_start, start + width + leak_end, edge)


def _amplitude(inst: _Instance, difficulty: Difficulty, rng) -> float:
    """Peak evidence (logit); short instances get less of it (detectors find them harder)."""
    mean, sd = difficulty.evidence_logit
    shortness = min(1.0, 0.6 + 0.4 * inst.length / SHORT_INSTANCE_SNIPPETS)
    return max(0.5, rng.normal(mean, sd)) * shortness


def _dropouts(index, inst: _Instance, difficulty: Difficulty, rng) -> np.ndarray:
    """(T,) logit to subtract: 1-2 short (2-6 snippet) dips inside a long instance, or nothing."""
    dips = np.zeros_like(index)
    if inst.length < LONG_INSTANCE_SNIPPETS or rng.random() >= difficulty.dropout_chance:
        return dips
    for _ in range(rng.integers(1, 3)):
        centre = rng.uniform(inst.start + 0.2 * inst.length, inst.end - 0.2 * inst.length)
        half = 0.5 * rng.uniform(2.0, 6.0)
        dips = np.maximum(dips, difficulty.dropout_logit * rng.uniform(0.6, 1.0)
                          * soft_box(index, centre - half, centre + half, 0.5))
    return dips


def _instance_evidence(index, instances, confusion, num_classes, difficulty, rng):
    """(T, C) logit: each instance's evidence in its class, leaked evidence in its similar classes,
    minus dropouts. Overlapping evidence of one class combines by max (one detector output, not a sum)."""
    evidence = np.zeros((index.size, num_classes))
    dips = np.zeros_like(evidence)
    for inst in instances:
        bump = _amplitude(inst, difficulty, rng) * _evidence_profile(index, inst, difficulty, rng)
        leaked = difficulty.confusion * confusion[inst.column][None, :] * bump[:, None]
        evidence = np.maximum(evidence, leaked)
        evidence[:, inst.column] = np.maximum(evidence[:, inst.column], bump)
        dips[:, inst.column] = np.maximum(dips[:, inst.column], _dropouts(index, inst, difficulty, rng))
    return evidence - dips


def _action_mask(index, instances, margin: float) -> np.ndarray:
    mask = np.zeros(index.size, dtype=bool)
    for inst in instances:
        mask |= (index >= inst.start - margin) & (index <= inst.end + margin)
    return mask


def _false_positives(index, instances, num_classes, difficulty, rng) -> np.ndarray:
    """(T, C) logit: bell-shaped bumps (sd 1.5-6 snippets) of the video's own classes away from instances."""
    bumps = np.zeros((index.size, num_classes))
    free = np.flatnonzero(~_action_mask(index, instances, FP_MARGIN_SNIPPETS))
    mean_evidence = difficulty.evidence_logit[0]
    for column in sorted({inst.column for inst in instances}):
        count = rng.poisson(difficulty.false_positives_per_100 * index.size / 100.0)
        for centre in rng.choice(free, size=count) if free.size else ():
            height = rng.uniform(*difficulty.false_positive_fraction) * mean_evidence
            bump = height * np.exp(-0.5 * ((index - centre) / rng.uniform(1.5, 6.0)) ** 2)
            bumps[:, column] = np.maximum(bumps[:, column], bump)
    return bumps


def _class_noise(num_snippets, own_columns, num_classes, difficulty, rng) -> np.ndarray:
    """(T, C) logit: AR(1) noise, part common to all classes, plus single-snippet spikes (half of them
    on the video's own classes, where they matter to a fit)."""
    common = np.sqrt(difficulty.common_fraction)
    own = np.sqrt(1.0 - difficulty.common_fraction)
    noise = (common * ar1_noise(rng, (num_snippets, 1), difficulty.ar_sigma, difficulty.ar_tau_snippets)
             + own * ar1_noise(rng, (num_snippets, num_classes), difficulty.ar_sigma, difficulty.ar_tau_snippets))
    count = rng.poisson(difficulty.spikes_per_100 * num_snippets / 100.0)
    times = rng.integers(0, num_snippets, size=count)
    on_own = rng.random(count) < 0.5
    columns = np.where(on_own, rng.choice(own_columns, size=count), rng.integers(0, num_classes, size=count))
    signs = rng.choice([-1.0, 1.0], size=count)
    np.add.at(noise, (times, columns), signs * rng.uniform(*difficulty.spike_logit, size=count))
    return noise


def _class_probs(index, instances, confusion, num_classes, difficulty, rng) -> np.ndarray:
    own_columns = np.array(sorted({inst.column for inst in instances}), dtype=np.int64)
    logits = difficulty.base_logit + rng.normal(0.0, 0.4, size=num_classes)[None, :] + np.zeros((index.size, 1))
    if own_columns.size:
        logits[:, own_columns] += difficulty.context_logit
        logits += _instance_evidence(index, instances, confusion, num_classes, difficulty, rng)
        logits += _false_positives(index, instances, num_classes, difficulty, rng)
    else:
        own_columns = np.arange(num_classes)
    logits += _class_noise(index.size, own_columns, num_classes, difficulty, rng)
    probs = to_prob(logits)
    return pool_mean(probs, difficulty.pool) if difficulty.pool > 1 else probs


# --- the background head --------------------------------------------------------------------------

def _bg_actionness(index, instances, difficulty, rng) -> np.ndarray:
    """(T,) in [0, 1]: how strongly the background head sees an action; boundaries offset per instance
    (either direction), shallower inside short instances, blurred (so that short gaps between instances
    are not seen as background)."""
    action = np.zeros(index.size)
    for inst in instances:
        offset_sd = difficulty.bg_offset_sd_snippets + difficulty.bg_offset_fraction * inst.length
        start = inst.start + rng.normal(0.0, offset_sd)
        end = max(start + 1.0, inst.end + rng.normal(0.0, offset_sd))
        shortness = np.clip(inst.length / SHORT_INSTANCE_SNIPPETS, 0.0, 1.0)
        depth = difficulty.short_bg_depth + (1.0 - difficulty.short_bg_depth) * shortness
        action = np.maximum(action, depth * soft_box(index, start, end, BG_EDGE_SNIPPETS))
    return ndimage.gaussian_filter1d(action, difficulty.bg_blur_snippets, mode="nearest")


def _bg_holes(index, action, difficulty, rng) -> np.ndarray:
    """(T,) in [0, 1]: short (2-8 snippet) false "action" stretches inside long background stretches."""
    holes = np.zeros(index.size)
    labels, _ = ndimage.label(action < 0.05)
    for stretch in ndimage.find_objects(labels):
        lo, hi = stretch[0].start, stretch[0].stop
        if hi - lo < LONG_BACKGROUND_SNIPPETS:
            continue
        for centre in rng.uniform(lo, hi, size=rng.poisson(difficulty.bg_holes_per_100 * (hi - lo) / 100.0)):
            half = 0.5 * rng.uniform(2.0, 8.0)
            holes = np.maximum(holes, rng.uniform(0.7, 1.0) * soft_box(index, centre - half, centre + half, 0.5))
    return holes


def _bg_probs(index, instances, difficulty, rng) -> np.ndarray:
    """(T,) background probability: confident (logit ~ +2.8) on background, ~ -3 inside actions."""
    confident_bg, confident_action = rng.normal(2.8, 0.4), rng.normal(3.0, 0.4)
    action = _bg_actionness(index, instances, difficulty, rng)
    action = np.maximum(action, _bg_holes(index, action, difficulty, rng))
    logits = confident_bg - (confident_bg + confident_action) * action
    logits += ar1_noise(rng, (index.size,), difficulty.bg_ar_sigma, BG_TAU_SNIPPETS)
    return to_prob(logits)


# --- the family -----------------------------------------------------------------------------------

def confusion_matrix(num_classes: int, seed: int) -> np.ndarray:
    """(C, C): row c holds the leak strengths (0.3-0.7) of class c into its 1-2 "similar" classes, zero
    elsewhere and on the diagonal. Fixed per (seed, C), shared by every video."""
    rng = np.random.default_rng(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, zlib.crc32(b"confusion")]))
    matrix = np.zeros((num_classes, num_classes))
    for row in range(num_classes):
        others = np.delete(np.arange(num_classes), row)
        similar = rng.choice(others, size=min(others.size, rng.integers(1, 3)), replace=False)
        matrix[row, similar] = rng.uniform(0.3, 0.7, size=similar.size)
    return matrix


def make_video(video: VideoAnnotation, classes, variant: str, seed: int,
               confusion: np.ndarray | None = None) -> FamilySignals:
    """One video's signals on its ActionFormer THUMOS'14 grid."""
    difficulty = DIFFICULTIES[variant]
    grid, num_snippets = thumos14_grid(video)
    column = {name: number for number, name in enumerate(classes)}
    confusion = confusion_matrix(len(classes), seed) if confusion is None else confusion
    index = np.arange(num_snippets, dtype=np.float64)
    instances = _instances(video, grid, column)
    # Separate streams: the background's draws do not shift when the class head draws more or fewer.
    probs = _class_probs(index, instances, confusion, len(classes), difficulty, video_rng(seed, video.video, "class"))
    bg_probs = _bg_probs(index, instances, difficulty, video_rng(seed, video.video, "background"))
    return FamilySignals(probs=probs, bg_probs=bg_probs, grid=grid)


def make_family(videos: Mapping[str, VideoAnnotation], classes, variant: str, seed: int) -> dict[str, FamilySignals]:
    """``{video: FamilySignals}`` for every video, of the given variant (one of VARIANTS)."""
    if variant not in DIFFICULTIES:
        raise ValueError(f"unknown variant {variant!r}; expected one of {', '.join(VARIANTS)}")
    confusion = confusion_matrix(len(classes), seed)
    return {key: make_video(video, classes, variant, seed, confusion) for key, video in videos.items()}
