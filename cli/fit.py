"""`admfit fit signals.npz points.json`: one pseudo-label per annotated point, from any detector's signals."""
from __future__ import annotations

import time
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from admfit.atomic import check_writable
from admfit.errors import InputError

from ._common import reports_input_errors

# numba, numpy, pydantic and yaml are imported where they are used: `admfit --help` must stay fast.
if TYPE_CHECKING:
    from admfit import ADMConfig
    from admfit.fit_io import SignalSet

# Below this many points one kernel call is instant and a progress bar would only flicker.
_PROGRESS_MIN_POINTS = 20_000
_CHUNK_VIDEOS = 64


class OutputFormat(str, Enum):
    json = "json"
    csv = "csv"


def _fit_all(signals: SignalSet, rows_by_video: dict, config: ADMConfig, grids, threads, quiet):
    from rich.progress import Progress

    from admfit.api import fit_instances

    videos = list(rows_by_video)
    chunks = [videos[i:i + _CHUNK_VIDEOS] for i in range(0, len(videos), _CHUNK_VIDEOS)]
    show = not quiet and sum(len(rows) for rows in rows_by_video.values()) >= _PROGRESS_MIN_POINTS
    labels = []
    with Progress(transient=True, disable=not show) as progress:
        task = progress.add_task("fitting", total=len(videos))
        for chunk in chunks:
            labels.extend(fit_instances(
                {v: signals.probs[v] for v in chunk}, {v: rows_by_video[v] for v in chunk},
                background={v: signals.background[v] for v in chunk} if signals.background else None,
                bg_probs={v: signals.bg_probs[v] for v in chunk} if not signals.background else None,
                config=config, grid=grids if all(grids[v] for v in chunk) else None, num_threads=threads,
                centres=signals.centres))
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
    paper: bool = typer.Option(False, "--paper", help="the paper's method (ADMConfig.paper()); --config fields "
                               "override it"),
    min_confidence: float = typer.Option(0.0, "--min-confidence", min=0.0, max=1.0,
                                         help="keep only pseudo-labels whose confidence is at least this (0-1)"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar, no summary"),
) -> None:
    """Fit one ADM pseudo-label per point: Gaussian + uniform fits around each point's peak."""
    from admfit.fit_io import (load_adm_config, load_point_file, load_signals, pseudo_label_rows, resolve_points,
                               write_pseudo_labels)
    from admfit.validation import grid_options

    began = time.perf_counter()
    fps, stride, num_frames = grid_options(fps, stride, num_frames)
    config = load_adm_config(config_path, paper=paper)
    check_writable(output)
    signals = load_signals(signals_path)
    points, point_classes = load_point_file(points_path)
    resolved = resolve_points(signals, points, point_classes, fps=fps, stride=stride, num_frames=num_frames,
                              signals_file=signals_path, points_file=points_path)
    grids, classes, rows_by_video = resolved.grids, resolved.classes, resolved.rows
    try:
        labels = _fit_all(resolved.signals, rows_by_video, config, grids, threads, quiet)
    except InputError as error:
        raise _with_file(error, signals_path, points_path) from None
    unconverged = sum(not label.converged for label in labels)
    labels = [label for label in labels if label.confidence >= min_confidence]
    in_seconds = all(grids.values())
    point_seconds = [float(grids[l.video].snippet_to_seconds(l.point)) if in_seconds else None for l in labels]
    rows = pseudo_label_rows(labels, classes, point_seconds)
    meta = {"segment_units": "seconds" if in_seconds else "snippets", "config": config.model_dump(),
            "signals": str(signals_path), "points": str(points_path), "min_confidence": min_confidence,
            "classes": classes}
    write_pseudo_labels(output, rows, fmt=fmt.value, meta=meta)
    if not quiet:
        kept = f" (confidence >= {min_confidence:g}: {len(points) - len(labels)} dropped)" if min_confidence else ""
        typer.echo(f"{len(labels)} instances, {len(rows_by_video)} videos, alpha = {len(labels) / len(points):.2f} "
                   f"pseudo-labels per point{kept}, {unconverged} fits not converged, "
                   f"{time.perf_counter() - began:.2f} s -> {output}", err=True)


def register(app: typer.Typer) -> None:
    app.command("fit")(fit_command)
