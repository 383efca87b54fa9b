"""The ``admfit-torch`` command: train the reference detector, detect actions, evaluate.

Bad input (missing features, bad config key or value, NaN features, unwritable output) prints one
line and exits with code 2. Under ``torchrun`` every process runs the same command; only rank 0
writes files and prints.
"""
from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from admfit.errors import InputError
from admfit.files.atomic import check_writable
from admfit.threads import THREADS_HELP, set_threads
from admfit_torch.run.stages import STAGE_NAMES

from ._common import HELP_OPTIONS, App, OneLineErrors, reports_input_errors, version_option

app = App(name="admfit-torch", help="The ADM-Loc reference detector (PyTorch): train, infer, eval.",
                  no_args_is_help=True, add_completion=True, pretty_exceptions_enable=False,
                  context_settings=HELP_OPTIONS,
                  rich_markup_mode=None,  # plain help: the rich renderer costs 0.2 s per call
                  cls=OneLineErrors)


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=version_option, is_eager=True,
                                       help="print the version and exit")) -> None:
    """The ADM-Loc reference detector (PyTorch): train, infer, eval."""


# --stage choices: the stage table's names (torch-free to import), and "all".
Stage = Enum("Stage", {name: name for name in (*STAGE_NAMES, "all")}, type=str)


CONFIG_HELP = "YAML config file, or a preset name (thumos14, anet12, cpu-small)"
VIDEOS_HELP = "text file of video ids, one per line: only these videos of the subset"
FPS_HELP = ("the features' fps per video (the rate their frames were counted at): thumos14 (the shipped native table) "
            "or a JSON {video: fps} (overrides the annotation file's)")
POINTS_FPS_HELP = ("native fps per video, for the frame indices of a LACP click file: thumos14 (the shipped table), a "
                   "JSON {video: fps}, or annotations (the annotation file's fps are native); run.points_fps")
SET_HELP = "override one config field, e.g. --set optim.epochs=5 (repeatable; value parsed as YAML)"


@app.command()
@reports_input_errors
def train(
    out: Path = typer.Option(..., "-o", "--output", help="run folder: config.yaml, stages.json, base/, main/, eval/, report.md/json"),
    config: str = typer.Option("thumos14", help=CONFIG_HELP),
    stage: Stage = typer.Option("all", help=f"all: {' -> '.join(STAGE_NAMES)}; or one stage (its predecessors "
                                "must be done)"),
    force: bool = typer.Option(False, help="redo the stage(s) even if done (and forget the later ones)"),
    features: Optional[Path] = typer.Option(None, help="folder of <video>.npy features (T, D); default run.features"),
    annotations: Optional[str] = typer.Option(None, help="ActivityNet-style annotation JSON, or thumos14 (the shipped "
                                              "one); default run.annotations"),
    points: Optional[str] = typer.Option(None, help="point labels (LACP / ActivityNet CSV, SF-Net txt), or thumos14 / "
                                         "anet12 (the shipped files); default run.points"),
    videos: Optional[Path] = typer.Option(None, help="text file of video ids, one per line: use only these "
                                          "(run.videos)"),
    train_subset: Optional[str] = typer.Option(None, help="subset to train on, exact name (run.train_subset)"),
    test_subset: Optional[str] = typer.Option(None, help="subset to evaluate on, exact name (run.test_subset)"),
    skip_missing_features: Optional[bool] = typer.Option(
        None, "--skip-missing-features", help="skip videos without features, listed in RUN/skipped_videos.txt"),
    allow_overlap: Optional[bool] = typer.Option(None, "--allow-overlap", help="allow training and test videos "
                                                 "to overlap"),
    classes: Optional[str] = typer.Option(None, help="class vocabulary: thumos14, anet12 or a file, one name per "
                                          "line (run.classes; default: the dataset's)"),
    fps: Optional[str] = typer.Option(None, help=FPS_HELP + "; run.fps, needed with LACP's gt.json"),
    points_fps: Optional[str] = typer.Option(None, "--points-fps", help=POINTS_FPS_HELP),
    set_: list[str] = typer.Option([], "--set", help=SET_HELP),
    device: Optional[str] = typer.Option(None, help="auto, cpu, cuda, cuda:N (default: the config's)"),
    progress: bool = typer.Option(True, help="show progress bars"),
    threads: Optional[int] = typer.Option(None, min=1, help=THREADS_HELP),
) -> None:
    """Run the self-training loop (base model, ADM pseudo-labels, main model, evaluation), resumable by stage.

    A finished stage is skipped; one interrupted mid-training resumes from its checkpoint."""
    set_threads(threads)  # first: the BLAS libraries read their count when numpy loads
    from admfit_torch.run.request import train_config, train_run

    cfg = train_config(config, set_, device, features=features, annotations=annotations, points=points,
                       videos=videos, train_subset=train_subset, test_subset=test_subset,
                       skip_missing_features=skip_missing_features, allow_overlap=allow_overlap, classes=classes,
                       fps=fps, points_fps=points_fps)
    stages = STAGE_NAMES if stage.value == "all" else (stage.value,)
    trained = train_run(cfg, out, stages, force=force, show_progress=progress, log=typer.echo)
    if trained.report is not None:
        typer.echo(f"report: {trained.report}")


