"""Background loss on selected background points (paper eq. 6, SPEC section 5)."""
from __future__ import annotations

import torch

from .focal import EPS


def select_background(bg_probs: torch.Tensor, mask: torch.Tensor, point_mask: torch.Tensor,
                      threshold: float) -> torch.Tensor:
    """Background points of one level: real snippets outside every augmented point whose
    background probability is >= threshold. All (B, T_l); returns bool (B, T_l), no gradient."""
    return (bg_probs.detach() >= threshold) & mask & ~point_mask


def background_loss(fused: list[torch.Tensor], bg_probs: list[torch.Tensor], masks: list[torch.Tensor],
                    point_masks: list[torch.Tensor], threshold: float = 0.95, gamma: float = 2.0) -> torch.Tensor:
    """L_BG (eq. 6): at background points push every fused class score to 0 and p_bg to 1.

    fused[l] (B, T_l, C), bg_probs[l] / masks[l] / point_masks[l] (B, T_l). The focal weights are
    P^^gamma for the classes and (1 - p_bg)^gamma for the background. Normalised by M_bg, the number
    of background points over all levels and videos; 0 when there are none. Returns a scalar.
    """
    total = fused[0].new_zeros(())
    count = 0
    for probs, bg, mask, at_point in zip(fused, bg_probs, masks, point_masks):
        chosen = select_background(bg, mask, at_point, threshold)
        p = probs[chosen].clamp(EPS, 1.0 - EPS)
        b = bg[chosen].clamp(EPS, 1.0 - EPS)
        total = total - ((p ** gamma * torch.log1p(-p)).sum() + ((1.0 - b) ** gamma * torch.log(b)).sum())
        count += int(chosen.sum())
    return total / max(count, 1)
