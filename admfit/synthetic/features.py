"""Synthetic snippet features (T, D) in which actions are learnable but not trivial.

Generative model (all vectors in R^D; one *world* per seed, shared by all videos):

* class prototypes ``P_c`` (C, D), random directions of norm 1;
* background prototypes ``Q_k`` (K, D), norm 1; a share of them are *confusers*: a mix of a
  random direction and one class prototype, so that some background resembles that action.

Per video (its own generator, seeded by ``(seed, crc32(video key))``):

    x_t = scene + (1 - a_t) * sum_k w_tk Q_k + sum_c A_tc P_c + noise_t

* ``scene``: a constant per-video offset (camera, venue), std ``scene_std`` per dimension;
* ``w_t``: slowly varying softmax weights over the background prototypes;
* ``A_tc``: the evidence of class c at snippet t, the maximum over the video's instances of c of a
  plateau or a bell (:mod:`admfit.synthetic.shapes`), so boundary snippets of bells carry little
  evidence (ambiguous); ``a_t = max_c A_tc``;
* ``noise_t``: Gaussian-filtered white noise along time (temporally correlated), std ``noise_std``
  per dimension.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import Field
from scipy.special import softmax

from ..errors import InputError
from ..grid import SnippetGrid
from .layout import thumos14_grid
from .noise import correlated_noise, video_rng
from .shapes import ShapeKnobs, evidence, instance_shapes, reach, spans
from .signals import check_classes, instance_table

# Std of the background mixture logits: large enough that one or two prototypes dominate at a time
# (a scene changes between a few kinds of background), small enough that they blend at changes.
_MIXTURE_LOGIT_STD = 1.5
# The world's generator takes this in place of a video's crc32 (always < 2**32): never a video's stream.
_WORLD_KEY = 2**32 + 1


class FeatureDifficulty(ShapeKnobs):
    """Knobs of the feature generator: the instance shapes (:class:`admfit.synthetic.shapes.ShapeKnobs`), then the
    rest. Widths in snippets, amplitudes relative to prototype norm 1."""

    noise_std: float = Field(ge=0, description="per-dimension std of the correlated noise")
    noise_sigma_snippets: float = Field(gt=0, description="Gaussian smoothing of the noise along time (snippets)")
    scene_std: float = Field(ge=0, description="per-dimension std of the constant per-video offset")
    background_prototypes: int = Field(ge=1, le=256, description="number K of background prototypes")
    confuser_share: float = Field(ge=0, le=1, description="share of background prototypes that resemble a class")
    confuser_mix: float = Field(ge=0, le=1, description="weight of the class prototype in a confuser")
    background_sigma_snippets: float = Field(gt=0, description="how slowly the background mixture changes (snippets)")


FEATURE_DIFFICULTIES: dict[str, FeatureDifficulty] = {
    "clean": FeatureDifficulty(
        bell_fraction=0.1, peak_range=(0.9, 1.0), ramp_snippets=0.3, ramp_fraction_range=(0.0, 0.03),
        bell_edge_range=(1.5, 2.0), bell_offset=0.05, noise_std=0.03, noise_sigma_snippets=1.5, scene_std=0.03,
        background_prototypes=8, confuser_share=0.0, confuser_mix=0.0, background_sigma_snippets=20.0),
    "medium": FeatureDifficulty(
        bell_fraction=0.3, peak_range=(0.6, 1.0), ramp_snippets=0.5, ramp_fraction_range=(0.02, 0.12),
        bell_edge_range=(1.5, 2.5), bell_offset=0.15, noise_std=0.06, noise_sigma_snippets=1.5, scene_std=0.05,
        background_prototypes=12, confuser_share=0.3, confuser_mix=0.5, background_sigma_snippets=15.0),
    "hard": FeatureDifficulty(
        bell_fraction=0.5, peak_range=(0.4, 0.9), ramp_snippets=1.0, ramp_fraction_range=(0.05, 0.25),
        bell_edge_range=(1.5, 3.0), bell_offset=0.25, noise_std=0.09, noise_sigma_snippets=1.5, scene_std=0.08,
        background_prototypes=16, confuser_share=0.5, confuser_mix=0.7, background_sigma_snippets=10.0),
}


@dataclass(frozen=True)
class FeatureWorld:
    """What all videos of one seed share.

    class_prototypes: (C, D) float32, unit norm. background_prototypes: (K, D) float32, unit norm.
    confuser_class: (K,) int64, the class a background prototype resembles, or -1.
    """

    class_prototypes: np.ndarray
    background_prototypes: np.ndarray
    confuser_class: np.ndarray


@dataclass(frozen=True)
class FeatureVideo:
    """features: (T, D) float32 on ``grid``; segments_snippets (N, 2) float64 and class_ids (N,) int64 as in
    :class:`admfit.synthetic.SignalVideo`; evidence: (T,) float32, the largest class evidence a_t."""

    features: np.ndarray
    grid: SnippetGrid
    segments_snippets: np.ndarray
    class_ids: np.ndarray
    evidence: np.ndarray


def resolve_feature_difficulty(difficulty: str | FeatureDifficulty) -> FeatureDifficulty:
    return FeatureDifficulty.named(difficulty, FEATURE_DIFFICULTIES)


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def make_world(num_classes: int, dim: int, *, seed: int, knobs: FeatureDifficulty) -> FeatureWorld:
    """The prototypes of one seed (the same for every video and every subset)."""
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 2:
        raise InputError(f"must be an integer >= 2, got {dim!r}", field="dim")
    video_rng(seed, "")  # validates the seed
    rng = np.random.default_rng([int(seed), _WORLD_KEY])
    classes = _unit_rows(rng.standard_normal((num_classes, dim)))
    count = knobs.background_prototypes
    confuser = np.where(rng.random(count) < knobs.confuser_share, rng.integers(0, num_classes, count), -1)
    background = _unit_rows(rng.standard_normal((count, dim)))
    mixed = _unit_rows((1 - knobs.confuser_mix) * background + knobs.confuser_mix * classes[np.maximum(confuser, 0)])
    background = np.where((confuser >= 0)[:, None], mixed, background)
    return FeatureWorld(classes.astype(np.float32), background.astype(np.float32), confuser.astype(np.int64))


def _class_evidence(rng, segments, class_ids, num_snippets, num_classes, knobs: FeatureDifficulty) -> np.ndarray:
    """(T, C) evidence of each class, the maximum over the video's instances."""
    shapes = instance_shapes(rng, segments, num_snippets, knobs)
    lo, hi = reach(shapes, num_snippets)
    positions, owner = spans(lo, hi)
    amounts = np.zeros((num_snippets, num_classes), dtype=np.float32)
    np.maximum.at(amounts, (positions, class_ids[owner]), evidence(shapes, positions, owner).astype(np.float32))
    return amounts


