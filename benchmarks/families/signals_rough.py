"""The ``rough`` signal family: detector outputs as they look in a user's hands, on the real THUMOS'14 annotations.

Designed from a description of a detector's outputs only, apart from the other families and never tuned against a
pseudo-label method (docs/adm.md, "The validation suite: signal families designed apart"). Per video, on the
THUMOS'14 ActionFormer grid (native fps, 16-frame windows every 4 frames; T = the whole windows, as
``admfit.datasets.checks.expected_snippets``):

- class evidence (logits): ``BASE_LOGIT`` everywhere, plus, over each instance, a plateau of its own strength
  (``STRENGTH_LOGITS``) with logistic edges of ``EDGE_RISE_SNIPPETS`` (10-90 % rise); overlapping instances of a
  class take the larger evidence. A share ``confusion_rate`` of the instances leaks ``LEAK_SHARE`` of their strength
  into one other class;
- AR(1) noise in the logits, per class, of standard deviation ``noise_logits`` and correlation length
  ``noise_snippets`` (lag-1 correlation exp(-1 / length)): bumps and dips several snippets wide;
- a per-video temperature, log-uniform in ``temperature``, that divides every logit of the video (class and
  background, noise included): below 1 over-confident, above 1 flat;
- impulses, after the sigmoid: false alarms (``spike_up_rate`` per snippet; a single snippet of one class, one of
  the video's labelled classes with probability ``SPIKE_OWN_CLASS``, raised to at least ``SPIKE_UP_PROB``) and
  dropouts (``dropout_rate`` per snippet inside an instance, of the instance's class, multiplied by
  ``DROPOUT_FACTOR``);
- a background head: ``BG_BASE_LOGIT`` minus a plateau of its own strength (``BG_STRENGTH_LOGITS``) over each
  instance SHIFTED in time by ``BG_SHIFT_SNIPPETS`` (magnitude, either sign; start and end shift together): in a
  share ``BG_PER_VIDEO_SHARE`` of the videos all instances share one shift, in the others each instance draws its
  own; plus its own AR(1) noise (``bg_noise_logits``, the same correlation length), then the video's temperature.

The variants grow the noise, its correlation length, the temperature spread, the impulses and the confusion
(``VARIANT_SETTINGS``): ``mild``, ``medium``, ``strong``. The background shift and the evidence strengths are the
same in every variant. A video's signals depend only on (seed, video id, variant), never on the other videos.
"""
from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter
from scipy.special import expit

from admfit.datasets import VideoAnnotation, grid_for
from admfit.datasets.checks import expected_snippets
from admfit.errors import InputError
from admfit.synthetic.families import FamilySignals

VARIANTS = ("mild", "medium", "strong")
QUICK_VARIANTS = ("medium",)

# Class evidence, logits: the level away from every instance (sigmoid 0.03) and the per-instance plateau added on
# top, drawn uniformly (peaks from -0.5, a weak instance, to 4.5, before the temperature).
BASE_LOGIT = -3.5
STRENGTH_LOGITS = (3.0, 8.0)
# Width of each soft edge, snippets: the 10-90 % rise of a logistic, drawn uniformly per edge.
EDGE_RISE_SNIPPETS = (2.0, 6.0)
# A logistic of scale k rises from 10 % to 90 % over 2 ln 9 k.
LOGISTIC_RISE_PER_SCALE = 2.0 * math.log(9.0)
# Class confusion: the share of a leaking instance's strength (logits) that another class receives, uniform.
LEAK_SHARE = (0.3, 0.6)
# Impulses, probabilities: a false alarm is raised to at least a uniform draw in SPIKE_UP_PROB; it falls in one of
# the video's labelled classes with probability SPIKE_OWN_CLASS (else any class). A dropout is multiplied by a
# uniform draw in DROPOUT_FACTOR.
SPIKE_UP_PROB = (0.6, 0.95)
SPIKE_OWN_CLASS = 0.75
DROPOUT_FACTOR = (0.0, 0.15)
# Background head, logits: the level away from every instance (sigmoid 0.97) and the per-instance dip below it.
BG_BASE_LOGIT = 3.5
BG_STRENGTH_LOGITS = (5.0, 9.0)
# The shift of the background head's boundaries against the instances, snippets: magnitude uniform, sign +/- 1/2.
BG_SHIFT_SNIPPETS = (3.0, 8.0)
# Share of the videos whose instances all share one shift (the others: one shift per instance).
BG_PER_VIDEO_SHARE = 0.5


