"""`admfit plot signals.npz pseudo_labels.json --video V --label C`: one video and class, as ADM fitted it."""
from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from admfit.files.atomic import check_writable
from admfit.errors import InputError
from admfit.files.video_files import readable_stem

from ._common import reports_input_errors

# numpy, scipy, pydantic and matplotlib are imported where they are used: `admfit --help` must stay fast.
if TYPE_CHECKING:
    from admfit import ADMConfig, SnippetGrid
    from admfit.files.fit_io import SignalSet


def _entries(rows: list[dict], video: str, path: Path) -> list[dict]:
    """The video's pseudo-labels (rows of admfit.files.fit_io.read_pseudo_labels)."""
    entries = [row for row in rows if row["video"] == video]
    if not entries:
        raise InputError("has no pseudo-labels for this video", file=str(path), video=video, field="video")
    return entries


def _config(config_path: Path | None, meta: Mapping, pseudo_path: Path) -> ADMConfig:
    """--config when given, else the config the fit recorded in the pseudo-labels' meta, else the defaults."""
    from pydantic import ValidationError

    from admfit.fit.config import ADMConfig
    from admfit.files.fit_io import load_adm_config

    if config_path is not None or not isinstance(meta.get("config"), Mapping):
        return load_adm_config(config_path)
    try:
        return ADMConfig(**meta["config"])
    except ValidationError as error:
        raise InputError.from_validation(error, file=str(pseudo_path), prefix="meta.config") from None


def _video_arrays(signals: SignalSet, video: str, pseudo_videos, path: Path):
    """(probs, bg_probs, background) of the video; a one-video npz without names is that of the pseudo-labels."""
    key = video
    if "" in signals.probs and list(pseudo_videos) == [video]:
        key = ""
    if key not in signals.probs:
        raise InputError("is not in the signals file", file=str(path), video=video, field="video")
    return signals.probs[key], signals.bg_probs.get(key), signals.background.get(key)


def _class_of(label: str, classes: list[str] | None, num_classes: int, signals_path: Path) -> tuple[int, str | None]:
    """(class index, class name or None) of --label, given by name or by index (ASCII digits only: int() and
    regular expressions' \\d also take other scripts' digits: an Arabic-Indic two would draw class 2)."""
    if classes and label in classes:
        return classes.index(label), label
    if re.fullmatch(r"[0-9]+", label.strip()):
        index = int(label)
        if index >= num_classes:
            raise InputError(f"class index {index} (--label) is outside [0, {num_classes - 1}]", file=str(signals_path),
                             field="label")
        return index, classes[index] if classes and index < len(classes) else None
    known = f" (known: {', '.join(classes)})" if classes else " (no class names are known: give an index)"
    raise InputError(f"unknown class {label!r} for --label{known}", file=str(signals_path), field="label")


def _class_names(signals: SignalSet, entries: list[dict]) -> list[str] | None:
    """The signals' class names, else those the pseudo-labels name (by label_id)."""
    if signals.classes:
        return list(signals.classes)
    named = {int(entry["label_id"]): entry["label"] for entry in entries if entry["label"]}
    if not named:
        return None
    return [named.get(index, str(index)) for index in range(max(named) + 1)]


def _ground_truth(gt_path: Path, video: str, class_index: int, class_name: str | None,
                  grid: SnippetGrid | None, signals_path: Path) -> list[tuple[float, float]]:
    """The video's instances of the class, as (start, end) fractional snippet positions."""
    from admfit.datasets.annotations import load_annotations

    annotations = load_annotations(gt_path)
    if video not in annotations:
        raise InputError("is not in the ground-truth file", file=str(gt_path), video=video, field="video")
    if grid is None:
        raise InputError("ground truth is in seconds but the fps is unknown (give --fps or VIDEO/fps)",
                         file=str(signals_path), video=video, field="fps")
    chosen = [inst for inst in annotations[video].instances
              if (inst.label == class_name if class_name is not None else inst.label_id == class_index)]
    return [tuple(map(float, grid.seconds_to_snippet([inst.start_s, inst.end_s]))) for inst in chosen]


