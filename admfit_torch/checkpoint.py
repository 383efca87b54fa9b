"""Checkpoints: one file per run directory, written atomically after every epoch.

Contents: model and EMA weights, optimizer, scheduler and AMP-scaler state, the epoch just finished,
the config (as a dict), the class names and the package version. ``--resume`` loads it and continues
with epoch + 1; on CPU the result equals an uninterrupted run bit for bit (tested).
"""
from __future__ import annotations

from pathlib import Path

import torch

from admfit.atomic import atomic_open
from admfit.errors import InputError

from .config import DetectorConfig
from .models import PointDetector, build_detector
from .run_folder import CHECKPOINT_NAME

FORMAT = "admfit_torch-checkpoint-1"


def save_checkpoint(path: str | Path, state: dict) -> None:
    """Write ``state`` (plain tensors and Python values) to ``path`` through a temporary file."""
    with atomic_open(path, "wb", field="checkpoint") as handle:
        torch.save({"format": FORMAT, **state}, handle)


def load_checkpoint(path: str | Path) -> dict:
    """Read a checkpoint on CPU; InputError if missing or not ours."""
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    if not path.is_file():
        raise InputError("checkpoint not found", file=str(path), field="checkpoint")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several unrelated types for a damaged file
        raise InputError(f"not a readable checkpoint ({type(error).__name__})", file=str(path),
                         field="checkpoint") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise InputError("not an admfit_torch checkpoint", file=str(path), field="checkpoint")
    return state


def load_point_detector(path: str | Path, *, use_ema: bool = True) -> tuple[PointDetector, DetectorConfig, list[str]]:
    """The trained PointDetector of a checkpoint (EMA weights by default), its config and class names, on CPU in
    eval mode. (Not ``admfit.detector.load_detector``, which builds an installed detector plug-in by name.)

    A main-model checkpoint keeps its sigma head (``sigma_scale`` comes back with the weights)."""
    state = load_checkpoint(path)
    cfg = DetectorConfig.model_validate(state["config"])
    classes = list(state["classes"])
    model = build_detector(cfg, len(classes), state.get("stage", "base"))
    weights = state["ema"] if use_ema else state["model"]
    model.load_state_dict({k.removeprefix("module."): v for k, v in weights.items() if k != "n_averaged"})
    return model.eval(), cfg, classes
