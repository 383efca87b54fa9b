"""Losses: the base model's (paper eqs. 2-7: targets, MIL, focal point loss, background loss) and the main
model's additions (3.4.2: pseudo-label sampling, Gaussian imposition eqs. 15-17, sigma regression eq. 14, eq. 18)."""
from __future__ import annotations

import torch

from ..config import LossConfig, MainConfig
from ..models.detector import PyramidOutput, fuse
from .background import background_loss, select_background, select_background_gaps
from .focal import binary_focal, point_focal_loss
from .gaussian import class_kernels, gaussian_imposition_loss, gaussian_imposition_loss_flat
from .mil import mil_loss, topk_video_scores
from .sigma import sigma_loss
from .targets import LevelTargets, PseudoInstances, augmented_targets, point_targets, sampled_targets

MIN_SIGMA = 1e-3  # level-0 snippets: keeps eq. 15 finite where a predicted sigma underflows


def base_model_loss(output: PyramidOutput, targets: LevelTargets, cfg: LossConfig,
                    not_background: list[torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
    """Eq. 7: {'mil', 'act', 'bg', 'total'} scalars, computed in float32 even under autocast.

    Background points are chosen outside ``not_background[l]`` (B, T_l) bool, by default the positive positions."""
    probs = output.probabilities()
    fused = [p[..., :-1] * (1.0 - p[..., -1:]) for p in probs]
    bg = [p[..., -1] for p in probs]
    parts = {
        "mil": mil_loss(fused, output.masks, targets.video_labels, cfg.mil_topk_divisor),
        "act": point_focal_loss(fused, targets.point_masks, targets.point_targets, cfg.focal_gamma),
        "bg": background_loss(fused, bg, output.masks, not_background or targets.point_masks,
                              cfg.background_threshold, cfg.focal_gamma, cfg.background_selection),
    }
    parts["total"] = cfg.lambda_mil * parts["mil"] + cfg.lambda_act * parts["act"] + cfg.lambda_bg * parts["bg"]
    return parts


def main_model_loss(output: PyramidOutput, targets: LevelTargets, instances: PseudoInstances, loss_cfg: LossConfig,
                    main_cfg: MainConfig, sigma_scale: float | torch.Tensor,
                    not_background: list[torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
    """Eq. 18: the base terms (L_Act on the sampled ``targets``) plus {'gauss', 'sigma'}, and their weighted 'total'.

    Pseudo-label sigmas above ``sigma_scale`` (level-0 snippets) are clipped to it. The Gaussian kernels use the
    predicted sigmas (``output.sigma`` times ``sigma_scale``) when the model has a sigma head, else the
    pseudo-label sigmas. ``not_background``: see base_model_loss (the main model passes its pseudo-label intervals).
    """
    parts = base_model_loss(output, targets, loss_cfg, not_background)
    device = parts["total"].device
    zero = parts["total"].new_zeros(())
    pseudo_sigmas = instances.sigmas.to(device).clamp(max=float(sigma_scale))
    if output.sigma is not None:
        kernel_sigmas = (output.sigma.detach() * sigma_scale).clamp(min=MIN_SIGMA)
        parts["sigma"] = sigma_loss(output.sigma, pseudo_sigmas, sigma_scale)
    else:
        kernel_sigmas = pseudo_sigmas.clamp(min=MIN_SIGMA)
        parts["sigma"] = zero
    if main_cfg.lambda_gauss > 0:
        fused = fuse(torch.sigmoid(output.logits[0].float()))  # level 0's of output.fused()
        parts["gauss"] = gaussian_imposition_loss_flat(fused, output.masks[0], instances.sample, instances.points,
                                                       instances.labels, kernel_sigmas)
    else:
        parts["gauss"] = zero
    parts["total"] = parts["total"] + main_cfg.lambda_gauss * parts["gauss"] + main_cfg.lambda_sigma * parts["sigma"]
    return parts


__all__ = ["LevelTargets", "PseudoInstances", "augmented_targets", "background_loss", "base_model_loss",
           "binary_focal", "class_kernels", "gaussian_imposition_loss", "gaussian_imposition_loss_flat",
           "main_model_loss", "mil_loss",
           "point_focal_loss", "point_targets", "sampled_targets", "select_background", "select_background_gaps", "sigma_loss",
           "topk_video_scores"]
