"""Base-model-like probability signals for `admfit fit`, with no model: THUMOS'14/ActivityNet-shaped.

For every video of a real annotation file, :func:`make_signals` draws what a point-supervised
detector's fused output might look like on the video's snippet grid:

* ``probs`` (T, C): each ground-truth instance raises its class with a plateau or a bell
  (:mod:`admfit.synthetic.shapes`), cut by dips in the harder settings; every class carries
  temporally correlated noise above a base level; *confusers* (bumps of a class in background,
  mostly the video's own classes) appear in the harder settings.
* ``bg_probs`` (T,): high outside actions and low inside, with boundaries that are jittered
  relative to the ground truth, raised where the class evidence dips (spurious background inside
  long actions) and lowered on confusers.

The knobs of each difficulty live in :class:`SignalDifficulty` (presets ``DIFFICULTIES``).
Each video draws from its own generator seeded by ``(seed, crc32(video key))``: a video's signals do
not depend on which other videos are generated with it.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import Field, model_validator

from ..errors import InputError
from ..grid import SnippetGrid
from .layout import thumos14_grid
from .noise import correlated_noise, video_rng
from .shapes import InstanceShapes, Range, ShapeKnobs, evidence, instance_shapes, reach, spans


class SignalDifficulty(ShapeKnobs):
    """How hard the synthetic signals are: the instance shapes (:class:`admfit.synthetic.shapes.ShapeKnobs`), then
    the rest. Widths and positions in snippets, levels in [0, 1]."""

    dip_depth: float = Field(ge=0, le=1, description="how deep dips cut the class evidence (0 = no dips)")
    dip_sigma_snippets: float = Field(gt=0, description="smoothing of the dip field: typical dip width (snippets)")
    base_level: float = Field(ge=0, le=0.5, description="class probability away from any evidence")
    noise_std: float = Field(ge=0, le=0.5, description="std of the correlated noise added to every class")
    noise_sigma_snippets: float = Field(gt=0, description="Gaussian smoothing of that noise (snippets)")
    bg_outside: float = Field(ge=0, le=1, description="background probability away from actions")
    bg_inside: float = Field(ge=0, le=1, description="background probability well inside actions")
    bg_noise_std: float = Field(ge=0, le=0.5, description="std of the correlated background noise")
    bg_boundary_jitter: float = Field(ge=0, le=1,
                                      description="std of the background boundary shift, in instance lengths")
    bg_ramp_snippets: float = Field(gt=0, description="sharpness of the background's edges (snippets)")
    bg_dip_coupling: float = Field(ge=0, le=1,
                                   description="how far class dips raise the background (spurious background)")
    confuser_rate: float = Field(ge=0, description="confusers per 100 snippets")
    confuser_peak_range: Range = Field(description="top class probability of a confuser")
    confuser_width_range: Range = Field(description="Gaussian width of a confuser (snippets)")
    confuser_own_class: float = Field(ge=0, le=1, description="share of confusers in a class the video contains")

    @model_validator(mode="after")
    def _ranges_ordered(self):
        for name in ("peak_range", "ramp_fraction_range", "bell_edge_range", "confuser_peak_range",
                     "confuser_width_range"):
            low, high = getattr(self, name)
            if not 0 <= low <= high:
                raise ValueError(f"{name} must satisfy 0 <= low <= high")
        if max(self.peak_range[1], self.confuser_peak_range[1]) > 1:
            raise ValueError("peak levels must be at most 1")
        return self


DIFFICULTIES: dict[str, SignalDifficulty] = {
    # Plateaus with sharp edges, strong evidence, background high outside and low inside.
    "clean": SignalDifficulty(
        bell_fraction=0.1, peak_range=(0.8, 0.98), ramp_snippets=0.3, ramp_fraction_range=(0.0, 0.03),
        bell_edge_range=(1.5, 2.0), bell_offset=0.05, dip_depth=0.0, dip_sigma_snippets=3.0, base_level=0.02,
        noise_std=0.03, noise_sigma_snippets=2.0, bg_outside=0.95, bg_inside=0.03, bg_noise_std=0.03,
        bg_boundary_jitter=0.02, bg_ramp_snippets=0.3, bg_dip_coupling=0.0, confuser_rate=0.0,
        confuser_peak_range=(0.0, 0.0), confuser_width_range=(2.0, 2.0), confuser_own_class=0.0),
    "medium": SignalDifficulty(
        bell_fraction=0.3, peak_range=(0.55, 0.95), ramp_snippets=0.5, ramp_fraction_range=(0.02, 0.12),
        bell_edge_range=(1.5, 2.5), bell_offset=0.15, dip_depth=0.35, dip_sigma_snippets=3.0, base_level=0.05,
        noise_std=0.06, noise_sigma_snippets=2.0, bg_outside=0.85, bg_inside=0.1, bg_noise_std=0.08,
        bg_boundary_jitter=0.1, bg_ramp_snippets=0.7, bg_dip_coupling=0.5, confuser_rate=0.5,
        confuser_peak_range=(0.2, 0.5), confuser_width_range=(2.0, 10.0), confuser_own_class=0.7),
    # Weak, dip-ridden evidence, many bells, background wrong near boundaries and inside long actions.
    "hard": SignalDifficulty(
        bell_fraction=0.5, peak_range=(0.35, 0.85), ramp_snippets=1.0, ramp_fraction_range=(0.05, 0.25),
        bell_edge_range=(1.5, 3.0), bell_offset=0.25, dip_depth=0.7, dip_sigma_snippets=3.0, base_level=0.1,
        noise_std=0.1, noise_sigma_snippets=2.0, bg_outside=0.75, bg_inside=0.2, bg_noise_std=0.12,
        bg_boundary_jitter=0.25, bg_ramp_snippets=1.5, bg_dip_coupling=1.0, confuser_rate=1.5,
        confuser_peak_range=(0.3, 0.7), confuser_width_range=(2.0, 12.0), confuser_own_class=0.7),
}


@dataclass(frozen=True)
class SignalVideo:
    """One synthetic video on its snippet grid.

    probs: (T, C) float32 fused class probabilities in [0, 1] (first-level grid).
    bg_probs: (T,) float32 background probabilities in [0, 1].
    grid: where the snippets sit in time.
    segments_snippets: (N, 2) float64 ground-truth [start, end] as fractional snippet positions
        (``grid.seconds_to_snippet`` of the annotation; not clipped to the video).
    class_ids: (N,) int64 class index (into ``classes``) of each instance.
    """

    probs: np.ndarray
    bg_probs: np.ndarray
    grid: SnippetGrid
    segments_snippets: np.ndarray
    class_ids: np.ndarray

    @property
    def num_snippets(self) -> int:
        return self.probs.shape[0]


def resolve_difficulty(difficulty: str | SignalDifficulty) -> SignalDifficulty:
    return SignalDifficulty.named(difficulty, DIFFICULTIES)


def check_classes(classes: Sequence[str]) -> None:
    """At least one class, no name twice (columns are looked up by name)."""
    if len(classes) == 0:
        raise InputError("at least one class name is needed", field="classes")
    if len(set(classes)) != len(classes):
        raise InputError("class names must be distinct", field="classes")


def instance_table(key: str, video, classes: Sequence[str], grid: SnippetGrid) -> tuple[np.ndarray, np.ndarray]:
    """Ground truth of ``video`` as ((N, 2) fractional snippets, (N,) class indices)."""
    index = {name: i for i, name in enumerate(classes)}
    class_ids = np.empty(len(video.instances), dtype=np.int64)
    seconds = np.empty((len(video.instances), 2), dtype=np.float64)
    for row, instance in enumerate(video.instances):
        if instance.label not in index:
            raise InputError(f"class {instance.label!r} is not among the {len(classes)} classes given", video=key,
                             field="label")
        class_ids[row] = index[instance.label]
        seconds[row] = (instance.start_s, instance.end_s)
    return grid.seconds_to_snippet(seconds).reshape(-1, 2), class_ids


def _paint(target: np.ndarray, shapes: InstanceShapes, columns: np.ndarray | None) -> None:
    """Raise ``target`` ((T, C) with columns[i] per instance, or (T,)) to each instance's evidence."""
    lo, hi = reach(shapes, target.shape[0])
    positions, owner = spans(lo, hi)
    values = evidence(shapes, positions, owner)
    if columns is None:
        np.maximum.at(target, positions, values)
    else:
        np.maximum.at(target, (positions, columns[owner]), values)


