"""Multi-scale temporal transformer backbone (paper 3.2): conv embedding, local attention, pyramid."""
from __future__ import annotations

import torch
from torch import nn

from admfit.levels import Pyramid

from ..config import ModelConfig
from .blocks import ChannelLayerNorm, DownsampleBlock, MaskedConv1d, TransformerBlock, conv_layer, downsample_layer


class Embedding(nn.Module):
    """Shallow temporal conv network: ``embed_convs`` x (masked conv, LN, ReLU), X (B, D, T) -> Z0 (B, C, T)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        widths = [cfg.input_dim] + [cfg.embed_dim] * cfg.embed_convs
        self.convs = nn.ModuleList(MaskedConv1d(a, b, cfg.embed_kernel, bias=False) for a, b in zip(widths, widths[1:]))
        self.norms = nn.ModuleList(ChannelLayerNorm(cfg.embed_dim) for _ in range(cfg.embed_convs))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        for conv, norm in zip(self.convs, self.norms):
            x, _ = conv(x, mask)
            x = torch.relu(norm(x)) * mask.unsqueeze(1).to(x.dtype)
        return x


class Backbone(nn.Module):
    """Features (B, D, T) and mask (B, T) -> L levels of (B, C, T / theta^l) with their masks.

    Level 0 is the output of the full-resolution transformer blocks; level l > 0 is made from
    level l - 1 by a down-sampling block (strided depthwise conv + transformer block). T must be
    a multiple of ``cfg.total_stride`` (the data pipeline pads to it).
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.embed = Embedding(cfg)
        self.stem = nn.ModuleList(TransformerBlock(cfg.embed_dim, cfg.num_heads, cfg.window, cfg.mlp_ratio, cfg.dropout)
                                  for _ in range(cfg.stem_blocks))
        self.pyramid = nn.ModuleList(
            DownsampleBlock(cfg.embed_dim, cfg.num_heads, cfg.window, cfg.theta, cfg.mlp_ratio, cfg.dropout)
            for _ in range(cfg.levels - 1))

    @property
    def time_axis(self) -> Pyramid:
        """Where each level's steps sit on level 0, read from the built down-sampling convolutions (kernel, stride,
        padding): the one source of the targets, the inference, the ADM upsampling and the plug-in. The other
        layers do not move centres (stride 1 with odd kernels padded kernel // 2, centred attention windows)."""
        layers = {conv_layer(block.down) for block in self.pyramid}
        if len(layers) > 1:
            raise ValueError(f"pyramid levels made by different layers {sorted(layers, key=str)}: no single time axis")
        return Pyramid.from_layers([layers.pop() if layers else downsample_layer(self.cfg.theta)])

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        x = self.embed(x, mask)
        for block in self.stem:
            x = block(x, mask)
        feats, masks = [x], [mask]
        for block in self.pyramid:
            x, mask = block(x, mask)
            feats.append(x)
            masks.append(mask)
        return feats, masks
