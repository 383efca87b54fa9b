"""Building blocks with padding masks, after ActionFormer's libs/modeling/blocks.py (own code).

Layout: features are channel-first ``(B, C, T)`` as for ``nn.Conv1d``; masks are ``(B, T)`` bool,
True on real snippets. Every block zeroes padded positions of its output, so padding never leaks
into real snippets through convolutions or attention.
"""
from __future__ import annotations

from typing import Callable

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


def local_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor, window: int,
                    dropout: Callable[[torch.Tensor], torch.Tensor] | None = None,
                    block: int | None = None) -> torch.Tensor:
    """Softmax attention of each query over the keys within ``window // 2`` snippets on either side.

    q, k, v (B, H, d, T) channel-first heads (q already scaled), mask (B, T) bool -> (B, H, d, T); ``dropout``
    acts on the attention weights. Padded keys (mask False, and beyond both ends) get no weight; padded queries
    get some output, which callers zero.

    Banded, without unfolding the keys: the queries are cut into blocks of ``block`` snippets (default
    max(32, window)) and each block attends, by two batched matrix products, to its ``block + window - 1`` keys,
    out-of-window keys masked. A query's score with a key is the same dot product as a per-snippet window
    computes (up to float round-off: the summation order of the matrix products), masked keys get the dtype's
    most negative score as before (a row whose keys are all padded stays finite), and the out-of-window weights
    are exactly 0 after the softmax, so dropout on them changes nothing. Unfolding materialised
    (B, H, d, T, window) copies of the keys and values and ran the products as T matrix products of
    (1 x d) (d x window); blocks make them few and large.
    """
    batch, heads, head_dim, length = q.shape
    half = window // 2
    block = block or max(32, window)
    blocks = -(-length // block)
    extra = blocks * block - length
    span = block + 2 * half  # the keys one block of queries sees
    # (B, H, n, block, d) queries; (B, H, n, d, span) keys and (B, H, n, span, d) values: overlapping views
    q_blocks = F.pad(q, (0, extra)).reshape(batch, heads, head_dim, blocks, block).permute(0, 1, 3, 4, 2)
    k_blocks = F.pad(k, (half, half + extra)).unfold(-1, span, block).transpose(2, 3)
    v_blocks = F.pad(v, (half, half + extra)).unfold(-1, span, block).permute(0, 1, 3, 4, 2)
    key_ok = F.pad(mask, (half, half + extra), value=False).unfold(-1, span, block)  # (B, n, span)
    # query i of a block sees keys i .. i + window - 1 of its span (which starts half a window before the block)
    offset = torch.arange(span, device=q.device) - torch.arange(block, device=q.device).unsqueeze(1)
    in_window = (offset >= 0) & (offset < window)  # (block, span)
    allowed = (in_window & key_ok.unsqueeze(2)).unsqueeze(1)  # (B, 1, n, block, span)
    scores = torch.matmul(q_blocks, k_blocks)  # (B, H, n, block, span); bfloat16 under autocast
    scores = scores.masked_fill(~allowed, torch.finfo(scores.dtype).min)
    weights = scores.softmax(dim=-1)
    if dropout is not None:
        weights = dropout(weights)
    out = torch.matmul(weights, v_blocks)  # (B, H, n, block, d)
    return out.permute(0, 1, 4, 2, 3).reshape(batch, heads, head_dim, blocks * block)[..., :length]


class LocalSelfAttention(nn.Module):
    """Multi-head self-attention restricted to a centred window of ``window`` snippets.

    Each snippet attends to the ``window // 2`` snippets on either side (ActionFormer's local
    attention), computed in blocks (``local_attention``): memory O(B * T * window * heads), no
    T x T matrix. Padded keys (mask False, and the zero padding at both ends) get no weight;
    padded queries produce zeros.
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
        q, k, v = self.qkv(x).reshape(batch, 3, self.num_heads, head_dim, length).unbind(1)  # (B, H, d, T)
        out = local_attention(q * head_dim ** -0.5, k, v, mask, self.window, self.attn_drop)
        out = out.reshape(batch, channels, length)
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
