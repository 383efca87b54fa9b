"""The training loop's parts as they were before its speed-up (commit 73aa70b), kept as the reference the
vectorised code must equal: local attention by unfolded windows, point targets by a loop over points, POTLoc's
background gaps by a loop over stretches, losses by boolean indexing, L_G by a loop over samples."""
from __future__ import annotations

import math

import torch
from torch.nn import functional as F

EPS = 1e-6


def unfolded_attention(q, k, v, mask, window):
    """q (already scaled), k, v (B, H, d, T), mask (B, T) -> (B, H, d, T): each query over its unfolded window."""
    half = window // 2
    k_win = F.pad(k, (half, half)).unfold(-1, window, 1)
    v_win = F.pad(v, (half, half)).unfold(-1, window, 1)
    key_ok = F.pad(mask, (half, half), value=False).unfold(-1, window, 1)  # (B, T, window)
    scores = torch.einsum("bhdt,bhdtw->bhtw", q, k_win)
    scores = scores.masked_fill(~key_ok.unsqueeze(1), torch.finfo(scores.dtype).min)
    return torch.einsum("bhtw,bhdtw->bhdt", scores.softmax(dim=-1), v_win)


def _positive_range(t, radius, interval, length):
    lo, hi = (-math.inf, math.inf) if radius is None else (t - radius, t + radius)
    if interval is not None:
        lo, hi = max(lo, interval[0]), min(hi, interval[1])
    return max(0, math.ceil(lo)), min(length - 1, math.floor(hi))


def point_targets(points, labels, lengths, time_axis, radius, num_classes, intervals=None):
    """(point_masks, point_targets, video_labels) by a loop over levels, samples and points."""
    batch = len(points)
    masks, targets = [], []
    for level, length in enumerate(lengths):
        on_level = time_axis.level(level).from_level0
        target = torch.zeros(batch, length, num_classes)
        for b, (pos, lab) in enumerate(zip(points, labels)):
            spans = on_level(intervals[b].numpy()).tolist() if intervals is not None else [None] * len(pos)
            for t, c, span in zip(on_level(pos.numpy()).tolist(), lab.tolist(), spans):
                lo, hi = _positive_range(t, radius, span, length)
                target[b, lo:hi + 1, c] = 1.0
                target[b, min(max(0, round(t)), length - 1), c] = 1.0
        targets.append(target)
        masks.append(target.amax(dim=-1) > 0)
    video = torch.zeros(batch, num_classes)
    for b, lab in enumerate(labels):
        video[b, lab] = 1.0
    return masks, targets, video


def _span(above, scores, where):
    hits = torch.nonzero(above).flatten()
    peak = int(torch.argmax(scores))
    if where == "head":
        return 0, int(hits[-1]) if hits.numel() else peak
    if where == "tail":
        return (int(hits[0]) if hits.numel() else peak), scores.numel() - 1
    return (int(hits[0]), int(hits[-1])) if hits.numel() >= 2 else (peak, peak)


def select_background_gaps(bg_probs, mask, point_mask, threshold):
    bg = bg_probs.detach().float().cpu()
    chosen = torch.zeros(bg.shape, dtype=torch.bool)
    for b in range(bg.shape[0]):
        length = int(mask[b].sum())
        points = torch.nonzero(point_mask[b, :length].cpu()).flatten().tolist()
        if not points:
            chosen[b, :length] = bg[b, :length] >= threshold
            continue
        stretches = [(0, points[0], "head"), (points[-1] + 1, length, "tail")]
        stretches += [(a + 1, c, "gap") for a, c in zip(points[:-1], points[1:]) if c - a > 1]
        for start, stop, where in stretches:
            if stop <= start:
                continue
            scores = bg[b, start:stop]
            first, last = _span(scores >= threshold, scores, where)
            chosen[b, start + first:start + last + 1] = True
    return chosen.to(bg_probs.device) & mask & ~point_mask


def background_loss(fused, bg_probs, masks, point_masks, threshold, gamma, select):
    total, count = fused[0].new_zeros(()), 0
    for probs, bg, mask, at_point in zip(fused, bg_probs, masks, point_masks):
        chosen = select(bg, mask, at_point, threshold)
        p = probs[chosen].clamp(EPS, 1.0 - EPS)
        b = bg[chosen].clamp(EPS, 1.0 - EPS)
        total = total - ((p ** gamma * torch.log1p(-p)).sum() + ((1.0 - b) ** gamma * torch.log(b)).sum())
        count += int(chosen.sum())
    return total / max(count, 1)


def point_focal_loss(fused, point_masks, point_targets, gamma):
    total, count = fused[0].new_zeros(()), 0
    for probs, where, target in zip(fused, point_masks, point_targets):
        p, y = probs[where].clamp(EPS, 1.0 - EPS), target[where]
        total = total - (y * torch.log(p) * (1.0 - p) ** gamma + (1.0 - y) * torch.log1p(-p) * p ** gamma).sum()
        count += int(where.sum())
    return total / max(count, 1)


def gaussian_imposition_loss(fused, mask, points, labels, sigmas):
    per_sample = []
    for b in range(fused.shape[0]):
        if labels[b].numel() == 0:
            continue
        length = int(mask[b].sum())
        present = torch.unique(labels[b])
        t = torch.arange(length, dtype=torch.float32).unsqueeze(1)
        kernels = torch.exp(-0.5 * ((t - points[b].float()) / sigmas[b].float()) ** 2)
        target = torch.zeros(length, fused.shape[2]).scatter_reduce(
            1, labels[b].long().expand(length, -1), kernels, reduce="amax")
        error = (target[:, present] - fused[b, :length][:, present].float()) ** 2
        per_sample.append(error.sum() / (length * present.numel()))
    return torch.stack(per_sample).mean() if per_sample else fused.new_zeros(())
