"""Checkpoints: one file per run directory, written atomically after every epoch. This module owns the checkpoint
dict from building (``save_training``) to validation (``load_checkpoint``) and restoring (``resume_training``,
``load_point_detector``).

Contents: model and EMA weights, optimizer, scheduler and AMP-scaler state, the epoch just finished,
the config (as a dict), the class names and the package version. ``--resume`` loads it and continues
with epoch + 1; on CPU the result equals an uninterrupted run bit for bit, base and main model (tested).

A checkpoint is user input like any other file: loading checks its keys and types, re-validates the stored
config, builds the model it describes and loads the weights into it, and refuses non-finite weights, each
failure as one InputError naming the file and the field (``ema``, ``config.model.embed_dim``, ...).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError, field_validator

from admfit.errors import InputError
from admfit.files.atomic import atomic_open
from admfit_torch.run.layout import CHECKPOINT_NAME

from .config import DetectorConfig, with_overrides
from .models import PointDetector, build_detector

FORMAT = "admfit_torch-checkpoint-1"
# Config sections that define the weights: an override at inference would be ignored or break the load.
_FIXED_BY_WEIGHTS = ("model.", "main.sigma_head", "main.sigma_samples", "main.sigma_convs", "main.sigma_kernel")


class _Stored(BaseModel):
    """What every checkpoint holds besides the optimizer state (checked before anything is built)."""

    model_config = ConfigDict(extra="allow", arbitrary_types_allowed=True)

    format: Literal[FORMAT]
    epoch: int = Field(0, ge=0)  # only a resumed training needs it
    stage: Literal["base", "main"] = "base"  # checkpoints of the first release have no stage: base models
    config: dict
    classes: list[StrictStr] = Field(min_length=1)
    model: dict[str, torch.Tensor]
    ema: dict[str, torch.Tensor]

    @field_validator("classes")
    @classmethod
    def _distinct(cls, classes: list[str]) -> list[str]:
        if len(set(classes)) != len(classes):
            raise ValueError("class names must be distinct")
        return classes


class _Resumable(_Stored):
    epoch: int = Field(ge=0)
    optimizer: dict
    scheduler: dict
    scaler: dict


def save_checkpoint(path: str | Path, state: dict) -> None:
    """Write ``state`` (plain tensors and Python values) to ``path`` through a temporary file."""
    with atomic_open(path, "wb", field="checkpoint") as handle:
        torch.save({"format": FORMAT, **state}, handle)


@dataclass(frozen=True)
class TrainingParts:
    """What a training run's checkpoint holds the state of: the model (unwrapped from DDP), its EMA, the optimizer,
    the scheduler and the AMP scaler."""

    model: torch.nn.Module
    ema: torch.nn.Module
    optimizer: object
    scheduler: object
    scaler: object


def save_training(path: str | Path, parts: TrainingParts, *, epoch: int, stage: str, cfg: DetectorConfig,
                  classes: list[str]) -> None:
    """The checkpoint of a training run after ``epoch`` (module docstring: its contents)."""
    save_checkpoint(path, {
        "epoch": epoch, "stage": stage, "config": cfg.model_dump(mode="json"), "classes": classes,
        "model": parts.model.state_dict(), "ema": parts.ema.state_dict(), "optimizer": parts.optimizer.state_dict(),
        "scheduler": parts.scheduler.state_dict(), "scaler": parts.scaler.state_dict()})


def resume_training(path: str | Path, parts: TrainingParts, *, stage: str, classes: list[str]) -> int:
    """Load an interrupted run's checkpoint into ``parts``; returns the epoch it finished. Refused (InputError) when
    it is of other classes or another stage, or its training state does not fit these parts."""
    state = load_checkpoint(path, resume=True)
    if state["classes"] != classes:
        raise InputError("the checkpoint was trained on other classes", file=str(path), field="classes")
    if state["stage"] != stage:
        raise InputError(f"the checkpoint is of stage {state['stage']!r}, not {stage!r}", file=str(path),
                         field="stage")
    load_weights(parts.model, state["model"], path=path, field="model")
    try:
        parts.ema.load_state_dict(state["ema"])
        parts.optimizer.load_state_dict(state["optimizer"])
        parts.scheduler.load_state_dict(state["scheduler"])
        parts.scaler.load_state_dict(state["scaler"])
    except (RuntimeError, ValueError, KeyError, TypeError) as error:
        raise InputError(f"damaged checkpoint: its training state does not fit this run ({type(error).__name__})",
                         file=str(path), field="checkpoint") from None
    return int(state["epoch"])


def _first_problem(error: ValidationError, prefix: str = "") -> tuple[str, str]:
    detail = error.errors()[0]
    field = ".".join(str(part) for part in (prefix, *detail["loc"]) if part != "") or "checkpoint"
    return field, detail["msg"].replace("\n", " ")


def load_checkpoint(path: str | Path, *, resume: bool = False) -> dict:
    """Read a checkpoint on CPU and check its structure (``resume``: also the optimizer state);
    InputError if missing, damaged or not ours."""
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
    try:
        (_Resumable if resume else _Stored).model_validate(state)
    except ValidationError as error:
        field, message = _first_problem(error)
        raise InputError(f"damaged checkpoint: {message}", file=str(path), field=field) from None
    state.setdefault("stage", "base")
    return state


def stored_config(state: dict, path: str | Path) -> DetectorConfig:
    """The checkpoint's config, validated as a config file is."""
    try:
        return DetectorConfig.model_validate(state["config"])
    except ValidationError as error:
        field, message = _first_problem(error, "config")
        raise InputError(f"damaged checkpoint: {message}", file=str(path), field=field) from None


