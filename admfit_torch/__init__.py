"""admfit_torch: the reference point-supervised detector of ADM-Loc (paper 3.2-3.4), in PyTorch.

Modules: ``models/`` (blocks, backbone, neck, head, sigma head, detector), ``losses/`` (targets, MIL, focal,
background, Gaussian imposition, sigma, totals), ``objectives`` (one batch's cost of the base / main model),
``data`` (items, crops, collate), ``sources`` (annotation + points + features -> items), ``train`` (the
Trainer), ``checkpoint``, ``inference`` (post-processing), ``nms``, ``pseudo`` (the pseudo-label stage's fit),
``figures``, ``scoring``, ``report``, ``stages`` (the stage table of the self-training loop), ``run_folder``
(RunLayout, stages.json, fork_run), ``pipeline`` (drives the stages), ``config`` (validated presets), ``ddp``
(torchrun), ``plugin`` (the ``admfit.detectors`` entry point). docs/architecture.md has the map;
docs/detector.md and docs/training.md the models and the loop.

The names below load on first use, so that ``import admfit_torch.stages`` (the command line's ``--stage``
choices) does not import torch.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "DetectorConfig": ".config", "load_config": ".config", "preset": ".config", "with_overrides": ".config",
    "PointDetector": ".models", "detect": ".inference", "load_point_detector": ".checkpoint",
    "initial_model": ".train", "train_base": ".train", "load_split": ".sources", "Pipeline": ".pipeline",
    "StageOutcome": ".pipeline", "STAGES": ".stages", "STAGE_NAMES": ".stages", "RunLayout": ".run_folder",
    "fork_run": ".run_folder",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name], __name__), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