def _background_envelope(rng, segments, num_snippets, knobs: SignalDifficulty) -> np.ndarray:
    """(T,) in [0, 1]: 1 inside actions as the background sees them (jittered edges), 0 away from them."""
    length = np.maximum(segments[:, 1] - segments[:, 0], 0.5)
    shift = rng.normal(0.0, knobs.bg_boundary_jitter, (2, length.shape[0])) * length
    start = segments[:, 0] + shift[0]
    end = np.maximum(segments[:, 1] + shift[1], start)
    count = length.shape[0]
    ramp = np.full(count, knobs.bg_ramp_snippets)
    sharp = InstanceShapes(start=np.clip(start, -0.5, num_snippets - 0.5), end=np.clip(end, -0.5, num_snippets - 0.5),
                           is_bell=np.zeros(count, bool), peak=np.ones(count), ramp_in=ramp, ramp_out=ramp,
                           centre=np.zeros(count), sigma_in=np.ones(count), sigma_out=np.ones(count))
    envelope = np.zeros(num_snippets)
    _paint(envelope, sharp, None)
    return envelope


def _confusers(rng, num_snippets, video_classes, num_classes, knobs: SignalDifficulty):
    """Bells of class evidence in random places: (shapes, class column of each)."""
    count = rng.poisson(knobs.confuser_rate * num_snippets / 100.0)
    centre = rng.uniform(0, num_snippets, count)
    width = rng.uniform(*knobs.confuser_width_range, count)
    own = rng.random(count) < knobs.confuser_own_class
    columns = np.where(own, rng.choice(video_classes, count) if video_classes.size else 0,
                       rng.integers(0, num_classes, count)).astype(np.int64)
    shapes = InstanceShapes(start=centre - 2 * width, end=centre + 2 * width, is_bell=np.ones(count, bool),
                            peak=rng.uniform(*knobs.confuser_peak_range, count), ramp_in=np.ones(count),
                            ramp_out=np.ones(count), centre=centre, sigma_in=width, sigma_out=width)
    return shapes, columns


