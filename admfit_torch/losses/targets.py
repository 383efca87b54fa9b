"""Point targets on every pyramid level: augmented annotations (paper eqs. 2-3) and, for the main model,
pseudo-label sampling (paper 3.4.2): positions near each point and inside its ADM interval."""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from admfit.levels import Pyramid


@dataclass
class LevelTargets:
    """Per level l: ``point_masks[l]`` (B, T_l) bool, ``point_targets[l]`` (B, T_l, C) float multi-hot;
    ``video_labels`` (B, C) float: classes that have a point in the (cropped) video."""

    point_masks: list[torch.Tensor]
    point_targets: list[torch.Tensor]
    video_labels: torch.Tensor

    def to(self, device: torch.device) -> "LevelTargets":
        return LevelTargets([m.to(device) for m in self.point_masks], [t.to(device) for t in self.point_targets],
                            self.video_labels.to(device))


def _positive_range(t: float, radius: float | None, interval: tuple[float, float] | None,
                    length: int) -> tuple[int, int]:
    """Inclusive integer range of level positions within ``radius`` of level position t and inside ``interval``
    (clipped to the level); empty (first > last) when they do not meet."""
    lo, hi = (-math.inf, math.inf) if radius is None else (t - radius, t + radius)
    if interval is not None:
        lo, hi = max(lo, interval[0]), min(hi, interval[1])
    return max(0, math.ceil(lo)), min(length - 1, math.floor(hi))


def point_targets(points: list[torch.Tensor], labels: list[torch.Tensor], lengths: list[int], time_axis: Pyramid,
                  radius: float | None, num_classes: int,
                  intervals: list[torch.Tensor] | None = None) -> LevelTargets:
    """Positive positions of every point on every level.

    points[b]: (N_b,) float point positions in level-0 snippets of sample b; labels[b]: (N_b,) int class ids;
    lengths[l] = T_l. A level-0 position x is ``time_axis.level(l).from_level0(x)`` on level l (the model's
    ``PointDetector.time_axis``: x / theta^l for admfit_torch's pyramid). Without ``intervals``: the augmented
    annotation sets Phi_l (eqs. 2-3), the integer positions in [t - radius, t + radius] (radius in level-l
    snippets, docs/spec.md section 3). With ``intervals[b]`` (N_b, 2) pseudo-label [start, end] in level-0
    snippets: pseudo-label sampling, the positions within the radius AND inside the interval; ``radius=None`` is the whole interval.
    The position nearest the point is always positive. Ranges are clipped to the level.
    """
    if radius is None and intervals is None:
        raise ValueError("an unlimited radius needs pseudo-label intervals")
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
                # The annotated point itself is certain, even where ADM's interval (centred on the peak) misses it.
                target[b, min(max(0, round(t)), length - 1), c] = 1.0
        targets.append(target)
        masks.append(target.amax(dim=-1) > 0)
    video = torch.zeros(batch, num_classes)
    for b, lab in enumerate(labels):
        video[b, lab] = 1.0
    return LevelTargets(masks, targets, video)


def augmented_targets(points: list[torch.Tensor], labels: list[torch.Tensor], lengths: list[int],
                      time_axis: Pyramid, radius: float, num_classes: int) -> LevelTargets:
    """The augmented annotation sets Phi_l of the base model (eqs. 2-3); see point_targets."""
    return point_targets(points, labels, lengths, time_axis, radius, num_classes)


def sampled_targets(points: list[torch.Tensor], labels: list[torch.Tensor], intervals: list[torch.Tensor],
                    lengths: list[int], time_axis: Pyramid, radius: float | None, num_classes: int) -> LevelTargets:
    """Pseudo-label sampling of the main model (r_s; None = no sampling, the whole interval); see point_targets."""
    return point_targets(points, labels, lengths, time_axis, radius, num_classes, intervals)


@dataclass
class PseudoInstances:
    """A batch's pseudo-labelled points, flattened over samples; all positions in level-0 sample snippets.

    ``sample`` (N,) int64 sample index; ``points`` (N,) annotated points t_i; ``labels`` (N,) class ids;
    ``intervals`` (N, 2) pseudo-label [start, end]; ``sigmas`` (N,) pseudo-label sigmas; ``batch_size`` B.
    """

    sample: torch.Tensor
    points: torch.Tensor
    labels: torch.Tensor
    intervals: torch.Tensor
    sigmas: torch.Tensor
    batch_size: int

    @classmethod
    def from_samples(cls, samples) -> "PseudoInstances":
        """From data.Sample objects carrying intervals and sigmas (ValueError when one does not)."""
        if any(s.intervals is None or s.sigmas is None for s in samples):
            raise ValueError("the main model needs pseudo-labels on every sample (run the pseudo-label stage)")
        counts = [len(s.positions) for s in samples]
        return cls(torch.repeat_interleave(torch.arange(len(samples)), torch.tensor(counts, dtype=torch.long)),
                   torch.cat([s.positions.double() for s in samples]), torch.cat([s.labels.long() for s in samples]),
                   torch.cat([s.intervals.double().reshape(-1, 2) for s in samples]),
                   torch.cat([s.sigmas.double() for s in samples]), len(samples))

    def head_rows(self, device: torch.device) -> torch.Tensor:
        """(N, 3) float32 rows (sample, start, end): what the sigma head samples."""
        return torch.cat([self.sample.unsqueeze(1).double(), self.intervals], dim=1).float().to(device)

    def split(self, values: torch.Tensor) -> list[torch.Tensor]:
        """Per-sample slices of a flat (N, ...) tensor, in sample order."""
        counts = torch.bincount(self.sample, minlength=self.batch_size).tolist()
        return list(torch.split(values, counts))
