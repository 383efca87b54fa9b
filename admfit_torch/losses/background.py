"""Background loss on selected background points (paper eq. 6, docs/spec.md 5.2).

Two ways to choose the background points, ``loss.background_selection``:

* ``threshold``: the real snippets outside every augmented point whose background probability is >= the
  threshold (the paper's words, docs/spec.md 5.2).
* ``gaps`` (default): the rule of the authors' closest public code (POTLoc's ``select_seed``, after LACP), which
  also guarantees background where the threshold is never reached: between two consecutive points
  (class-agnostic, augmented), the snippets from the first to the last one above the threshold, or, with fewer
  than two above it, the single most background-like snippet; before the first point everything up to the last
  snippet above the threshold (else up to the most background-like one); after the last point likewise from the
  first one above it. Without it the threshold is never met: the background head starts at 0.5 and only
  point supervision moves it, downwards (measured in docs/detector.md 3).
"""
from __future__ import annotations

import torch

from .focal import EPS

SELECTIONS = ("gaps", "threshold")


def select_background(bg_probs: torch.Tensor, mask: torch.Tensor, point_mask: torch.Tensor,
                      threshold: float) -> torch.Tensor:
    """Background points of one level by threshold: real snippets outside every augmented point whose
    background probability is >= threshold. All (B, T_l); returns bool (B, T_l), no gradient."""
    return (bg_probs.detach() >= threshold) & mask & ~point_mask


def _span(above: torch.Tensor, scores: torch.Tensor, where: str) -> tuple[int, int]:
    """Inclusive [first, last] offsets chosen inside one stretch without points (see the module doc)."""
    hits = torch.nonzero(above).flatten()
    peak = int(torch.argmax(scores))
    if where == "head":
        return 0, int(hits[-1]) if hits.numel() else peak
    if where == "tail":
        return (int(hits[0]) if hits.numel() else peak), scores.numel() - 1
    return (int(hits[0]), int(hits[-1])) if hits.numel() >= 2 else (peak, peak)


def select_background_gaps(bg_probs: torch.Tensor, mask: torch.Tensor, point_mask: torch.Tensor,
                           threshold: float) -> torch.Tensor:
    """Background points of one level by POTLoc's rule (module doc). All (B, T_l); bool (B, T_l), no gradient.
    A sample without points falls back to the threshold rule."""
    bg = bg_probs.detach().float().cpu()
    chosen = torch.zeros(bg.shape, dtype=torch.bool)
    for b in range(bg.shape[0]):
        length = int(mask[b].sum())
        at_point = point_mask[b, :length].cpu()
        points = torch.nonzero(at_point).flatten().tolist()
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


def background_loss(fused: list[torch.Tensor], bg_probs: list[torch.Tensor], masks: list[torch.Tensor],
                    point_masks: list[torch.Tensor], threshold: float = 0.95, gamma: float = 2.0,
                    selection: str = "threshold") -> torch.Tensor:
    """L_BG (eq. 6): at background points push every fused class score to 0 and p_bg to 1.

    fused[l] (B, T_l, C), bg_probs[l] / masks[l] / point_masks[l] (B, T_l). Background points by ``selection``
    ('threshold' or 'gaps', module doc). The focal weights are P^^gamma for the classes and (1 - p_bg)^gamma for
    the background. Normalised by M_bg, the number of background points over all levels and videos; 0 when
    there are none. Returns a scalar.
    """
    if selection not in SELECTIONS:
        raise ValueError(f"unknown background selection {selection!r}; known: {', '.join(SELECTIONS)}")
    select = select_background_gaps if selection == "gaps" else select_background
    total = fused[0].new_zeros(())
    count = 0
    for probs, bg, mask, at_point in zip(fused, bg_probs, masks, point_masks):
        chosen = select(bg, mask, at_point, threshold)
        p = probs[chosen].clamp(EPS, 1.0 - EPS)
        b = bg[chosen].clamp(EPS, 1.0 - EPS)
        total = total - ((p ** gamma * torch.log1p(-p)).sum() + ((1.0 - b) ** gamma * torch.log(b)).sum())
        count += int(chosen.sum())
    return total / max(count, 1)