def make_video_signals(rng: np.random.Generator, segments: np.ndarray, class_ids: np.ndarray, num_snippets: int,
                       num_classes: int, knobs: SignalDifficulty) -> tuple[np.ndarray, np.ndarray]:
    """((T, C) float32 class probabilities, (T,) float32 background probabilities) of one video."""
    shapes = instance_shapes(rng, segments, num_snippets, knobs)
    action = np.zeros((num_snippets, num_classes))
    _paint(action, shapes, class_ids)
    # One dip field per video, in units of its std: dips where it exceeds 0.5, full depth above 1.5.
    dip_field = correlated_noise(rng, (num_snippets,), 1.0, knobs.dip_sigma_snippets)
    keep = 1.0 - knobs.dip_depth * np.clip(dip_field - 0.5, 0.0, 1.0)
    action *= keep[:, None]
    confusers, confuser_columns = _confusers(rng, num_snippets, np.unique(class_ids), num_classes, knobs)
    confusion = np.zeros((num_snippets, num_classes))
    _paint(confusion, confusers, confuser_columns)
    noise = correlated_noise(rng, (num_snippets, num_classes), knobs.noise_std, knobs.noise_sigma_snippets)
    probs = np.clip(knobs.base_level + np.maximum(action, confusion) + noise, 0.0, 1.0)

    envelope = _background_envelope(rng, segments, num_snippets, knobs)
    actionness = envelope * (1.0 - knobs.bg_dip_coupling * (1.0 - keep))
    actionness = np.maximum(actionness, 0.5 * confusion.max(axis=1))
    bg_noise = correlated_noise(rng, (num_snippets,), knobs.bg_noise_std, knobs.noise_sigma_snippets)
    bg = knobs.bg_outside - (knobs.bg_outside - knobs.bg_inside) * actionness + bg_noise
    return probs.astype(np.float32), np.clip(bg, 0.0, 1.0).astype(np.float32)


def make_signals(videos: Mapping[str, object], classes: Sequence[str], *, difficulty: str | SignalDifficulty,
                 seed: int, grid_for: Callable[[object], tuple[SnippetGrid, int]] | None = None
                 ) -> dict[str, SignalVideo]:
    """Synthetic detector signals for every video of ``videos`` (key -> ``VideoAnnotation``).

    classes: the C class names, in column order (e.g. ``class_names(videos)``).
    difficulty: "clean", "medium", "hard" or a :class:`SignalDifficulty`.
    grid_for: video -> (SnippetGrid, number of snippets); default: THUMOS'14 ActionFormer grid
        (:func:`admfit.synthetic.layout.thumos14_grid`; use ``anet12_grid`` for ActivityNet).
    Deterministic in (seed, video key); the mapping's keys name the videos (and may differ from
    ``video.video``, e.g. to replicate a video under several keys).
    """
    knobs = resolve_difficulty(difficulty)
    check_classes(classes)
    grid_for = grid_for or thumos14_grid
    result = {}
    for key, video in videos.items():
        grid, num_snippets = grid_for(video)
        segments, class_ids = instance_table(key, video, classes, grid)
        probs, bg_probs = make_video_signals(video_rng(seed, key), segments, class_ids, num_snippets, len(classes),
                                             knobs)
        result[key] = SignalVideo(probs, bg_probs, grid, segments, class_ids)
    return result
