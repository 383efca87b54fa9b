"""`admfit label --detector NAME --features DIR --points P -o OUT`: an installed detector plug-in over a features
folder, its signals and their pseudo-labels (admfit.labelling); `admfit detectors`: the installed plug-ins."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer

from admfit.threads import THREADS_HELP, set_threads

from ._common import Tuning, auto_option, reports_input_errors, tuning_option, tuning_value

# numpy, pydantic, numba and the plug-ins are imported where they are used: `admfit --help` must stay fast.


@reports_input_errors
def label_command(
    detector: str = typer.Option(..., "--detector", help="an installed admfit.detectors plug-in (admfit detectors "
                                 "lists them), e.g. admfit_torch"),
    detector_args: list[str] = typer.Option([], "--detector-arg", metavar="KEY=VALUE",
                                            help="keyword argument of the plug-in's factory, as text (repeatable), "
                                            "e.g. checkpoint=runs/main/checkpoint.pt"),
    features: Path = typer.Option(..., "--features", help="folder of VIDEO.npy features (T, D), or an .npz / HDF5 "
                                  "file of them"),
    points_path: Path = typer.Option(..., "--points", metavar="POINTS", help="points.json, an SF-Net/LACP point "
                                     "CSV (as admfit fit reads them), or thumos14 / anet12 (the shipped clicks); the "
                                     "detector runs on their videos"),
    output: Path = typer.Option(..., "-o", "--output", metavar="OUT", help="folder to write signals.npz and "
                                "pseudo_labels.json in (created if missing; other files in it are kept)"),
    videos: Optional[Path] = typer.Option(None, "--videos", help="text file of video ids, one per line: label only "
                                          "these videos' points"),
    annotations: Optional[str] = typer.Option(None, "--annotations", help="annotation JSON giving each video's "
                                              "fps and duration (T is then checked), or thumos14 (the shipped one)"),
    fps: Optional[float] = typer.Option(None, "--fps", help="the features' frames per second, every video "
                                        "(overrides the annotations')"),
    points_fps: str = typer.Option("thumos14", "--points-fps", help="native fps of each video, for the frame "
                                   "indices of a LACP click file: thumos14 (the shipped table), a JSON {video: fps}, "
                                   "or annotations (the --annotations file's fps are the native ones)"),
    stride: Optional[float] = typer.Option(None, "--stride", help="frames between snippets of the features "
                                           "(default 4)"),
    num_frames: Optional[float] = typer.Option(None, "--num-frames", help="frames per snippet of the features "
                                               "(default 16)"),
    config_path: Optional[Path] = typer.Option(None, "--config", help="YAML file of ADMConfig fields"),
    paper: bool = typer.Option(False, "--paper", help="the paper's method (ADMConfig.paper()); --config fields "
                               "override it"),
    tuning: Optional[Tuning] = tuning_option("admfit label"),
    auto: bool = auto_option(),
    min_confidence: float = typer.Option(0.0, "--min-confidence", min=0.0, max=1.0,
                                         help="keep only pseudo-labels whose confidence is at least this (0-1)"),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, help=THREADS_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar, no summary"),
) -> None:
    """Run a detector plug-in over the features of the videos that have points, write its signals
    (OUT/signals.npz, as admfit fit reads them) and their ADM pseudo-labels (OUT/pseudo_labels.json, as admfit fit
    writes them: `admfit fit OUT/signals.npz POINTS` gives the same)."""
    set_threads(threads)  # first: the BLAS libraries read their count when numpy loads, torch when the plug-in does
    from admfit.detector import load_detector
    from admfit.files.adm_config import load_adm_config
    from admfit.files.label_outputs import PSEUDO_LABELS_FILE, SIGNALS_FILE
    from admfit.files.validation import grid_options
    from admfit.labelling import check_label_folder, label_features, parse_detector_args

    began = time.perf_counter()
    arguments = parse_detector_args(detector_args)
    fps, stride, num_frames = grid_options(fps, stride, num_frames)
    config = load_adm_config(config_path, paper=paper, tuning=tuning_value(tuning, auto))
    check_label_folder(output)
    plugin = load_detector(detector, **arguments)
    outcome = label_features(plugin, detector, features, points_path, output, annotations=annotations, fps=fps,
                             stride=stride, num_frames=num_frames, config=config, threads=threads,
                             min_confidence=min_confidence, progress=not quiet, points_fps=points_fps,
                             videos=videos,
                             meta={"detector": detector, "detector_args": arguments, "features": str(features)})
    if outcome.tuning is not None and not quiet:
        typer.echo(outcome.tuning.line, err=True)
    if not quiet:
        typer.echo(f"detector {detector}: {outcome.summary}, {time.perf_counter() - began:.2f} s -> "
                   f"{output / SIGNALS_FILE}, {output / PSEUDO_LABELS_FILE}", err=True)


def detectors_command() -> None:
    """List the installed detector plug-ins (entry-point group admfit.detectors): name, factory, distribution."""
    from admfit.detector import ENTRY_POINT_GROUP, available_detectors

    found = available_detectors()
    if not found:
        typer.echo(f"no detector plug-ins installed (entry-point group {ENTRY_POINT_GROUP})")
    for _, ep in sorted(found.items()):
        dist = f"{ep.dist.name} {ep.dist.version}" if ep.dist is not None else "unknown distribution"
        typer.echo(f"{ep.name}\t{ep.value}\t({dist})")


def register(app: typer.Typer) -> None:
    app.command("label")(label_command)
    app.command("detectors")(detectors_command)
