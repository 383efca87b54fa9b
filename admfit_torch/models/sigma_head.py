"""Sigma-regression head of the main model (paper eq. 14): first-level features inside a pseudo-label interval
-> the standard deviation of the instance's actionness, as a fraction of the largest pseudo-label sigma."""
from __future__ import annotations

import torch
from torch import nn

from .blocks import ChannelLayerNorm


def sample_intervals(features: torch.Tensor, lengths: torch.Tensor, intervals: torch.Tensor,
                     samples: int) -> torch.Tensor:
    """K = ``samples`` features per interval by linear interpolation, evenly spaced from start to end.

    features (B, D, T) first-level features; lengths (B,) real snippets per sample; intervals (N, 3) float
    rows (sample index, start, end) in first-level snippets (clipped to the sample's real snippets).
    Returns (N, D, K).
    """
    batch = intervals[:, 0].long()
    # Positions in float32 even under bfloat16 autocast, where a snippet index of ~2000 would round to a multiple of 8.
    last = (lengths[batch] - 1).clamp(min=0).float().unsqueeze(1)
    fraction = torch.linspace(0.0, 1.0, samples, device=features.device)
    start, end = intervals[:, 1:2].float(), intervals[:, 2:3].float()
    position = torch.minimum(torch.clamp(start + (end - start) * fraction, min=0.0), last)  # (N, K)
    lower = position.floor().long()
    upper = torch.minimum(lower + 1, last.long())
    weight = (position - lower.float()).unsqueeze(-1).to(features.dtype)
    size, dim, length = features.shape
    rows = features.transpose(1, 2).reshape(size * length, dim)  # (B T, D): row b T + t is snippet t of sample b
    first = (batch * length).unsqueeze(1)
    # index_select, not rows[index, lower]: the backward of advanced indexing accumulates with parallel atomic adds
    # on CPU (2+ threads, 32768+ elements), whose order, and so the rounding, changes from run to run; that of
    # index_select adds serially. Neighbouring samples share rows, so the order matters (the main stage's weights
    # differed by up to 7e-4 between two runs with the same seed).
    below = rows.index_select(0, (first + lower).reshape(-1)).view(*lower.shape, dim)
    above = rows.index_select(0, (first + upper).reshape(-1)).view(*upper.shape, dim)
    sampled = below * (1.0 - weight) + above * weight  # (N, K, D)
    return sampled.transpose(1, 2)


class SigmaHead(nn.Module):
    """(N, D, K) sampled features -> temporal convs, layer norm, ReLU -> mean over K -> linear -> sigmoid (N,).

    ``sigma_scale`` (a buffer, saved with the weights) is the largest pseudo-label sigma in level-0 snippets of the
    model input: the predicted sigma is ``sigma_scale * output`` (``predict_snippets``).
    """

    def __init__(self, dim: int, samples: int, convs: int = 2, kernel: int = 3, sigma_scale: float = 1.0):
        super().__init__()
        self.samples = samples
        self.convs = nn.ModuleList(nn.Conv1d(dim, dim, kernel, padding=kernel // 2) for _ in range(convs))
        self.norms = nn.ModuleList(ChannelLayerNorm(dim) for _ in range(convs))
        self.out = nn.Linear(dim, 1)
        self.register_buffer("sigma_scale", torch.tensor(float(sigma_scale)))

    def forward(self, features: torch.Tensor, lengths: torch.Tensor, intervals: torch.Tensor) -> torch.Tensor:
        x = sample_intervals(features, lengths, intervals, self.samples)
        for conv, norm in zip(self.convs, self.norms):
            x = torch.relu(norm(conv(x)))
        return torch.sigmoid(self.out(x.mean(dim=-1)).float()).squeeze(-1)

    def predict_snippets(self, features: torch.Tensor, lengths: torch.Tensor, intervals: torch.Tensor) -> torch.Tensor:
        """Predicted sigmas (N,) in level-0 snippets."""
        return self.forward(features, lengths, intervals) * self.sigma_scale