@dataclass(frozen=True)
class RoughSettings:
    """What a variant draws. Logits are before the temperature; rates are per snippet."""

    noise_logits: float  # AR(1) noise standard deviation of the class logits
    noise_snippets: float  # the noise's correlation length (class and background)
    temperature: tuple[float, float]  # per-video temperature, log-uniform in this range
    spike_up_rate: float  # false alarms per snippet of the video
    dropout_rate: float  # dropouts per snippet inside an instance
    confusion_rate: float  # share of the instances that leak into another class
    bg_noise_logits: float  # AR(1) noise standard deviation of the background logits


VARIANT_SETTINGS = {
    "mild": RoughSettings(noise_logits=0.8, noise_snippets=3.0, temperature=(0.7, 1.4), spike_up_rate=0.003,
                          dropout_rate=0.01, confusion_rate=0.1, bg_noise_logits=0.5),
    "medium": RoughSettings(noise_logits=1.4, noise_snippets=5.0, temperature=(0.45, 2.2), spike_up_rate=0.008,
                            dropout_rate=0.03, confusion_rate=0.2, bg_noise_logits=0.9),
    "strong": RoughSettings(noise_logits=2.0, noise_snippets=8.0, temperature=(0.3, 3.3), spike_up_rate=0.015,
                            dropout_rate=0.06, confusion_rate=0.3, bg_noise_logits=1.3),
}


def make_family(videos: Mapping[str, VideoAnnotation], classes: Sequence[str], variant: str,
                seed: int) -> dict[str, FamilySignals]:
    """``{video: FamilySignals}`` of variant ``variant`` (one of VARIANTS) for every video of ``videos``;
    ``classes`` is the column order of ``probs``."""
    if variant not in VARIANT_SETTINGS:
        raise InputError(f"unknown variant {variant!r} of the rough family (one of {', '.join(VARIANTS)})",
                         field="variant")
    settings = VARIANT_SETTINGS[variant]
    column = {name: number for number, name in enumerate(classes)}
    return {video: _video_signals(record, column, settings, _video_rng(seed, video, variant))
            for video, record in videos.items()}


def _video_rng(seed: int, video: str, variant: str) -> np.random.Generator:
    """A generator that depends on (seed, video id, variant) only: a stable digest of the id, not hash()."""
    digest = int.from_bytes(hashlib.blake2b(video.encode("utf-8"), digest_size=8).digest(), "little")
    return np.random.default_rng([int(seed), digest, VARIANTS.index(variant)])


def _video_signals(record: VideoAnnotation, column: Mapping[str, int], settings: RoughSettings,
                   rng: np.random.Generator) -> FamilySignals:
    grid = grid_for(record, "thumos14_actionformer")
    num_snippets = expected_snippets(grid, record.duration_s)[0]
    times = np.arange(num_snippets, dtype=np.float64)
    starts = grid.seconds_to_snippet([inst.start_s for inst in record.instances])
    ends = grid.seconds_to_snippet([inst.end_s for inst in record.instances])
    labels = np.array([column[inst.label] for inst in record.instances], dtype=np.int64)
    temperature = math.exp(rng.uniform(*np.log(settings.temperature)))

    boxes = _soft_boxes(times, starts, ends, rng)
    evidence = _class_evidence(boxes, labels, len(column), settings.confusion_rate, rng)
    noise = _ar1_noise(rng, (num_snippets, len(column)), settings.noise_logits, settings.noise_snippets)
    probs = expit((BASE_LOGIT + evidence + noise) / temperature)
    _add_impulses(probs, boxes, labels, settings, rng)

    shifts = _background_shifts(len(starts), rng)
    bg_boxes = _soft_boxes(times, starts + shifts, ends + shifts, rng)
    dips = rng.uniform(*BG_STRENGTH_LOGITS, size=(len(starts), 1)) * bg_boxes
    actionness = dips.max(axis=0) if len(starts) else np.zeros(num_snippets)
    bg_noise = _ar1_noise(rng, (num_snippets,), settings.bg_noise_logits, settings.noise_snippets)
    bg_probs = expit((BG_BASE_LOGIT - actionness + bg_noise) / temperature)
    return FamilySignals(probs=probs, bg_probs=bg_probs, grid=grid)


