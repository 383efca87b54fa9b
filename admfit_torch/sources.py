"""From the files a user has (annotation JSON, point labels, feature folder) to VideoItems.

Annotations and points are read with ``admfit.datasets`` (ActivityNet-style JSON; LACP / ActivityNet /
SF-Net point files). Each video's grid: its fps from the annotation file (or ``data.default_fps``),
stride and window from the config (SPEC 3).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from admfit.errors import InputError
from admfit.grid import SnippetGrid

from .config import DetectorConfig
from .data import VideoItem, make_items


@dataclass
class Split:
    items: list[VideoItem]
    classes: list[str]
    annotations_path: Path


def _grids(annotations, cfg: DetectorConfig, path: Path) -> dict[str, SnippetGrid]:
    grids = {}
    for video, record in annotations.items():
        fps = record.fps if record.fps is not None else cfg.data.default_fps
        if fps is None:
            raise InputError("no fps in the annotation file and no data.default_fps in the config", file=str(path),
                             video=video, field="fps")
        grids[video] = SnippetGrid(fps=fps, stride=cfg.data.stride, num_frames=cfg.data.num_frames)
    return grids


def load_split(annotations_path: str | Path, features_dir: str | Path, cfg: DetectorConfig, *, subset: str | None,
               points_path: str | Path | None = None, classes: list[str] | None = None) -> Split:
    """The videos of ``subset`` with their features and (when ``points_path`` is given) their points.

    Classes: ``classes`` when given (from a checkpoint), else every label of the annotation file, sorted
    (the label_id order of THUMOS'14 and ActivityNet).
    """
    from admfit.datasets import class_names, load_annotations, load_points

    annotations_path = Path(annotations_path)
    everything = load_annotations(annotations_path)
    chosen = load_annotations(annotations_path, subset=subset) if subset else everything
    if not chosen:
        raise InputError(f"no video in subset {subset!r}", file=str(annotations_path), field="subset")
    classes = list(classes) if classes is not None else class_names(everything)
    grids = _grids(chosen, cfg, annotations_path)
    points = []
    if points_path is not None:
        fps = {video: record.fps or cfg.data.default_fps for video, record in everything.items()}
        points = load_points(points_path, fps={video: value for video, value in fps.items() if value})
    items = make_items(features_dir, grids, points, {name: i for i, name in enumerate(classes)}, cfg.model.input_dim)
    return Split(items, classes, annotations_path)
