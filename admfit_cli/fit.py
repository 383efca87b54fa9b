"""`admfit fit signals.npz points.json`: one pseudo-label per annotated point, from any detector's signals."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer

from admfit.files.atomic import check_writable
from admfit.threads import THREADS_HELP, set_threads

from ._common import Tuning, auto_option, choices, reports_input_errors, tuning_option, tuning_value

# numba, numpy, pydantic and yaml are imported where they are used: `admfit --help` must stay fast.


OutputFormat = choices("OutputFormat", ("json", "csv"))  # the formats admfit.files.pseudo_labels writes


@reports_input_errors
def fit_command(
    signals_path: Path = typer.Argument(..., metavar="SIGNALS.npz", help="class and background probabilities"),
    points_path: Path = typer.Argument(..., metavar="POINTS", help="points.json, or an SF-Net/LACP point CSV"),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="where to write the pseudo-labels (default: "
                                          "pseudo_labels.json in the current folder)"),
    config_path: Optional[Path] = typer.Option(None, "--config", help="YAML file of ADMConfig fields"),
    fps: Optional[float] = typer.Option(None, "--fps", help="frames per second (overrides the file's)"),
    stride: Optional[float] = typer.Option(None, "--stride", help="frames between snippets (default: file's, else 4)"),
    num_frames: Optional[float] = typer.Option(None, "--num-frames", help="frames per snippet (default: file's, else 16)"),
    points_fps: str = typer.Option("thumos14", "--points-fps", help="native fps of each video, for the frame "
                                   "indices of a LACP click file: thumos14 (the shipped table) or a JSON {video: fps}"),
    fmt: OutputFormat = typer.Option(OutputFormat.json, "--format", help="json (ActivityNet style) or csv"),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, help=THREADS_HELP),
    paper: bool = typer.Option(False, "--paper", help="the paper's method (ADMConfig.paper()); --config fields "
                               "override it"),
    tuning: Optional[Tuning] = tuning_option("admfit fit"),
    auto: bool = auto_option(),
    min_confidence: float = typer.Option(0.0, "--min-confidence", min=0.0, max=1.0,
                                         help="keep only pseudo-labels whose confidence is at least this (0-1)"),
    annotations: Optional[str] = typer.Option(None, "--annotations", help="the annotation JSON of these videos (or "
                                              "thumos14), recorded in meta.annotations for admfit export"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar, no summary"),
) -> None:
    """Fit one ADM pseudo-label per point: Gaussian + uniform fits around each point's peak."""
    set_threads(threads)  # first: the BLAS libraries read their count when numpy loads
    from admfit.datasets.rates import click_rates
    from admfit.files.adm_config import load_adm_config
    from admfit.files.label_outputs import PSEUDO_LABELS_FILE
    from admfit.files.points import load_point_file
    from admfit.files.provenance import annotation_meta
    from admfit.files.pseudo_labels import write_pseudo_labels
    from admfit.files.signals import load_signals
    from admfit.files.validation import grid_options
    from admfit.labelling import fit_signals

    began = time.perf_counter()
    output = Path(PSEUDO_LABELS_FILE) if output is None else output
    fps, stride, num_frames = grid_options(fps, stride, num_frames)
    config = load_adm_config(config_path, paper=paper, tuning=tuning_value(tuning, auto))
    check_writable(output)
    signals = load_signals(signals_path)
    points, point_classes = load_point_file(points_path, classes=signals.classes, rates=click_rates(points_fps),
                                            feature_fps=signals.feature_fps(fps))
    source = annotation_meta(annotations, {video: signals.grid(video, fps=fps, stride=stride, num_frames=num_frames)
                                           for video in {point.video for point in points}})
    outcome = fit_signals(signals, points, point_classes, config=config, signals_file=signals_path,
                          points_file=points_path, fps=fps, stride=stride, num_frames=num_frames, threads=threads,
                          min_confidence=min_confidence, progress=not quiet)
    outcome.meta.update(source)
    write_pseudo_labels(output, outcome.rows, fmt=fmt.value, meta=outcome.meta)
    if outcome.tuning is not None and not quiet:
        typer.echo(outcome.tuning.line, err=True)
    if not quiet:
        typer.echo(f"{outcome.summary}, {time.perf_counter() - began:.2f} s -> {output}",
                   err=True)


def register(app: typer.Typer) -> None:
    app.command("fit")(fit_command)
