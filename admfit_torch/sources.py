"""From the files a user has (annotation JSON, point labels, features) to VideoItems.

Annotations, points and features are read with ``admfit.datasets`` (ActivityNet-style JSON; LACP /
ActivityNet / SF-Net point files; a folder of ``<video>.npy``, an .npz or an HDF5 file, several of them
concatenated along D). Each video's grid is ``admfit.datasets.grid_for`` with the config's grid preset
and stride / window overrides (SPEC 3).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from admfit.errors import InputError
from admfit.grid import SnippetGrid

from .config import DetectorConfig
from .data import VideoItem, make_items


@dataclass
class Split:
    items: list[VideoItem]
    classes: list[str]
    annotations_path: Path


def _grids(annotations, cfg: DetectorConfig) -> dict[str, SnippetGrid]:
    from admfit.datasets.grids import grid_for

    return {video: grid_for(record, cfg.data.grid, stride=cfg.data.stride, num_frames=cfg.data.num_frames)
            for video, record in annotations.items()}


def load_split(annotations_path: str | Path, features: str | Path | Sequence[str | Path], cfg: DetectorConfig, *,
               subset: str | None, points_path: str | Path | None = None, classes: list[str] | None = None) -> Split:
    """The videos of ``subset`` with their features and (when ``points_path`` is given) their points.

    Classes: ``classes`` when given (from a checkpoint), else every label of the annotation file, sorted
    (the label_id order of THUMOS'14 and ActivityNet).
    """
    from admfit.datasets import FeatureStore, class_names, load_annotations, load_points

    annotations_path = Path(annotations_path)
    everything = load_annotations(annotations_path)
    chosen = load_annotations(annotations_path, subset=subset) if subset else everything
    if not chosen:
        raise InputError(f"no video in subset {subset!r}", file=str(annotations_path), field="subset")
    classes = list(classes) if classes is not None else class_names(everything)
    grids = _grids(chosen, cfg)
    points = []
    if points_path is not None:
        fps = {video: record.fps for video, record in everything.items() if record.fps}
        points = load_points(points_path, fps={**fps, **{video: grid.fps for video, grid in grids.items()}})
    with FeatureStore(features) as store:
        items = make_items(store, grids, points, {name: i for i, name in enumerate(classes)}, cfg.model.input_dim)
    return Split(items, classes, annotations_path)
