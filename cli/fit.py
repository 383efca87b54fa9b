"""`admfit fit signals.npz points.json`: one pseudo-label per annotated point, from any detector's signals."""
from __future__ import annotations

import time
from enum import Enum
from pathlib import Path
from typing import Optional

import numpy as np
import typer
import yaml
from pydantic import ValidationError
from rich.progress import Progress

from admfit import ADMConfig, SnippetGrid, fit_instances
from admfit.atomic import check_writable
from admfit.errors import InputError
from admfit.validation import grid_options
from admfit.fit_io import RawPoint, SignalSet, load_point_file, load_signals, pseudo_label_rows, write_pseudo_labels

from ._common import reports_input_errors

# Below this many points one kernel call is instant and a progress bar would only flicker.
_PROGRESS_MIN_POINTS = 20_000
_CHUNK_VIDEOS = 64


class OutputFormat(str, Enum):
    json = "json"
    csv = "csv"


def load_config(path: Path | None) -> ADMConfig:
    if path is None:
        return ADMConfig()
    if not path.is_file():
        raise InputError("no such file" if not path.is_dir() else "is a directory, expected a file",
                         file=str(path), field="config")
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise InputError(f"malformed YAML ({str(error).splitlines()[0]})", file=str(path), field="config") from None
    except UnicodeDecodeError:
        raise InputError("not a UTF-8 text file", file=str(path), field="config") from None
    if not isinstance(values, dict):
        raise InputError("must be a mapping of ADMConfig fields", file=str(path), field="config")
    try:
        return ADMConfig(**values)
    except ValidationError as error:
        first = error.errors()[0]
        raise InputError(first["msg"], file=str(path), field=".".join(str(part) for part in first["loc"])) from None


def _class_names(signals: SignalSet, from_points: list[str] | None, points_path: Path) -> list[str] | None:
    if signals.classes and from_points and list(signals.classes) != list(from_points):
        raise InputError("class names differ from those in the signals file", file=str(points_path), field="classes")
    return from_points or signals.classes


def _grid(signals: SignalSet, video: str, fps: float | None, stride: float | None,
          num_frames: float | None) -> SnippetGrid | None:
    video_fps = fps or signals.fps.get(video) or signals.default_fps
    if video_fps is None:
        return None
    return SnippetGrid(fps=video_fps, stride=stride or signals.stride or 4,
                       num_frames=num_frames if num_frames is not None else (signals.num_frames
                                                                              if signals.num_frames is not None else 16))


def _class_index(point: RawPoint, classes: list[str] | None, num_classes: int, path: Path) -> int:
    if isinstance(point.label, str):
        if classes is None:
            raise InputError(f"class name {point.label!r} given but no class names are known", file=str(path),
                             video=point.video, field="label")
        if point.label not in classes:
            raise InputError(f"unknown class {point.label!r}", file=str(path), video=point.video, field="label")
        return classes.index(point.label)
    if not 0 <= point.label < num_classes:
        raise InputError(f"class index {point.label} is outside [0, {num_classes - 1}]", file=str(path),
                         video=point.video, field="label")
    return int(point.label)


def _snippet(point: RawPoint, grid: SnippetGrid | None, length: int, path: Path) -> int:
    if point.snippet is not None:
        position = point.snippet
    else:
        if grid is None:
            raise InputError("point given in seconds but the fps is unknown (give --fps or VIDEO/fps)",
                             file=str(path), video=point.video, field="time_s")
        position = float(grid.seconds_to_snippet(point.time_s))
    if not -0.5 <= position < length - 0.5:
        where = f"snippet {point.snippet}" if point.snippet is not None else f"{point.time_s} s"
        raise InputError(f"point at {where} is outside the video ({length} snippets)", file=str(path),
                         video=point.video, field="snippet" if point.snippet is not None else "time_s")
    return int(round(position))


def _signals_for(signals: SignalSet, points: list[RawPoint], signals_path: Path) -> SignalSet:
    """Name the single unnamed video of a one-video npz after the only video of the points file."""
    if "" not in signals.probs:
        return signals
    videos = sorted({point.video for point in points})
    if len(videos) != 1:
        raise InputError(f"holds one unnamed video but the points name {len(videos)} videos", file=str(signals_path),
                         field="probs")
    for table in (signals.probs, signals.bg_probs, signals.background):
        if "" in table:
            table[videos[0]] = table.pop("")
    return signals


def _check_videos(signals: SignalSet, points: list[RawPoint], signals_path: Path, points_path: Path) -> None:
    pointed = {point.video for point in points}
    for video in pointed:
        if video not in signals.probs:
            raise InputError("has points but is missing from the signals file", file=str(points_path), video=video,
                             field="points")
    for video in signals.probs:
        if video not in pointed:
            raise InputError("has signals but no points in the points file", file=str(signals_path), video=video,
                             field="probs")


