"""`admfit simulate-points GT.json`: SF-Net-style simulated point labels in LACP's CSV format."""
from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from admfit.atomic import atomic_write_text, check_writable
from admfit.errors import InputError

from ._common import reports_input_errors

# scipy.stats and pydantic are imported where they are used: `admfit --help` must stay fast.
if TYPE_CHECKING:
    from admfit.simulate import SimulationConfig


class Distribution(str, Enum):
    gaussian = "gaussian"
    uniform = "uniform"


def _read_fps_table(path: Path) -> dict[str, float]:
    if not path.is_file():
        raise InputError("no such file" if not path.is_dir() else "is a directory, expected a JSON file",
                         file=str(path), field="fps")
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InputError(f"not valid JSON ({error})", file=str(path), field="fps") from None
    if not isinstance(table, dict):
        raise InputError("expected a JSON object {video: fps}", file=str(path), field="fps")
    for video, value in table.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise InputError(f"fps must be a positive number, got {value!r}", file=str(path),
                             video=video, field="fps")
    return {str(video): float(value) for video, value in table.items()}


def _config(**values) -> SimulationConfig:
    from pydantic import ValidationError

    from admfit.simulate import SimulationConfig

    try:
        return SimulationConfig(**values)
    except ValidationError as error:
        raise InputError.from_validation(error) from None


@reports_input_errors
def simulate_points_command(
    annotations: Path = typer.Argument(..., help="ActivityNet-style ground truth JSON (THUMOS gt.json / gt_full.json, ActivityNet)."),
    dist: Distribution = typer.Option(Distribution.gaussian, "--dist", help="gaussian: near the instance centre (LACP-like); uniform: anywhere in the instance (SF-Net)."),
    seed: int = typer.Option(0, "--seed", help="Random seed; the same seed gives the same points."),
    subset: Optional[str] = typer.Option("train", "--subset", help="Subset to simulate ('train', 'test' or the file's own name); 'all' for every video."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="CSV to write (LACP format); default: standard output."),
    fps_json: Optional[Path] = typer.Option(None, "--fps-json", help="JSON {video: native fps}; default: the file's fps, then the shipped THUMOS'14 fps_dict.json."),
    shift_frames: float = typer.Option(-1.5, "--shift-frames", help="gaussian: centre offset from the instance middle, frames."),
    sigma_frames: float = typer.Option(1.0, "--sigma-frames", help="gaussian: constant spread, frames."),
    sigma_rel: float = typer.Option(0.0, "--sigma-rel", help="gaussian: extra spread per frame of instance length."),
) -> None:
    """Simulate one point per ground-truth instance (frames at native fps, LACP CSV)."""
    from admfit.datasets.annotations import load_annotations
    from admfit.simulate import points_csv, simulate_points

    config = _config(dist=dist.value, seed=seed, shift_frames=shift_frames, sigma_frames=sigma_frames,
                     sigma_rel=sigma_rel)
    if output is not None:
        check_writable(output)
    fps = _read_fps_table(fps_json) if fps_json is not None else None
    records = load_annotations(annotations, subset=None if subset in (None, "all") else subset)
    if not records:
        raise InputError("no videos to simulate", file=str(annotations), field="subset")
    result = simulate_points(records, config, fps=fps, source=str(annotations))
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