def _default_output(video: str, class_label: str) -> Path:
    # Class names such as "Cricket/Bowling" must not become folders.
    return Path(readable_stem(f"{video}_{class_label}") + ".png")


@reports_input_errors
def plot_command(
    signals_path: Path = typer.Argument(..., metavar="SIGNALS.npz", help="the signals `admfit fit` read"),
    pseudo_path: Path = typer.Argument(..., metavar="PSEUDO_LABELS.json", help="what `admfit fit` wrote (json or csv)"),
    video: str = typer.Option(..., "--video", help="the video to draw"),
    label: str = typer.Option(..., "--label", help="the class to draw, by name or by index"),
    gt_path: Optional[Path] = typer.Option(None, "--gt", help="ActivityNet-style ground truth (seconds) to draw in red"),
    config_path: Optional[Path] = typer.Option(
        None, "--config", help="YAML of ADMConfig fields (default: the config recorded in the pseudo-labels)"),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="figure path, .png or .svg "
                                          "(default: VIDEO_LABEL.png)"),
    fps: Optional[float] = typer.Option(None, "--fps", help="frames per second (overrides the file's)"),
    stride: Optional[float] = typer.Option(None, "--stride", help="frames between snippets (default: file's, else 4)"),
    num_frames: Optional[float] = typer.Option(None, "--num-frames", help="frames per snippet (default: file's, else 16)"),
) -> None:
    """Draw one video and class: the signal ADM fits, its Gaussian and uniform fits, pseudo-labels, ground truth."""
    import numpy as np

    from admfit.files.fit_io import load_signals, read_pseudo_labels
    from admfit.plotting import figure_format, plot_video_class, save_figure
    from admfit.fit.signal import prepare_background
    from admfit.files.validation import grid_options, pseudo_label_entries

    fps, stride, num_frames = grid_options(fps, stride, num_frames)
    if output is not None:
        figure_format(output)
        check_writable(output)
    signals = load_signals(signals_path)
    rows, meta = read_pseudo_labels(pseudo_path)
    config = _config(config_path, meta, pseudo_path)
    entries = _entries(rows, video, pseudo_path)
    probs, bg_probs, background = _video_arrays(signals, video, {row["video"] for row in rows}, signals_path)
    if probs.ndim != 2:
        raise InputError(f"must be (T, C), got shape {probs.shape}", file=str(signals_path), video=video, field="probs")
    length = next(array for array in (background, bg_probs, probs) if array is not None).shape[0]
    pseudo_label_entries(entries, file=str(pseudo_path), video=video, length=length, num_classes=probs.shape[1])
    class_index, class_name = _class_of(label, _class_names(signals, entries), probs.shape[1], signals_path)
    if output is None:
        output = check_writable(_default_output(video, class_name or str(class_index)))
    grid = signals.grid(video, fps=fps, stride=stride, num_frames=num_frames)
    chosen = [entry for entry in entries if int(entry["label_id"]) == class_index]
    if background is None and bg_probs is not None:
        # As in the fit: no background within point_radius of any point of the video, whatever its class.
        every_point = np.array([entry["point"] for entry in entries], dtype=np.int64)
        background = prepare_background(bg_probs, config, every_point)
    ground_truth = (_ground_truth(gt_path, video, class_index, class_name, grid, signals_path)
                    if gt_path is not None else None)
    try:
        figure = plot_video_class(probs, class_index=class_index, background=background, pseudo_labels=chosen,
                                  points=[int(entry["point"]) for entry in chosen], ground_truth=ground_truth,
                                  config=config, grid=grid, class_name=class_name,
                                  title=f"{video}: {class_name or f'class {class_index}'}", centres=signals.centres)
    except InputError as error:
        blamed = pseudo_path if (error.field or "").startswith("pseudo_labels") else signals_path
        raise InputError(error.message, file=str(blamed), video=video, field=error.field) from None
    save_figure(figure, output)
    typer.echo(f"{len(chosen)} pseudo-labels of {class_name or class_index} in {video} -> {output}", err=True)


def register(app: typer.Typer) -> None:
    app.command("plot")(plot_command)
