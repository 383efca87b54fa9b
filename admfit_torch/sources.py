"""From the files a user has (annotation JSON, point labels, features) to VideoItems.

Annotations, points and features are read with ``admfit.datasets`` (ActivityNet-style JSON; LACP /
ActivityNet / SF-Net point files; a folder of ``<video>.npy``, an .npz or an HDF5 file, several of them
concatenated along D). Each video's grid is ``admfit.datasets.grid_for`` with the config's grid preset
and stride / window overrides (SPEC 3), or 'spread' (rows cover the duration evenly).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from admfit.errors import InputError
from admfit.grid import SnippetGrid
from admfit.video_files import check_video_ids

from .config import DetectorConfig
from .data import VideoItem, make_items


@dataclass
class Split:
    items: list[VideoItem]
    classes: list[str]
    annotations_path: Path


SPREAD_DEFAULT_FPS = 25.0  # ActivityNet practice; with 'spread' the fps only names frame units


def _spread_grid(record, num_snippets: int, path: Path) -> SnippetGrid:
    """Row i centred at (i + 0.5) duration / T seconds: stride = num_frames = duration * fps / T frames."""
    if not record.duration_s or record.duration_s <= 0:
        raise InputError("the 'spread' grid needs a positive duration", file=str(path), video=record.video,
                         field="duration")
    fps = record.fps or SPREAD_DEFAULT_FPS
    stride = record.duration_s * fps / num_snippets
    return SnippetGrid(fps=fps, stride=stride, num_frames=stride)


def grid_function(annotations, cfg: DetectorConfig, path: Path) -> Callable[[str, int], SnippetGrid]:
    """``(video, T) -> SnippetGrid`` for the videos of ``annotations`` under ``cfg.data.grid``; preset grids are
    built (and checked) at once."""
    if cfg.data.grid == "spread":
        return lambda video, num_snippets: _spread_grid(annotations[video], num_snippets, path)
    from admfit.datasets.grids import grid_for

    grids = {video: grid_for(record, cfg.data.grid, stride=cfg.data.stride, num_frames=cfg.data.num_frames)
             for video, record in annotations.items()}
    return lambda video, num_snippets: grids[video]


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
    sources = [features] if isinstance(features, (str, os.PathLike)) else list(features)
    if any(Path(source).is_dir() for source in sources):  # ids become <folder>/<id>.npy: no '../x'
        check_video_ids(chosen, file=annotations_path, field="database")
    classes = list(classes) if classes is not None else class_names(everything)
    grid_of = grid_function(chosen, cfg, annotations_path)
    points = []
    if points_path is not None:  # fps turns the frame indices of LACP point files into seconds
        fps = {video: record.fps for video, record in everything.items() if record.fps}
        if cfg.data.grid in ("thumos14_lacp", "anet12"):
            fps.update({video: grid_of(video, 1).fps for video in chosen if video not in fps})
        points = load_points(points_path, fps=fps)
    with FeatureStore(features) as store:
        items = make_items(store, list(chosen), grid_of, points, {name: i for i, name in enumerate(classes)},
                           cfg.model.input_dim, points_file=points_path,
                           features_file=", ".join(str(source) for source in sources))
    return Split(items, classes, annotations_path)
