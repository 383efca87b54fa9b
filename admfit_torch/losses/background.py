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


def select_background_gaps(bg_probs: torch.Tensor, mask: torch.Tensor, point_mask: torch.Tensor,
                           threshold: float) -> torch.Tensor:
    """Background points of one level by POTLoc's rule (module doc). All (B, T_l); bool (B, T_l), no gradient.
    A sample without points falls back to the threshold rule. Points in the padding do not count.

    On the device, without a loop over videos or stretches and without a host sync: the stretches without points
    are numbered by how many points precede them (stretch 0 the head, stretch N_b the tail), and each
    stretch's first and last snippet above the threshold and its first most background-like snippet are
    per-stretch minima and maxima (``scatter_reduce``).
    """
    bg = bg_probs.detach().float()
    batch, length = bg.shape
    points = point_mask & mask
    free = mask & ~point_mask  # real snippets outside every point: where background may be chosen
    above = free & (bg >= threshold)
    steps = torch.arange(length, device=bg.device).expand(batch, length)
    before = points.long().cumsum(dim=1) - points.long()  # points before each snippet: its stretch's number
    count = points.sum(dim=1, keepdim=True)  # (B, 1)
    slot = (before + torch.arange(batch, device=bg.device).unsqueeze(1) * (length + 1)).flatten()
    none, never = length, -1  # "no snippet" for minima and maxima of positions

    def per_stretch(values: torch.Tensor, reduce: str, empty: float) -> torch.Tensor:
        table = torch.full((batch * (length + 1),), empty, dtype=values.dtype, device=bg.device)
        return table.scatter_reduce(0, slot, values.flatten(), reduce).gather(0, slot).view(batch, length)

    first_above = per_stretch(torch.where(above, steps, none), "amin", none)
    last_above = per_stretch(torch.where(above, steps, never), "amax", never)
    best = per_stretch(torch.where(free, bg, -torch.inf), "amax", -torch.inf)
    peak = per_stretch(torch.where(free & (bg == best), steps, none), "amin", none)  # first most background-like
    hit = first_above < none
    # head: from its start; tail: to its end; else from the first to the last passing snippet, or the peak alone
    start = torch.where(before == 0, never, torch.where(hit, first_above, peak))
    stop = torch.where(before == count, none, torch.where(hit, last_above, peak))
    chosen = free & (steps >= start) & (steps <= stop)
    return torch.where(count > 0, chosen, above)


def background_loss(fused: list[torch.Tensor], bg_probs: list[torch.Tensor], masks: list[torch.Tensor],
                    point_masks: list[torch.Tensor], threshold: float = 0.95, gamma: float = 2.0,
                    selection: str = "threshold") -> torch.Tensor:
    """L_BG (eq. 6): at background points push every fused class score to 0 and p_bg to 1.

    fused[l] (B, T_l, C), bg_probs[l] / masks[l] / point_masks[l] (B, T_l). Background points by ``selection``
    ('threshold' or 'gaps', module doc). The focal weights are P^^gamma for the classes and (1 - p_bg)^gamma for
    the background. Normalised by M_bg, the number of background points over all levels and videos; 0 when
    there are none. Returns a scalar. The chosen points weigh 1 and the others 0 (no boolean indexing, which
    would wait for the device to count them).
    """
    if selection not in SELECTIONS:
        raise ValueError(f"unknown background selection {selection!r}; known: {', '.join(SELECTIONS)}")
    select = select_background_gaps if selection == "gaps" else select_background
    total = fused[0].new_zeros(())
    count = torch.zeros((), dtype=torch.long, device=fused[0].device)
    for probs, bg, mask, at_point in zip(fused, bg_probs, masks, point_masks):
        chosen = select(bg, mask, at_point, threshold)
        weight = chosen.to(probs.dtype)
        p = probs.clamp(EPS, 1.0 - EPS)
        b = bg.clamp(EPS, 1.0 - EPS)
        total = total - ((p ** gamma * torch.log1p(-p) * weight.unsqueeze(-1)).sum()
                         + ((1.0 - b) ** gamma * torch.log(b) * weight).sum())
        count = count + chosen.sum()
    return total / count.clamp(min=1)