def _soft_boxes(times: np.ndarray, starts: np.ndarray, ends: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(n, T): near 1 on [start, end] (snippets), logistic edges of EDGE_RISE_SNIPPETS drawn per edge."""
    scales = rng.uniform(*EDGE_RISE_SNIPPETS, size=(2, len(starts), 1)) / LOGISTIC_RISE_PER_SCALE
    return expit((times - starts[:, None]) / scales[0]) * expit((ends[:, None] - times) / scales[1])


def _class_evidence(boxes: np.ndarray, labels: np.ndarray, num_classes: int, confusion_rate: float,
                    rng: np.random.Generator) -> np.ndarray:
    """(T, C) logits added to BASE_LOGIT: each instance's plateau in its class, the larger where instances overlap,
    and the leaks of the confused instances into one other class each."""
    strengths = rng.uniform(*STRENGTH_LOGITS, size=len(labels))
    leaking = (rng.random(len(labels)) < confusion_rate) & (num_classes > 1)
    # Another class: a draw among the C - 1 others, skipping the instance's own.
    others = rng.integers(0, max(num_classes - 1, 1), size=len(labels))
    others = others + (others >= labels)
    leaks = strengths * rng.uniform(*LEAK_SHARE, size=len(labels))
    rows = np.concatenate([labels, others[leaking]])
    heights = np.concatenate([strengths, leaks[leaking]])[:, None] * np.concatenate([boxes, boxes[leaking]])
    evidence = np.zeros((num_classes, boxes.shape[1]))
    np.maximum.at(evidence, rows, heights)
    return evidence.T


def _ar1_noise(rng: np.random.Generator, shape: tuple[int, ...], std_logits: float,
               length_snippets: float) -> np.ndarray:
    """Stationary AR(1) noise along axis 0: standard deviation ``std_logits``, lag-1 correlation
    exp(-1 / ``length_snippets``)."""
    rho = math.exp(-1.0 / length_snippets)
    innovations = rng.standard_normal(shape) * std_logits
    innovations[1:] *= math.sqrt(1.0 - rho * rho)  # the first value already has the stationary spread
    return lfilter([1.0], [1.0, -rho], innovations, axis=0)


def _add_impulses(probs: np.ndarray, boxes: np.ndarray, labels: np.ndarray, settings: RoughSettings,
                  rng: np.random.Generator) -> None:
    """Single-snippet false alarms and dropouts, in place (probabilities)."""
    num_snippets, num_classes = probs.shape
    count = rng.poisson(settings.spike_up_rate * num_snippets)
    snippets = rng.integers(0, num_snippets, size=count)
    classes = rng.integers(0, num_classes, size=count)
    if len(labels):
        own = labels[rng.integers(0, len(labels), size=count)]
        classes = np.where(rng.random(count) < SPIKE_OWN_CLASS, own, classes)
    probs[snippets, classes] = np.maximum(probs[snippets, classes], rng.uniform(*SPIKE_UP_PROB, size=count))

    inside_instance, inside_snippet = np.nonzero(boxes > 0.5)
    count = min(rng.poisson(settings.dropout_rate * len(inside_snippet)), len(inside_snippet))
    chosen = rng.choice(len(inside_snippet), size=count, replace=False)
    snippets, classes = inside_snippet[chosen], labels[inside_instance[chosen]]
    probs[snippets, classes] *= rng.uniform(*DROPOUT_FACTOR, size=count)


def _background_shifts(num_instances: int, rng: np.random.Generator) -> np.ndarray:
    """Per-instance shift (snippets) of the background head: one for the whole video in a share BG_PER_VIDEO_SHARE
    of the videos, else one per instance; magnitude uniform in BG_SHIFT_SNIPPETS, either sign."""
    per_video = rng.random() < BG_PER_VIDEO_SHARE
    draws = 1 if per_video else num_instances
    shifts = rng.uniform(*BG_SHIFT_SNIPPETS, size=draws) * rng.choice([-1.0, 1.0], size=draws)
    return np.broadcast_to(shifts, (num_instances,)).astype(np.float64) if per_video else shifts
