"""`admfit simulate-points GT.json`: SF-Net-style simulated point labels in LACP's CSV format."""
from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from admfit.files.atomic import atomic_write_text, check_writable

from ._common import reports_input_errors

# scipy.stats and pydantic are imported where they are used: `admfit --help` must stay fast.


class Distribution(str, Enum):
    gaussian = "gaussian"
    uniform = "uniform"


@reports_input_errors
def simulate_points_command(
    annotations: Path = typer.Argument(..., help="ActivityNet-style ground truth JSON (THUMOS gt.json / gt_full.json, ActivityNet)."),
    dist: Distribution = typer.Option(Distribution.gaussian, "--dist", help="gaussian: near the instance centre (LACP-like); uniform: anywhere in the instance (SF-Net)."),
    seed: int = typer.Option(0, "--seed", help="Random seed; the same seed gives the same points."),
    subset: Optional[str] = typer.Option("train", "--subset", help="Subset to simulate ('train', 'test' or the file's own name); 'all' for every video."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="CSV to write (LACP format); default: standard output."),
    points_fps: str = typer.Option("thumos14", "--points-fps", help="native fps of each video, at which the written frames count: thumos14 (the shipped fps_dict.json), a JSON {video: native fps}, or annotations (the file's own fps are native); admfit fit / label / train read the frames back with the same option."),
    shift_frames: float = typer.Option(-1.5, "--shift-frames", help="gaussian: centre offset from the instance middle, frames."),
    sigma_frames: float = typer.Option(1.0, "--sigma-frames", help="gaussian: constant spread, frames."),
    sigma_rel: float = typer.Option(0.0, "--sigma-rel", help="gaussian: extra spread per frame of instance length."),
) -> None:
    """Simulate one point per ground-truth instance (frames at native fps, LACP CSV)."""
    from admfit.datasets.simulate import SimulationConfig, points_csv, simulate_file
    from admfit.errors import validated

    config = validated(SimulationConfig, dict(dist=dist.value, seed=seed, shift_frames=shift_frames,
                                              sigma_frames=sigma_frames, sigma_rel=sigma_rel))
    if output is not None:
        check_writable(output)
    result = simulate_file(annotations, config, subset=subset, points_fps=points_fps)
    text = points_csv(result.points)
    if output is None:
        typer.echo(text, nl=False)
    else:
        atomic_write_text(output, text)
    typer.echo(f"{len(result.points)} points in {len({p.video for p in result.points})} videos"
               + (f"; skipped {len(result.skipped)} instance(s) that start after their video ends: "
                  + ", ".join(sorted({s.video for s in result.skipped})) if result.skipped else ""), err=True)


def register(app: typer.Typer) -> None:
    app.command("simulate-points")(simulate_points_command)
