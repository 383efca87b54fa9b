"""Training objectives: what one batch costs the base model (paper eq. 7) and the main model (eq. 18).

An objective runs the forward pass (so the main model's sigma head sees the batch's pseudo-label intervals)
and returns the named loss terms with their weighted ``total``; the Trainer is the same for both.
"""
from __future__ import annotations

from typing import Protocol

import torch

from . import ddp
from .config import DetectorConfig
from .data import Batch
from .losses import PseudoInstances, augmented_targets, base_model_loss, main_model_loss, sampled_targets

STAGES = ("base", "main")


class Objective(Protocol):
    def __call__(self, model: torch.nn.Module, batch: Batch, device: torch.device) -> dict[str, torch.Tensor]:
        ...


def _level_lengths(output) -> list[int]:
    return [m.shape[1] for m in output.masks]


class BaseObjective:
    """Eq. 7: MIL, focal loss on the augmented points (radius ``loss.augment_radius``), background loss."""

    def __init__(self, cfg: DetectorConfig, num_classes: int):
        self.cfg, self.num_classes = cfg, num_classes

    def __call__(self, model, batch: Batch, device: torch.device) -> dict[str, torch.Tensor]:
        features, masks = batch.features.to(device, non_blocking=True), batch.masks.to(device, non_blocking=True)
        with ddp.autocast(device, self.cfg.amp, self.cfg.amp_dtype):
            output = model(features, masks)
        targets = augmented_targets(batch.positions, batch.labels, _level_lengths(output), ddp.unwrap(model).time_axis,
                                    self.cfg.loss.augment_radius, self.num_classes, device)
        return base_model_loss(output, targets, self.cfg.loss)


class MainObjective:
    """Eq. 18: eq. 7 with L_Act on sampled pseudo-labels (radius ``main.sampling_radius``), plus L_G and L_sigma."""

    def __init__(self, cfg: DetectorConfig, num_classes: int, sigma_scale: float):
        self.cfg, self.num_classes, self.sigma_scale = cfg, num_classes, sigma_scale

    def __call__(self, model, batch: Batch, device: torch.device) -> dict[str, torch.Tensor]:
        instances = PseudoInstances.from_samples(batch.samples)
        features, masks = batch.features.to(device, non_blocking=True), batch.masks.to(device, non_blocking=True)
        with ddp.autocast(device, self.cfg.amp, self.cfg.amp_dtype):
            output = model(features, masks, instances.head_rows(device))
        intervals, lengths = instances.split(instances.intervals), _level_lengths(output)
        time_axis = ddp.unwrap(model).time_axis
        targets = sampled_targets(batch.positions, batch.labels, intervals, lengths, time_axis,
                                  self.cfg.main.sampling_radius, self.num_classes, device)
        not_background = None
        if self.cfg.main.background_outside_intervals:
            whole = sampled_targets(batch.positions, batch.labels, intervals, lengths, time_axis, None,
                                    self.num_classes, device)
            not_background = whole.point_masks
        return main_model_loss(output, targets, instances, self.cfg.loss, self.cfg.main, self.sigma_scale,
                               not_background)


def objective_for(stage: str, cfg: DetectorConfig, num_classes: int, sigma_scale: float = 1.0) -> Objective:
    if stage == "base":
        return BaseObjective(cfg, num_classes)
    if stage == "main":
        return MainObjective(cfg, num_classes, sigma_scale)
    raise ValueError(f"unknown training stage {stage!r}; known: {', '.join(STAGES)}")
