"""Shared classification head (paper 3.2): one small 1D conv net applied to every pyramid level."""
from __future__ import annotations

import math

import torch
from torch import nn

from ..config import ModelConfig
from .blocks import ChannelLayerNorm, MaskedConv1d


class ClassificationHead(nn.Module):
    """Level features (B, C_emb, T_l) -> logits (B, T_l, C + 1); the last channel is background.

    Parameters are shared across levels. Bias init sets the initial probabilities to
    ``class_prior`` (classes) and ``background_prior`` (background), as ActionFormer does with its
    prior probability, so early training is not dominated by the many negatives.
    """

    def __init__(self, cfg: ModelConfig, num_classes: int):
        super().__init__()
        self.hidden = nn.ModuleList(MaskedConv1d(cfg.embed_dim, cfg.embed_dim, cfg.head_kernel, bias=False)
                                    for _ in range(cfg.head_convs))
        self.norms = nn.ModuleList(ChannelLayerNorm(cfg.embed_dim) for _ in range(cfg.head_convs))
        self.out = MaskedConv1d(cfg.embed_dim, num_classes + 1, cfg.head_kernel)
        with torch.no_grad():
            self.out.bias[:num_classes] = -math.log((1 - cfg.class_prior) / cfg.class_prior)
            self.out.bias[num_classes] = -math.log((1 - cfg.background_prior) / cfg.background_prior)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        for conv, norm in zip(self.hidden, self.norms):
            x, _ = conv(x, mask)
            x = torch.relu(norm(x))
        logits, _ = self.out(x, mask)
        return logits.transpose(1, 2)
