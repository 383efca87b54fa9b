"""The ``admfit-torch`` command: train the reference detector, detect actions, evaluate.

Bad input (missing features, bad config key or value, NaN features, unwritable output) prints one
line and exits with code 2. Under ``torchrun`` every process runs the same command; only rank 0
writes files and prints.
"""
from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from admfit.atomic import atomic_write_text, check_writable
from admfit.errors import InputError

from ._common import OneLineErrors, reports_input_errors

app = typer.Typer(name="admfit-torch", help="The ADM-Loc reference detector (PyTorch): train, infer, eval.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False, cls=OneLineErrors)


class Stage(str, Enum):
    base = "base"
    pseudo = "pseudo"
    main = "main"
    eval = "eval"
    all = "all"


CONFIG_HELP = "YAML config file, or a preset name (thumos14, anet12, cpu-small)"
SET_HELP = "override one config field, e.g. --set optim.epochs=5 (repeatable; value parsed as YAML)"


def _config(source: str, overrides: list[str], device: str | None):
    from admfit_torch.config import load_config

    return _adjusted(load_config(source), overrides, device)


def _adjusted(cfg, overrides: list[str], device: str | None):
    from admfit_torch.config import with_overrides

    return with_overrides(cfg, overrides + ([f"device={device}"] if device is not None else []))


def _run_dir(path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(f"cannot create the output folder ({error.strerror})", file=str(path), field="out") from None
    check_writable(path / "stages.json", field="out")
    return path


def _with_data(cfg, features: Path | None, annotations: Path | None, points: Path | None):
    """The config's ``run`` paths, replaced by those given on the command line."""
    given = {name: str(value) for name, value in (("features", features), ("annotations", annotations),
                                                  ("points", points)) if value is not None}
    return cfg.model_copy(update={"run": cfg.run.model_copy(update=given)}) if given else cfg


@app.command()
@reports_input_errors
def train(
    out: Path = typer.Option(..., help="run folder: config.yaml, stages.json, base/, main/, eval/, report.md/json"),
    config: str = typer.Option("thumos14", help=CONFIG_HELP),
    stage: Stage = typer.Option(Stage.all, help="all: base -> pseudo -> main -> eval; or one stage (its "
                                "predecessors must be done)"),
    force: bool = typer.Option(False, help="redo the stage(s) even if done (and forget the later ones)"),
    features: Optional[Path] = typer.Option(None, help="folder of <video>.npy features (T, D); default run.features"),
    annotations: Optional[Path] = typer.Option(None, help="ActivityNet-style annotation JSON; default run.annotations"),
    points: Optional[Path] = typer.Option(None, help="point labels (LACP / ActivityNet CSV, SF-Net txt); default "
                                          "run.points"),
    set_: list[str] = typer.Option([], "--set", help=SET_HELP),
    device: Optional[str] = typer.Option(None, help="auto, cpu, cuda, cuda:N (default: the config's)"),
    progress: bool = typer.Option(True, help="show progress bars"),
) -> None:
    """Run the self-training loop (base model, ADM pseudo-labels, main model, evaluation), resumable by stage.

    A finished stage is skipped; one interrupted mid-training resumes from its checkpoint."""
    cfg = _with_data(_config(config, set_, device), features, annotations, points)
    from admfit_torch import ddp
    from admfit_torch.pipeline import Pipeline
    from admfit_torch.stages import STAGE_ORDER

    stages = STAGE_ORDER if stage is Stage.all else (stage.value,)
    ctx = ddp.init_distributed(cfg.device)
    try:
        run_dir = _run_dir(out)
        report = Pipeline(cfg, run_dir, ctx, progress, typer.echo).run(stages, force=force)
    finally:
        ddp.shutdown(ctx)
    if ctx.is_main and report is not None:
        typer.echo(f"report: {run_dir / 'report.md'}")


def _detections(checkpoint: Path, features: Path, annotations: Path, subset: str, set_: list[str],
                device: str | None, timing=None) -> tuple[dict, object]:
    from admfit_torch.checkpoint import inference_config, load_detector
    from admfit_torch.ddp import select_device
    from admfit_torch.inference import detect
    from admfit_torch.sources import load_split

    model, cfg, classes = load_detector(checkpoint)
    cfg = _adjusted(inference_config(cfg, set_), [], device)
    split = load_split(annotations, features, cfg, subset=subset, classes=classes)
    return detect(model, split.items, classes, cfg, select_device(cfg.device), timing), split


@app.command()
@reports_input_errors
def infer(
    checkpoint: Path = typer.Option(..., help="checkpoint.pt (or its run folder)"),
    features: Path = typer.Option(..., help="folder of <video>.npy features"),
    annotations: Path = typer.Option(..., help="annotation JSON naming the videos (and their fps)"),
    out: Path = typer.Option(..., help="detections, ActivityNet results JSON (segments in seconds)"),
    subset: str = typer.Option("test", help="subset of the annotation file to detect on"),
    set_: list[str] = typer.Option([], "--set", help=SET_HELP + "; e.g. inference.nms=soft"),
    device: Optional[str] = typer.Option(None, help="auto, cpu, cuda, cuda:N"),
) -> None:
    """Detect actions in every video of a subset."""
    check_writable(out, field="out")
    results, split = _detections(checkpoint, features, annotations, subset, set_, device)
    atomic_write_text(out, json.dumps(results))
    count = sum(len(v) for v in results["results"].values())
    typer.echo(f"{count} detections in {len(split.items)} videos -> {out}")


@app.command(name="eval")
@reports_input_errors
def eval_(
    checkpoint: Path = typer.Option(..., help="checkpoint.pt (or its run folder)"),
    features: Path = typer.Option(..., help="folder of <video>.npy features"),
    annotations: Path = typer.Option(..., help="ground-truth annotation JSON"),
    subset: str = typer.Option("test", help="subset to evaluate on"),
    out: Optional[Path] = typer.Option(None, help="also write the detections here"),
    tious: str = typer.Option("thumos14", help="tIoU thresholds: thumos14, anet, START:STOP:STEP or A,B,C"),
    set_: list[str] = typer.Option([], "--set", help=SET_HELP),
    device: Optional[str] = typer.Option(None, help="auto, cpu, cuda, cuda:N"),
) -> None:
    """Detect on a subset and score the detections (mAP per tIoU) with admfit's evaluator."""
    from admfit.evaluation import parse_tious
    from admfit_torch.scoring import evaluate_detections, format_table

    try:
        thresholds = parse_tious(tious)
    except ValueError as error:
        raise InputError(str(error), field="--tious") from None
    if out is not None:
        check_writable(out, field="out")
    results, split = _detections(checkpoint, features, annotations, subset, set_, device)
    if out is not None:
        atomic_write_text(out, json.dumps(results))
    typer.echo(format_table(evaluate_detections(annotations, subset, results, thresholds)))


@app.command(name="config")
@reports_input_errors
def show_config(source: str = typer.Argument("thumos14", help=CONFIG_HELP),
                set_: list[str] = typer.Option([], "--set", help=SET_HELP)) -> None:
    """Print a config (a preset or a file, with overrides) as complete YAML."""
    from admfit_torch.config import dump_config

    typer.echo(dump_config(_config(source, set_, None)), nl=False)


if __name__ == "__main__":
    app()
