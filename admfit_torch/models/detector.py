"""The point-supervised base model (paper 3.2-3.3): backbone -> neck -> shared head per level."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from admfit.levels import Pyramid

from ..config import DetectorConfig, ModelConfig
from .backbone import Backbone
from .head import ClassificationHead
from .neck import LevelNorm
from .sigma_head import SigmaHead


@dataclass
class PyramidOutput:
    """Raw head outputs: ``logits[l]`` (B, T_l, C + 1), background last; ``masks[l]`` (B, T_l) bool;
    ``sigma`` (N,) the sigma head's outputs in [0, 1] for the N intervals passed to forward (main model only)."""

    logits: list[torch.Tensor]
    masks: list[torch.Tensor]
    sigma: torch.Tensor | None = None

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
    """Features (B, D, T) float, mask (B, T) bool -> PyramidOutput with L levels, T_l = T / theta^l.

    The base model (paper 3.3) has ``sigma_head=None``; the ADM-Loc main model (3.4.2) adds a SigmaHead on the
    first level's features, evaluated on the pseudo-label ``intervals`` given to forward.
    """

    def __init__(self, cfg: ModelConfig, num_classes: int, sigma_head: SigmaHead | None = None):
        super().__init__()
        self.cfg, self.num_classes = cfg, num_classes
        self.backbone = Backbone(cfg)
        self.neck = LevelNorm(cfg.embed_dim, cfg.levels)
        self.head = ClassificationHead(cfg, num_classes)
        self.sigma_head = sigma_head

    @property
    def time_axis(self) -> Pyramid:
        """Where level l step j sits on level 0 (``admfit.levels.Pyramid``, from the down-sampling layers)."""
        return self.backbone.time_axis

    def forward(self, features: torch.Tensor, mask: torch.Tensor, intervals: torch.Tensor | None = None) -> PyramidOutput:
        """``intervals`` (N, 3): rows (sample index, start, end) in level-0 snippets, for the sigma head."""
        feats, masks = self.backbone(features * mask.unsqueeze(1).to(features.dtype), mask)
        feats = self.neck(feats, masks)
        sigma = None
        if self.sigma_head is not None and intervals is not None:
            sigma = self.sigma_head(feats[0], masks[0].sum(dim=1), intervals)
        return PyramidOutput([self.head(x, m) for x, m in zip(feats, masks)], masks, sigma)


STAGES_WITH_SIGMA_HEAD = ("main",)


def build_detector(cfg: DetectorConfig, num_classes: int, stage: str = "base", sigma_scale: float = 1.0) -> PointDetector:
    """The model of a training stage: the base model, or the main model with its sigma head when
    ``cfg.main.sigma_head`` (``cfg.main.sigma_samples`` must be resolved; ``sigma_scale`` in level-0 snippets)."""
    head = None
    if stage in STAGES_WITH_SIGMA_HEAD and cfg.main.sigma_head:
        if cfg.main.sigma_samples is None:
            raise ValueError("main.sigma_samples (K) must be resolved from the pseudo-labels before building the model")
        head = SigmaHead(cfg.model.embed_dim, cfg.main.sigma_samples, cfg.main.sigma_convs, cfg.main.sigma_kernel,
                         sigma_scale)
    return PointDetector(cfg.model, num_classes, head)