def video_features(rng: np.random.Generator, world: FeatureWorld, segments: np.ndarray, class_ids: np.ndarray,
                   num_snippets: int, knobs: FeatureDifficulty) -> tuple[np.ndarray, np.ndarray]:
    """((T, D) float32 features, (T,) float32 largest class evidence) of one video."""
    num_classes, dim = world.class_prototypes.shape
    amounts = _class_evidence(rng, segments, class_ids, num_snippets, num_classes, knobs)
    actionness = amounts.max(axis=1)
    logits = correlated_noise(rng, (num_snippets, world.background_prototypes.shape[0]), _MIXTURE_LOGIT_STD,
                              knobs.background_sigma_snippets)
    features = ((1.0 - actionness)[:, None] * softmax(logits, axis=1)) @ world.background_prototypes
    features += amounts @ world.class_prototypes
    features += (knobs.scene_std * rng.standard_normal(dim)).astype(np.float32)
    features += correlated_noise(rng, (num_snippets, dim), knobs.noise_std, knobs.noise_sigma_snippets)
    return features.astype(np.float32, copy=False), actionness


def iter_features(videos: Mapping[str, object], classes: Sequence[str], *, dim: int,
                  difficulty: str | FeatureDifficulty, seed: int,
                  grid_for: Callable[[object], tuple[SnippetGrid, int]] | None = None
                  ) -> Iterator[tuple[str, FeatureVideo]]:
    """Yield (video key, FeatureVideo) one video at a time (for writing large sets without holding them)."""
    knobs = resolve_feature_difficulty(difficulty)
    check_classes(classes)
    world = make_world(len(classes), dim, seed=seed, knobs=knobs)
    grid_for = grid_for or thumos14_grid
    for key, video in videos.items():
        grid, num_snippets = grid_for(video)
        segments, class_ids = instance_table(key, video, classes, grid)
        features, actionness = video_features(video_rng(seed, key), world, segments, class_ids, num_snippets, knobs)
        yield key, FeatureVideo(features, grid, segments, class_ids, actionness)


def make_features(videos: Mapping[str, object], classes: Sequence[str], *, dim: int,
                  difficulty: str | FeatureDifficulty, seed: int,
                  grid_for: Callable[[object], tuple[SnippetGrid, int]] | None = None) -> dict[str, FeatureVideo]:
    """Synthetic features for every video of ``videos`` (key -> ``VideoAnnotation``); see the module docstring.

    dim: D, feature dimension. Deterministic in (seed, video key); grid_for as in make_signals.
    """
    return dict(iter_features(videos, classes, dim=dim, difficulty=difficulty, seed=seed, grid_for=grid_for))
