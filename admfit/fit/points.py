"""Points on signals: :func:`resolve_points` turns the points of a points file (``admfit.files.points``) into the
(snippet, class index) rows that :func:`admfit.fit_instances` takes, on each video's SnippetGrid
(:meth:`admfit.files.signals.SignalSet.grid`); ``admfit fit``, ``admfit label``, ``admfit plot`` and Python callers
share it.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from admfit.errors import InputError
from admfit.files.points import RawPoint
from admfit.files.signals import SignalSet
from admfit.grid import SnippetGrid


@dataclass
class ResolvedPoints:
    """Points ready for :func:`admfit.fit_instances`: ``rows`` video -> (N, 2) int64 (snippet, class index) in
    the points file's order, ``classes`` the class names (None when neither file names them), ``grids`` each
    video's SnippetGrid (None without an fps), ``signals`` the SignalSet with a one-video file's unnamed video
    named after the points'."""

    rows: dict[str, np.ndarray]
    classes: list[str] | None
    grids: dict[str, SnippetGrid | None]
    signals: SignalSet


def _named_signals(signals: SignalSet, points: Sequence[RawPoint], signals_file) -> SignalSet:
    """Name the single unnamed video of a one-video npz after the only video of the points file."""
    if "" not in signals.probs:
        return signals
    videos = sorted({point.video for point in points})
    if len(videos) != 1:
        raise InputError(f"holds one unnamed video but the points name {len(videos)} videos", file=signals_file,
                         field="probs")
    renamed = {name: {(videos[0] if video == "" else video): array for video, array in getattr(signals, name).items()}
               for name in ("probs", "bg_probs", "background")}
    return replace(signals, **renamed)


def _check_videos(signals: SignalSet, points: Sequence[RawPoint], signals_file, points_file) -> None:
    pointed = {point.video for point in points}
    for video in pointed:
        if video not in signals.probs:
            raise InputError("has points but is missing from the signals file", file=points_file, video=video,
                             field="points")
    for video in signals.probs:
        if video not in pointed:
            raise InputError("has signals but no points in the points file", file=signals_file, video=video,
                             field="probs")


def _class_names(signals: SignalSet, from_points: Sequence[str] | None, points_file) -> list[str] | None:
    if signals.classes and from_points and list(signals.classes) != list(from_points):
        raise InputError("class names differ from those in the signals file", file=points_file, field="classes")
    return list(from_points or signals.classes or []) or None


def _class_index(point: RawPoint, classes: list[str] | None, num_classes: int, points_file) -> int:
    if isinstance(point.label, str):
        if classes is None:
            raise InputError(f"class name {point.label!r} given but no class names are known", file=points_file,
                             video=point.video, field="label")
        if point.label not in classes:
            raise InputError(f"unknown class {point.label!r}", file=points_file, video=point.video, field="label")
        return classes.index(point.label)
    if not 0 <= point.label < num_classes:
        raise InputError(f"class index {point.label} is outside [0, {num_classes - 1}]", file=points_file,
                         video=point.video, field="label")
    return int(point.label)


def _snippet(point: RawPoint, grid: SnippetGrid | None, length: int, points_file) -> int:
    """The nearest snippet index of the point; InputError outside [-0.5, length - 0.5)."""
    if point.snippet is not None:
        position = point.snippet
    else:
        if grid is None:
            raise InputError("point given in seconds but the fps is unknown (give --fps or VIDEO/fps)",
                             file=points_file, video=point.video, field="time_s")
        position = float(grid.seconds_to_snippet(point.time_s))
    if not -0.5 <= position < length - 0.5:
        where = f"snippet {point.snippet}" if point.snippet is not None else f"{point.time_s} s"
        raise InputError(f"point at {where} is outside the video ({length} snippets)", file=points_file,
                         video=point.video, field="snippet" if point.snippet is not None else "time_s")
    return int(round(position))


def resolve_points(signals: SignalSet, points: Sequence[RawPoint], classes: Sequence[str] | None = None, *,
                   fps: float | None = None, stride: float | None = None, num_frames: float | None = None,
                   signals_file: str | Path | None = None, points_file: str | Path | None = None) -> ResolvedPoints:
    """Each point as (snippet index, class index) on its video's signal, as ``fit_instances`` takes them.

    ``classes``: the names the points file gives (must equal the signals' when both have them); ``fps``,
    ``stride``, ``num_frames`` override the signals file's timing (see :meth:`SignalSet.grid`). Every video with
    points must have signals and the other way round; a point in seconds needs an fps, and must fall on the
    video. A video with a grid and a ``VIDEO/duration`` must have the T its duration gives (admfit.datasets.checks).
    ``signals_file`` and ``points_file`` name the files in errors."""
    from admfit.datasets.checks import check_feature_length

    signals_file = None if signals_file is None else str(signals_file)
    points_file = None if points_file is None else str(points_file)
    if not points:
        raise InputError("holds no points", file=points_file, field="points")
    signals = _named_signals(signals, points, signals_file)
    _check_videos(signals, points, signals_file, points_file)
    names = _class_names(signals, classes, points_file)
    grids = {video: signals.grid(video, fps=fps, stride=stride, num_frames=num_frames) for video in signals.probs}
    by_video: dict[str, list] = {}
    for point in points:
        probs = signals.probs[point.video]
        if probs.ndim != 2:
            raise InputError(f"must be (T, C), got shape {probs.shape}", file=signals_file, video=point.video,
                             field="probs")
        background = signals.background.get(point.video, signals.bg_probs.get(point.video))
        length = background.shape[0] if background is not None and background.ndim == 1 else probs.shape[0]
        if point.video not in by_video and grids[point.video] is not None:  # T must fit the duration on the grid
            check_feature_length(point.video, length, grids[point.video], signals.duration.get(point.video),
                                 file=signals_file)
        by_video.setdefault(point.video, []).append(
            (_snippet(point, grids[point.video], length, points_file),
             _class_index(point, names, probs.shape[1], points_file)))
    rows = {video: np.asarray(pairs, dtype=np.int64).reshape(-1, 2) for video, pairs in by_video.items()}
    return ResolvedPoints(rows, names, grids, signals)
