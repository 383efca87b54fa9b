"""Neck: a LayerNorm per pyramid level before the shared head (ActionFormer's identity FPN)."""
from __future__ import annotations

import torch
from torch import nn

from .blocks import ChannelLayerNorm


class LevelNorm(nn.Module):
    """Normalises each level separately so that the shared head sees comparable statistics on every level."""

    def __init__(self, dim: int, levels: int):
        super().__init__()
        self.norms = nn.ModuleList(ChannelLayerNorm(dim) for _ in range(levels))

    def forward(self, feats: list[torch.Tensor], masks: list[torch.Tensor]) -> list[torch.Tensor]:
        return [norm(x) * m.unsqueeze(1).to(x.dtype) for norm, x, m in zip(self.norms, feats, masks)]
