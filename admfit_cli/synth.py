"""`admfit synth OUT_DIR`: THUMOS'14 / ActivityNet-shaped synthetic features and detector signals."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from admfit.synthetic.choices import Difficulty, Like, Mode, Subset

from ._common import reports_input_errors

# The generators (numpy, pydantic, the data loaders) are imported when the command runs: `--help` stays fast.


@reports_input_errors
def synth(
    out_dir: Path = typer.Argument(..., help="folder to write (created if missing)"),
    like: Like = typer.Option(Like.thumos14, help="whose real videos, instances and points to use"),
    dim: int = typer.Option(256, help="feature dimension D (real I3D: 2048; 256 keeps the full THUMOS'14 "
                                      "at about 0.65 GB)"),
    seed: int = typer.Option(0, help="same seed, same files"),
    mode: Mode = typer.Option(Mode.both, help="features (.npy per video), signals (signals.npz + points.json) or both"),
    difficulty: Difficulty = typer.Option(Difficulty.medium, help="how hard the features and signals are"),
    subset: Subset = typer.Option(Subset.all, help="train, test or both"),
    max_videos: Optional[int] = typer.Option(None, help="at most N videos per subset, spread over the list"),
    annotations: Optional[Path] = typer.Option(None, help="your activity_net.v1-2.min.json (required for anet12)"),
    simulate_missing_points: bool = typer.Option(False, help="give instances without a real point a simulated one "
                                                             "near their middle (e.g. THUMOS'14 test)"),
    overwrite: bool = typer.Option(False, help="replace earlier output in OUT_DIR"),
) -> None:
    """Synthetic data on the real layout of THUMOS'14 or ActivityNet-1.2 (docs/synthetic.md)."""
    from rich.progress import Progress

    from admfit.errors import validated
    from admfit.synthetic.build import SynthOptions, synthesize

    options = validated(SynthOptions, dict(like=like, dim=dim, seed=seed, mode=mode, difficulty=difficulty,
                                           subset=subset, max_videos=max_videos, annotations=annotations,
                                           simulate_missing_points=simulate_missing_points, overwrite=overwrite))
    with Progress(transient=True) as bar:
        task = bar.add_task("writing features", total=None, visible=False)
        metadata = synthesize(out_dir, options,
                              progress=lambda done, total: bar.update(task, completed=done, total=total, visible=True))
    outside = metadata["points_outside_their_instance"]
    typer.echo(f"wrote {out_dir}: {metadata['videos']} videos, {metadata['instances']} instances, "
               f"{metadata['points']} points ({options.like.value}, {options.mode.value}, {options.difficulty.value})"
               + (f"; {outside} real points lie outside their instance (kept, paired with the nearest)"
                  if outside else ""))


def register(app: typer.Typer) -> None:
    app.command("synth")(synth)
