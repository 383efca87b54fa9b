"""Video-level multiple-instance loss (paper eq. 4)."""
from __future__ import annotations

import torch
from torch.nn import functional as F

from .focal import EPS


def topk_video_scores(fused: torch.Tensor, mask: torch.Tensor, divisor: int) -> torch.Tensor:
    """Mean of the top k = max(1, T_valid // divisor) fused scores per class over real snippets.

    fused (B, T, C), mask (B, T) bool -> (B, C). T_valid is each video's own number of real
    snippets, so padding never counts in k nor in the mean.
    """
    valid = mask.sum(dim=1)
    k = torch.clamp(valid // divisor, min=1)  # (B,)
    ranked = fused.masked_fill(~mask.unsqueeze(-1), -1.0).sort(dim=1, descending=True).values
    rank = torch.arange(fused.shape[1], device=fused.device)
    in_topk = (rank.unsqueeze(0) < k.unsqueeze(1)).unsqueeze(-1).to(fused.dtype)  # (B, T, 1)
    return (ranked.clamp(min=0.0) * in_topk).sum(dim=1) / k.unsqueeze(1).to(fused.dtype)


def mil_loss(fused: list[torch.Tensor], masks: list[torch.Tensor], video_labels: torch.Tensor,
             divisor: int = 8) -> torch.Tensor:
    """L_MIL (eq. 4): BCE of the top-k video scores of each level against the video labels.

    fused[l] (B, T_l, C), masks[l] (B, T_l), video_labels (B, C) in {0, 1}. Summed over classes,
    averaged over levels (the 1/L of eq. 4) and over videos. Returns a scalar.
    """
    per_level = []
    for probs, mask in zip(fused, masks):
        scores = topk_video_scores(probs, mask, divisor).clamp(EPS, 1.0 - EPS)
        per_level.append(F.binary_cross_entropy(scores, video_labels, reduction="none").sum(dim=1).mean())
    return torch.stack(per_level).mean()
