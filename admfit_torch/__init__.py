"""admfit_torch: the reference point-supervised detector of ADM-Loc (paper 3.2-3.4), in PyTorch.

Modules: ``models/`` (blocks, backbone, neck, head, sigma head, detector), ``losses/`` (targets, MIL, focal,
background, Gaussian imposition, sigma, totals), ``objectives`` (one batch's cost of the base / main model),
``data`` (items, crops, collate), ``sources`` (annotation + points + features -> items), ``train`` (the
Trainer), ``checkpoint``, ``inference`` (post-processing), ``nms``, ``pseudo`` (the pseudo-label stage's fit),
``run/`` (the self-training loop: ``layout``, every file name of a run folder; ``state``, stages.json, the lock,
fork_run; ``stages``, the stage table; ``steps``, the stages' work; ``pipeline``, drives the table; ``report``,
``figures``, ``scoring``), ``config`` (validated presets), ``ddp``
(torchrun), ``plugin`` (the ``admfit.detectors`` entry point). docs/architecture.md has the map;
docs/detector.md and docs/training.md the models and the loop.

The names below load on first use, so that ``import admfit_torch.run.stages`` (the command line's ``--stage``
choices) does not import torch.
"""
from __future__ import annotations

from admfit._lazy import lazy_exports
from admfit._moved import register

_EXPORTS = {
    "DetectorConfig": ".config", "load_config": ".config", "preset": ".config", "with_overrides": ".config",
    "PointDetector": ".models", "detect": ".inference", "load_point_detector": ".checkpoint",
    "initial_model": ".train", "train_base": ".train", "load_split": ".sources", "Pipeline": ".run.pipeline",
    "StageOutcome": ".run.pipeline", "STAGES": ".run.stages", "STAGE_NAMES": ".run.stages",
    "RunLayout": ".run.layout", "fork_run": ".run.state",
}

# Earlier module paths -> where their names live now (docs/architecture.md, "Moved modules").
register({
    "admfit_torch.stages": ("admfit_torch.run.stages", "admfit_torch.run.steps"),
    "admfit_torch.pipeline": ("admfit_torch.run.pipeline",), "admfit_torch.report": ("admfit_torch.run.report",),
    "admfit_torch.figures": ("admfit_torch.run.figures",), "admfit_torch.scoring": ("admfit_torch.run.scoring",),
    "admfit_torch.run_folder": ("admfit_torch.run.layout", "admfit_torch.run.state"),
})

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
