"""Base-model losses (paper eqs. 2-7): targets, MIL, focal point loss, background loss, weighted total."""
from __future__ import annotations

import torch

from ..config import LossConfig
from ..models.detector import PyramidOutput
from .background import background_loss, select_background
from .focal import binary_focal, point_focal_loss
from .mil import mil_loss, topk_video_scores
from .targets import LevelTargets, augmented_targets


def base_model_loss(output: PyramidOutput, targets: LevelTargets, cfg: LossConfig) -> dict[str, torch.Tensor]:
    """Eq. 7: {'mil', 'act', 'bg', 'total'} scalars, computed in float32 even under autocast."""
    probs = output.probabilities()
    fused = [p[..., :-1] * (1.0 - p[..., -1:]) for p in probs]
    bg = [p[..., -1] for p in probs]
    parts = {
        "mil": mil_loss(fused, output.masks, targets.video_labels, cfg.mil_topk_divisor),
        "act": point_focal_loss(fused, targets.point_masks, targets.point_targets, cfg.focal_gamma),
        "bg": background_loss(fused, bg, output.masks, targets.point_masks, cfg.background_threshold, cfg.focal_gamma),
    }
    parts["total"] = cfg.lambda_mil * parts["mil"] + cfg.lambda_act * parts["act"] + cfg.lambda_bg * parts["bg"]
    return parts


__all__ = ["LevelTargets", "augmented_targets", "background_loss", "base_model_loss", "binary_focal", "mil_loss",
           "point_focal_loss", "select_background", "topk_video_scores"]