def module_weights(weights: dict) -> dict:
    """A stored state dict (the model's, or the EMA's AveragedModel with its ``module.`` prefix and counter) as
    the plain module's."""
    return {key.removeprefix("module."): value for key, value in weights.items() if key != "n_averaged"}


def load_weights(model: torch.nn.Module, weights: dict, *, path, field: str) -> None:
    """``weights`` into ``model``; InputError when they do not fit (other config or classes) or are not finite."""
    weights = module_weights(weights)
    bad = next((key for key, value in weights.items() if value.is_floating_point() and not value.isfinite().all()),
               None)
    if bad is not None:
        raise InputError("damaged checkpoint: weights hold NaN or inf", file=str(path), field=f"{field}.{bad}")
    try:
        model.load_state_dict(weights)
    except RuntimeError as error:
        detail = " ".join(str(error).split())
        raise InputError(f"damaged checkpoint: the weights do not fit the stored config and classes ({detail[:300]})",
                         file=str(path), field=field) from None


def load_point_detector(path: str | Path, *, use_ema: bool = True) -> tuple[PointDetector, DetectorConfig, list[str]]:
    """The trained PointDetector of a checkpoint (EMA weights by default), its config and class names, on CPU in
    eval mode. (Not ``admfit.detector.load_detector``, which builds an installed detector plug-in by name.)

    A main-model checkpoint keeps its sigma head (``sigma_scale`` comes back with the weights)."""
    path = Path(path)
    path = path / CHECKPOINT_NAME if path.is_dir() else path
    state = load_checkpoint(path)
    cfg = stored_config(state, path)
    classes = list(state["classes"])
    if state["stage"] == "main" and cfg.main.sigma_head and cfg.main.sigma_samples is None:
        raise InputError("damaged checkpoint: a main model needs main.sigma_samples", file=str(path),
                         field="config.main.sigma_samples")
    model = build_detector(cfg, len(classes), state["stage"])
    field = "ema" if use_ema else "model"
    load_weights(model, state[field], path=path, field=field)
    return model.eval(), cfg, classes


def inference_config(cfg: DetectorConfig, overrides: list[str]) -> DetectorConfig:
    """A checkpoint's config with ``--set`` overrides for inference; refuses those of the fields the weights
    fix (``model.*``, the sigma head's shape), which would otherwise be ignored silently."""
    for item in overrides:
        key = item.partition("=")[0].strip()
        if any(key == fixed.rstrip(".") or key.startswith(fixed) for fixed in _FIXED_BY_WEIGHTS):
            raise InputError("is fixed by the checkpoint's weights and cannot change at inference (train a new "
                             "model instead)", file="--set", field=key)
    return with_overrides(cfg, overrides)
