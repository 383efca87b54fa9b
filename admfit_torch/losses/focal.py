"""Snippet-level focal loss at augmented points (paper eq. 5)."""
from __future__ import annotations

import torch

EPS = 1e-6  # keeps log() finite when a probability saturates in float32


def binary_focal(probs: torch.Tensor, targets: torch.Tensor, gamma: float) -> torch.Tensor:
    """Elementwise -[y log(p) (1-p)^g + (1-y) log(1-p) p^g]; probs and targets of any equal shape."""
    p = probs.clamp(EPS, 1.0 - EPS)
    return -(targets * torch.log(p) * (1.0 - p) ** gamma + (1.0 - targets) * torch.log1p(-p) * p ** gamma)


def point_focal_loss(fused: list[torch.Tensor], point_masks: list[torch.Tensor], point_targets: list[torch.Tensor],
                     gamma: float = 2.0) -> torch.Tensor:
    """L_Act (eq. 5): focal loss of every class at every augmented point position, all levels.

    fused[l]: (B, T_l, C) fused probabilities; point_masks[l]: (B, T_l) bool, True inside an
    augmented point annotation (eq. 3); point_targets[l]: (B, T_l, C) multi-hot labels there.
    Normalised by N*_act, the number of augmented point positions over all levels and videos
    (at least 1). Returns a scalar. Positions outside the points weigh 0 (no boolean indexing, which would wait
    for the device to count them).
    """
    total = fused[0].new_zeros(())
    count = torch.zeros((), dtype=torch.long, device=fused[0].device)
    for probs, where, target in zip(fused, point_masks, point_targets):
        total = total + (binary_focal(probs, target, gamma) * where.unsqueeze(-1).to(probs.dtype)).sum()
        count = count + where.sum()
    return total / count.clamp(min=1)
