"""Data: per-video features and points, fixed-length training samples (crop / pad / resize), collate.

Units: positions are level-0 snippet indices (fractional where a point falls between snippets);
times are seconds; a feature file is ``FEATURES_DIR/<video>.npy`` of shape (T, D) float, one row per
snippet of the video's SnippetGrid (docs/spec.md section 3), read with admfit.datasets.FeatureStore.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np
import torch
from torch.nn import functional as F

from admfit.errors import InputError
from admfit.grid import SnippetGrid, SnippetMap

from .config import DataConfig


@dataclass
class VideoItem:
    """One video: features (T, D) float32 (possibly memory-mapped), its grid, and its points.

    ``positions`` (N,) float64 level-0 snippets; ``labels`` (N,) int64 class ids. After the pseudo-label stage,
    each point's ADM pseudo-label: ``intervals`` (N, 2) [start, end] and ``sigmas`` (N,), level-0 snippets.
    ``duration_s``: the video's duration (seconds) when the annotations give it.
    """

    video: str
    features: np.ndarray
    grid: SnippetGrid
    positions: np.ndarray = field(default_factory=lambda: np.zeros(0))
    labels: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    intervals: np.ndarray | None = None
    sigmas: np.ndarray | None = None
    duration_s: float | None = None

    @property
    def num_snippets(self) -> int:
        return int(self.features.shape[0])


def make_items(features: Mapping[str, np.ndarray], videos: Sequence[str],
               grid_of: Callable[[str, int], SnippetGrid], points: Sequence, class_ids: Mapping[str, int],
               input_dim: int, *, durations: Mapping[str, float | None] | None = None,
               source=None, points_file=None) -> list[VideoItem]:
    """Items for ``videos`` (sorted by name) with their points (PointLabel-like: video, label, time_s).

    ``features`` maps each video to its (T, D) array (a dict, or an admfit.datasets.FeatureStore, which
    validates shape and finiteness); ``grid_of(video, T)`` gives its SnippetGrid. Points of other videos
    are ignored; a point of an unknown class, or features without ``input_dim`` columns, raise InputError.
    With ``durations`` (seconds), each video's T must fit its duration on its grid, and every point must lie
    where the features reach (admfit.datasets.checks); ``source`` (the features' path) and ``points_file`` name
    the files in errors.
    """
    from admfit.datasets.checks import check_feature_length, check_points_inside, feature_file

    wanted = set(videos)
    by_video: dict[str, list] = {}
    for point in points:
        if point.video not in wanted:
            continue
        if point.label not in class_ids:
            raise InputError(f"class {point.label!r} is not among the {len(class_ids)} classes", file=points_file,
                             video=point.video, field="label")
        by_video.setdefault(point.video, []).append(point)
    items = []
    for video in sorted(wanted):
        array = features[video]
        file = feature_file(source, video) if source is not None else None
        if array.ndim != 2 or array.shape[1] != input_dim:
            raise InputError(f"expected (T, {input_dim}) features (model.input_dim), got {tuple(array.shape)}",
                             file=file, video=video, field="features")
        grid = grid_of(video, array.shape[0])
        check_feature_length(video, array.shape[0], grid, (durations or {}).get(video), file=file)
        mine = by_video.get(video, [])
        times = [p.time_s for p in mine]
        positions = np.asarray(grid.seconds_to_snippet(times), dtype=np.float64).reshape(-1)
        check_points_inside(video, positions, times, array.shape[0], grid, file=file)
        # Checked above: a point beyond the first / last snippet centre lies in that snippet's window.
        positions = np.clip(positions, 0, array.shape[0] - 1)
        labels = np.array([class_ids[p.label] for p in mine], dtype=np.int64)
        items.append(VideoItem(video, array, grid, positions, labels,
                               duration_s=(durations or {}).get(video)))
    return items


def as_tensor(rows: np.ndarray) -> torch.Tensor:
    """A float32 tensor owning a copy of ``rows`` (memory-mapped arrays are read-only)."""
    return torch.from_numpy(np.array(rows, dtype=np.float32))


def padded_length(length: int, multiple: int) -> int:
    return max(multiple, math.ceil(length / multiple) * multiple)


def resize_features(features: np.ndarray, length: int) -> torch.Tensor:
    """(T, D) -> (D, length) by linear interpolation (align_corners=False)."""
    x = as_tensor(features).T.unsqueeze(0)
    return F.interpolate(x, size=length, mode="linear", align_corners=False)[0]


@dataclass
class Sample:
    """A fixed-length model input. features (D, L) float32, mask (L,) bool; points in sample snippets.

    ``offset`` and ``scale`` place the sample in the video (``map``: its SnippetMap, sample <-> video snippets).
    ``intervals`` (N, 2) and ``sigmas`` (N,): the points' pseudo-labels in sample snippets (None before the
    pseudo-label stage). ``features`` is None for a training sample whose features stay in a FeatureBank:
    ``window`` (item index, start, size) says which rows, gathered on the bank's device by ``collate``.
    """

    video: str
    features: torch.Tensor | None
    mask: torch.Tensor
    positions: torch.Tensor
    labels: torch.Tensor
    offset: float = 0.0
    scale: float = 1.0
    intervals: torch.Tensor | None = None
    sigmas: torch.Tensor | None = None
    window: tuple[int, int, int] | None = None

    @property
    def map(self) -> SnippetMap:
        return SnippetMap(self.offset, self.scale)


def _pseudo(item: VideoItem, keep, where: SnippetMap) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """The kept points' intervals and sigmas in sample snippets."""
    if item.intervals is None or item.sigmas is None:
        return None, None
    return (torch.as_tensor(where.from_video(item.intervals[keep])),
            torch.as_tensor(where.length_from_video(item.sigmas[keep])))