@app.command()
@reports_input_errors
def infer(
    checkpoint: Path = typer.Option(..., help="checkpoint.pt (or its run folder)"),
    features: Path = typer.Option(..., help="folder of <video>.npy features"),
    annotations: str = typer.Option(..., help="annotation JSON naming the videos (and their fps), or thumos14"),
    out: Path = typer.Option(..., "-o", "--output", help="detections, ActivityNet results JSON (segments in seconds)"),
    subset: str = typer.Option("test", help="subset of the annotation file to detect on (exact name; train / test "
                               "are aliases, noted)"),
    videos: Optional[Path] = typer.Option(None, help=VIDEOS_HELP),
    fps: Optional[str] = typer.Option(None, help=FPS_HELP),
    set_: list[str] = typer.Option([], "--set", help=SET_HELP + "; e.g. inference.nms=soft"),
    device: Optional[str] = typer.Option(None, help="auto, cpu, cuda, cuda:N"),
    threads: Optional[int] = typer.Option(None, min=1, help=THREADS_HELP),
) -> None:
    """Detect actions in every video of a subset."""
    set_threads(threads)  # first: the BLAS libraries read their count when numpy loads
    from admfit_torch.run.request import detect_checkpoint

    check_writable(out, field="--output")
    found = detect_checkpoint(checkpoint, features, annotations, subset, set_, device, videos=videos, fps=fps)
    found.write(out)
    typer.echo(f"{found.count} detections in {len(found.split.items)} videos -> {out}")


@app.command(name="eval")
@reports_input_errors
def eval_(
    checkpoint: Path = typer.Option(..., help="checkpoint.pt (or its run folder)"),
    features: Path = typer.Option(..., help="folder of <video>.npy features"),
    annotations: str = typer.Option(..., help="ground-truth annotation JSON, or thumos14 (the shipped one)"),
    subset: str = typer.Option("test", help="subset to evaluate on (exact name; train / test are aliases, noted)"),
    out: Optional[Path] = typer.Option(None, "-o", "--output", help="also write the detections here"),
    tious: Optional[str] = typer.Option(None, "--tiou", help="tIoU thresholds: thumos14, anet, START:STOP:STEP or "
                                        "A,B,C; default: the checkpoint's run.tious (anet for the anet12 preset)"),
    videos: Optional[Path] = typer.Option(None, help=VIDEOS_HELP),
    fps: Optional[str] = typer.Option(None, help=FPS_HELP),
    set_: list[str] = typer.Option([], "--set", help=SET_HELP),
    device: Optional[str] = typer.Option(None, help="auto, cpu, cuda, cuda:N"),
    threads: Optional[int] = typer.Option(None, min=1, help=THREADS_HELP),
) -> None:
    """Detect on a subset and score the detections (mAP per tIoU) with admfit's evaluator."""
    set_threads(threads)  # first: the BLAS libraries read their count when numpy loads
    from admfit.evaluation import parse_tious
    from admfit_torch.run.request import detect_checkpoint

    from ._tables import print_map_table, table1_line

    try:
        thresholds = None if tious is None else parse_tious(tious)
    except ValueError as error:
        raise InputError(str(error), field="--tiou") from None
    if out is not None:
        check_writable(out, field="--output")
    found = detect_checkpoint(checkpoint, features, annotations, subset, set_, device, videos=videos, fps=fps)
    if out is not None:
        found.write(out)
    result = found.score(thresholds)
    print_map_table(result, f"Detection mAP, subset {subset!r}")
    table1 = table1_line(result)
    if table1 is not None:
        typer.echo(table1)
    typer.echo(f"{len(result.classes)} classes, {result.num_predictions} detections in {len(found.videos)} videos")


@app.command(name="config")
@reports_input_errors
def show_config(source: str = typer.Argument("thumos14", help=CONFIG_HELP),
                set_: list[str] = typer.Option([], "--set", help=SET_HELP)) -> None:
    """Print a config (a preset or a file, with overrides) as complete YAML."""
    from admfit_torch.config import dump_config
    from admfit_torch.run.request import configured

    typer.echo(dump_config(configured(source, set_)), nl=False)


if __name__ == "__main__":
    app()
