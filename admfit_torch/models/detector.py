"""The point-supervised base model (paper 3.2-3.3): backbone -> neck -> shared head per level."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..config import ModelConfig
from .backbone import Backbone
from .head import ClassificationHead
from .neck import LevelNorm


@dataclass
class PyramidOutput:
    """Raw head outputs: ``logits[l]`` (B, T_l, C + 1), background last; ``masks[l]`` (B, T_l) bool."""

    logits: list[torch.Tensor]
    masks: list[torch.Tensor]

    def probabilities(self) -> list[torch.Tensor]:
        """Sigmoid of every output, P_l (B, T_l, C + 1), in float32."""
        return [torch.sigmoid(z.float()) for z in self.logits]

    def fused(self) -> list[torch.Tensor]:
        """Fused class scores of eq. 1, P^_l[t, c] = P_l[t, c] (1 - P_l[t, C+1]), (B, T_l, C), float32."""
        return [fuse(p) for p in self.probabilities()]


def fuse(probs: torch.Tensor) -> torch.Tensor:
    """Eq. 1 on (..., C + 1) probabilities -> (..., C)."""
    return probs[..., :-1] * (1.0 - probs[..., -1:])


class PointDetector(nn.Module):
    """Features (B, D, T) float, mask (B, T) bool -> PyramidOutput with L levels, T_l = T / theta^l."""

    def __init__(self, cfg: ModelConfig, num_classes: int):
        super().__init__()
        self.cfg, self.num_classes = cfg, num_classes
        self.backbone = Backbone(cfg)
        self.neck = LevelNorm(cfg.embed_dim, cfg.levels)
        self.head = ClassificationHead(cfg, num_classes)

    def forward(self, features: torch.Tensor, mask: torch.Tensor) -> PyramidOutput:
        feats, masks = self.backbone(features * mask.unsqueeze(1).to(features.dtype), mask)
        feats = self.neck(feats, masks)
        return PyramidOutput([self.head(x, m) for x, m in zip(feats, masks)], masks)
