"""Building blocks with padding masks, after ActionFormer's libs/modeling/blocks.py (own code).

Layout: features are channel-first ``(B, C, T)`` as for ``nn.Conv1d``; masks are ``(B, T)`` bool,
True on real snippets. Every block zeroes padded positions of its output, so padding never leaks
into real snippets through convolutions or attention.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from admfit.levels import ConvLayer


class MaskedConv1d(nn.Conv1d):
    """Conv1d whose output is zero on padded snippets; a stride > 1 down-samples the mask too."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 groups: int = 1, bias: bool = True):
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=kernel_size // 2,
                         groups=groups, bias=bias)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, C_in, T), mask (B, T) -> (B, C_out, T // stride), mask (B, T // stride)."""
        out = super().forward(x)
        out_mask = mask[:, :: self.stride[0]] if self.stride[0] > 1 else mask
        return out * out_mask.unsqueeze(1).to(out.dtype), out_mask


class ChannelLayerNorm(nn.LayerNorm):
    """LayerNorm over the channel axis of a channel-first (B, C, T) tensor."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.transpose(1, 2)).transpose(1, 2)


class LocalSelfAttention(nn.Module):
    """Multi-head self-attention restricted to a centred window of ``window`` snippets.

    Each snippet attends to the ``window // 2`` snippets on either side (ActionFormer's local
    attention). Keys are gathered with ``unfold``, so memory is O(B * T * window * C) and no
    T x T matrix is built. Padded keys (mask False, and the zero padding at both ends) get no
    weight; padded queries produce zeros.
    """

    def __init__(self, dim: int, num_heads: int, window: int, dropout: float = 0.0):
        super().__init__()
        self.num_heads, self.window = num_heads, window
        self.qkv = nn.Conv1d(dim, 3 * dim, 1)
        self.proj = nn.Conv1d(dim, dim, 1)
        self.attn_drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """x (B, C, T), mask (B, T) -> (B, C, T)."""
        batch, channels, length = x.shape
        head_dim = channels // self.num_heads
        half = self.window // 2
        q, k, v = self.qkv(x).reshape(batch, 3, self.num_heads, head_dim, length).unbind(1)  # (B, H, d, T)
        # (B, H, d, T + 2 half) -> (B, H, d, T, window): the window of keys around each query
        k_win = F.pad(k, (half, half)).unfold(-1, self.window, 1)
        v_win = F.pad(v, (half, half)).unfold(-1, self.window, 1)
        key_ok = F.pad(mask, (half, half), value=False).unfold(-1, self.window, 1)  # (B, T, window)
        scores = torch.einsum("bhdt,bhdtw->bhtw", q * head_dim ** -0.5, k_win)
        scores = scores.masked_fill(~key_ok.unsqueeze(1), torch.finfo(scores.dtype).min)
        weights = self.attn_drop(scores.softmax(dim=-1))
        out = torch.einsum("bhtw,bhdtw->bhdt", weights, v_win).reshape(batch, channels, length)
        return self.proj(out) * mask.unsqueeze(1).to(out.dtype)


class TransformerBlock(nn.Module):
    """Pre-norm block: x + LocalSelfAttention(LN(x)), then x + MLP(LN(x)); padded snippets stay zero."""

    def __init__(self, dim: int, num_heads: int, window: int, mlp_ratio: int = 4, dropout: float = 0.0):
        super().__init__()
        self.norm_attn = ChannelLayerNorm(dim)
        self.attn = LocalSelfAttention(dim, num_heads, window, dropout)
        self.norm_mlp = ChannelLayerNorm(dim)
        self.mlp = nn.Sequential(nn.Conv1d(dim, mlp_ratio * dim, 1), nn.GELU(), nn.Dropout(dropout),
                                 nn.Conv1d(mlp_ratio * dim, dim, 1), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """x (B, C, T), mask (B, T) -> (B, C, T)."""
        keep = mask.unsqueeze(1).to(x.dtype)
        x = x + self.attn(self.norm_attn(x), mask)
        return (x + self.mlp(self.norm_mlp(x))) * keep


def downsample_layer(theta: int) -> ConvLayer:
    """The strided depthwise convolution of a pyramid step: kernel theta + 1 (odd: 2 (theta // 2) + 1), stride theta,
    padding kernel // 2 (input steps). Its output step j is centred on input position theta j (admfit.levels)."""
    kernel = 2 * (theta // 2) + 1
    return ConvLayer(kernel=kernel, stride=theta, padding=kernel // 2)


def conv_layer(conv: nn.Conv1d) -> ConvLayer:
    """The geometry of a built convolution (what its centres follow from)."""
    return ConvLayer(kernel=conv.kernel_size[0], stride=conv.stride[0], padding=conv.padding[0])


class DownsampleBlock(nn.Module):
    """One pyramid step (paper 3.2): strided depthwise conv (ratio theta), LN, then a transformer block."""

    def __init__(self, dim: int, num_heads: int, window: int, theta: int, mlp_ratio: int = 4,
                 dropout: float = 0.0):
        super().__init__()
        layer = downsample_layer(theta)
        self.down = MaskedConv1d(dim, dim, kernel_size=layer.kernel, stride=layer.stride, groups=dim)
        self.norm = ChannelLayerNorm(dim)
        self.block = TransformerBlock(dim, num_heads, window, mlp_ratio, dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, C, T), mask (B, T) -> (B, C, T // theta), mask (B, T // theta)."""
        x, mask = self.down(x, mask)
        x = self.norm(x) * mask.unsqueeze(1).to(x.dtype)
        return self.block(x, mask), mask