def _resolve(signals: SignalSet, points: list[RawPoint], classes, grids, signals_path: Path,
             points_path: Path) -> dict[str, list]:
    by_video: dict[str, list] = {}
    for point in points:
        probs = signals.probs[point.video]
        if probs.ndim != 2:
            raise InputError(f"must be (T, C), got shape {probs.shape}", file=str(signals_path), video=point.video,
                             field="probs")
        background = signals.background.get(point.video, signals.bg_probs.get(point.video))
        length = background.shape[0] if background is not None and background.ndim == 1 else probs.shape[0]
        snippet = _snippet(point, grids[point.video], length, points_path)
        by_video.setdefault(point.video, []).append((snippet, _class_index(point, classes, probs.shape[1],
                                                                           points_path)))
    return by_video


def _fit_all(signals: SignalSet, rows_by_video: dict[str, list], config: ADMConfig, grids, threads, quiet):
    videos = list(rows_by_video)
    chunks = [videos[i:i + _CHUNK_VIDEOS] for i in range(0, len(videos), _CHUNK_VIDEOS)]
    show = not quiet and sum(len(rows) for rows in rows_by_video.values()) >= _PROGRESS_MIN_POINTS
    labels = []
    with Progress(transient=True, disable=not show) as progress:
        task = progress.add_task("fitting", total=len(videos))
        for chunk in chunks:
            labels.extend(fit_instances(
                {v: signals.probs[v] for v in chunk}, {v: np.asarray(rows_by_video[v]) for v in chunk},
                background={v: signals.background[v] for v in chunk} if signals.background else None,
                bg_probs={v: signals.bg_probs[v] for v in chunk} if not signals.background else None,
                config=config, grid=grids if all(grids[v] for v in chunk) else None, num_threads=threads))
            progress.advance(task, len(chunk))
    return labels


def _with_file(error: InputError, signals_path: Path, points_path: Path) -> InputError:
    if error.file is None:
        blamed = points_path if error.field == "points" else signals_path
        return InputError(error.message, file=str(blamed), video=error.video, field=error.field)
    return error


@reports_input_errors
def fit_command(
    signals_path: Path = typer.Argument(..., metavar="SIGNALS.npz", help="class and background probabilities"),
    points_path: Path = typer.Argument(..., metavar="POINTS", help="points.json, or an SF-Net/LACP point CSV"),
    output: Path = typer.Option(Path("pseudo_labels.json"), "-o", "--output", help="where to write the pseudo-labels"),
    config_path: Optional[Path] = typer.Option(None, "--config", help="YAML file of ADMConfig fields"),
    fps: Optional[float] = typer.Option(None, "--fps", help="frames per second (overrides the file's)"),
    stride: Optional[float] = typer.Option(None, "--stride", help="frames between snippets (default: file's, else 4)"),
    num_frames: Optional[float] = typer.Option(None, "--num-frames", help="frames per snippet (default: file's, else 16)"),
    fmt: OutputFormat = typer.Option(OutputFormat.json, "--format", help="json (ActivityNet style) or csv"),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, help="numba threads (default: all cores)"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar, no summary"),
) -> None:
    """Fit one ADM pseudo-label per point: Gaussian + uniform fits around each point's peak."""
    began = time.perf_counter()
    fps, stride, num_frames = grid_options(fps, stride, num_frames)
    config = load_config(config_path)
    check_writable(output)
    signals = load_signals(signals_path)
    points, point_classes = load_point_file(points_path)
    if not points:
        raise InputError("holds no points", file=str(points_path), field="points")
    signals = _signals_for(signals, points, signals_path)
    _check_videos(signals, points, signals_path, points_path)
    classes = _class_names(signals, point_classes, points_path)
    grids = {video: _grid(signals, video, fps, stride, num_frames) for video in signals.probs}
    rows_by_video = _resolve(signals, points, classes, grids, signals_path, points_path)
    try:
        labels = _fit_all(signals, rows_by_video, config, grids, threads, quiet)
    except InputError as error:
        raise _with_file(error, signals_path, points_path) from None
    in_seconds = all(grids.values())
    point_seconds = [float(grids[l.video].snippet_to_seconds(l.point)) if in_seconds else None for l in labels]
    rows = pseudo_label_rows(labels, classes, point_seconds)
    meta = {"segment_units": "seconds" if in_seconds else "snippets", "config": config.model_dump(),
            "signals": str(signals_path), "points": str(points_path)}
    write_pseudo_labels(output, rows, fmt=fmt.value, meta=meta)
    if not quiet:
        typer.echo(f"{len(labels)} instances, {len(rows_by_video)} videos, alpha = {len(labels) / len(points):.2f} "
                   f"pseudo-labels per point, {time.perf_counter() - began:.2f} s -> {output}", err=True)


def register(app: typer.Typer) -> None:
    app.command("fit")(fit_command)