def _crop_window(item: VideoItem, cfg: DataConfig, rng: np.random.Generator) -> tuple[int, int]:
    """Random [start, start + length) with length = input_length (long videos) or 90-100% of T (short ones),
    retried until at least ``min_points_kept`` of the points stay inside (else the best try)."""
    total = item.num_snippets
    best, best_share = (0, min(total, cfg.input_length)), -1.0
    for _ in range(cfg.crop_retries):
        length = cfg.input_length if total > cfg.input_length else int(
            rng.integers(math.ceil(cfg.short_crop_min * total), total + 1))
        start = int(rng.integers(0, total - length + 1))
        inside = (item.positions >= start) & (item.positions < start + length)
        share = float(inside.mean()) if len(inside) else 1.0
        if share > best_share:
            best, best_share = (start, length), share
        if share >= cfg.min_points_kept:
            break
    return best


def training_sample(item: VideoItem, cfg: DataConfig, rng: np.random.Generator, multiple: int,
                    source: int | None = None) -> Sample:
    """Crop and pad (``length_mode='crop'``) or interpolate (``'resize'``) to ``input_length`` snippets.

    With ``source`` (the item's index in a FeatureBank) the features are left out (None) and the sample's
    ``window`` names its rows instead; the same random draws either way."""
    length = padded_length(cfg.input_length, multiple)
    if cfg.length_mode == "resize":
        where = SnippetMap(0.0, item.num_snippets / length)
        features = resize_features(item.features, length) if source is None else None
        return Sample(item.video, features, torch.ones(length, dtype=torch.bool),
                      torch.as_tensor(where.from_video(item.positions)), torch.as_tensor(item.labels), where.offset,
                      where.scale, *_pseudo(item, slice(None), where),
                      window=None if source is None else (source, 0, length))
    start, size = _crop_window(item, cfg, rng)
    keep = (item.positions >= start) & (item.positions < start + size)
    where = SnippetMap(float(start), 1.0)
    features = None
    if source is None:
        features = torch.zeros(item.features.shape[1], length)
        features[:, :size] = as_tensor(item.features[start:start + size]).T
    mask = torch.arange(length) < size
    return Sample(item.video, features, mask, torch.as_tensor(where.from_video(item.positions[keep])),
                  torch.as_tensor(item.labels[keep]), where.offset, where.scale, *_pseudo(item, keep, where),
                  window=None if source is None else (source, start, size))


def inference_sample(item: VideoItem, cfg: DataConfig, multiple: int) -> Sample:
    """The whole video (paper 4.1: no sampling at inference), padded to a multiple of the total stride;
    in ``resize`` mode interpolated to input_length as in training."""
    if cfg.length_mode == "resize":
        return training_sample(item, cfg, np.random.default_rng(0), multiple)
    size = item.num_snippets
    length = padded_length(size, multiple)
    features = torch.zeros(item.features.shape[1], length)
    features[:, :size] = as_tensor(item.features).T
    return Sample(item.video, features, torch.arange(length) < size, torch.as_tensor(item.positions),
                  torch.as_tensor(item.labels), 0.0, 1.0, *_pseudo(item, slice(None), SnippetMap()))


class TrainingSet(torch.utils.data.Dataset):
    """Random fixed-length samples; sample i of epoch e draws from a generator seeded (seed, epoch, i),
    so an epoch's data does not depend on what ran before it (resume is exact). With ``in_bank`` the samples
    leave their features in a FeatureBank of the same items (``training_sample``'s ``source``)."""

    def __init__(self, items: Sequence[VideoItem], cfg: DataConfig, multiple: int, seed: int, in_bank: bool = False):
        self.items, self.cfg, self.multiple, self.seed = list(items), cfg, multiple, seed
        self.in_bank = in_bank
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> Sample:
        rng = np.random.default_rng([self.seed, self.epoch, index])
        return training_sample(self.items[index], self.cfg, rng, self.multiple, index if self.in_bank else None)


@dataclass
class Batch:
    """features (B, D, L) float32 (on the FeatureBank's device when the samples' features are in one), masks
    (B, L) bool, per-sample point positions / labels, the samples."""

    features: torch.Tensor
    masks: torch.Tensor
    positions: list[torch.Tensor]
    labels: list[torch.Tensor]
    samples: list[Sample]


def collate(samples: list[Sample], bank=None) -> Batch:
    """Stack equal-length samples, or pad to the longest (inference batches of whole videos). Samples whose
    features are in ``bank`` (an admfit_torch.feature_bank.FeatureBank) are gathered there in one go."""
    length = max(s.mask.shape[0] for s in samples)
    if bank is not None and all(s.window is not None for s in samples):
        features = bank.gather([s.window for s in samples], length)
    else:
        features = torch.stack([F.pad(s.features, (0, length - s.features.shape[1])) for s in samples])
    masks = torch.stack([F.pad(s.mask, (0, length - s.mask.shape[0]), value=False) for s in samples])
    return Batch(features, masks, [s.positions for s in samples], [s.labels for s in samples], samples)
