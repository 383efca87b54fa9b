"""`admfit plot signals.npz pseudo_labels.json --video V --label C`: one video and class, as ADM fitted it."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ._common import reports_input_errors

# admfit.plotting (numpy, scipy, pydantic, matplotlib) is imported when the command runs: `admfit --help` must stay
# fast.


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
    from admfit.plotting import plot_fit

    drawn = plot_fit(signals_path, pseudo_path, video=video, label=label, output=output, gt_path=gt_path,
                     config_path=config_path, fps=fps, stride=stride, num_frames=num_frames)
    typer.echo(f"{drawn.count} pseudo-labels of {drawn.class_label} in {video} -> {drawn.path}", err=True)


def register(app: typer.Typer) -> None:
    app.command("plot")(plot_command)
