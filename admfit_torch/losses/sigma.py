"""Sigma-regression loss of the main model (paper eq. 14)."""
from __future__ import annotations

import torch


def sigma_loss(predicted: torch.Tensor, target_sigmas: torch.Tensor, scale: torch.Tensor | float) -> torch.Tensor:
    """Eq. 14 on the head's scale: mean over the N instances of (sigma_i / scale - predicted_i)^2.

    predicted (N,) the sigma head's sigmoid outputs in [0, 1]; target_sigmas (N,) pseudo-label sigmas and
    ``scale`` the largest pseudo-label sigma, both in level-0 snippets. Dividing by scale^2 keeps the loss in
    [0, 1] whatever the dataset's durations, so lambda_sigma means the same on THUMOS'14 and ActivityNet.
    0 (still connected to the head's graph) when N = 0.
    """
    if predicted.numel() == 0:
        return predicted.sum() * 0.0
    return ((target_sigmas.to(predicted) / scale - predicted.float()) ** 2).mean()
