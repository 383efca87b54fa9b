"""Point targets on every pyramid level: augmented annotations (paper eqs. 2-3) and, for the main model,
pseudo-label sampling (paper 3.4.2): positions near each point and inside its ADM interval."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
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


def _positive_ranges(t: np.ndarray, radius: float | None, spans: np.ndarray | None,
                     length: int) -> tuple[np.ndarray, np.ndarray]:
    """Inclusive integer ranges [first, last] (N,) of level positions within ``radius`` of the level positions t
    (N,) and inside ``spans`` (N, 2) (level positions), clipped to the level; empty (first > last) where they do
    not meet, also when the span lies wholly before the level's start."""
    lo = np.full_like(t, -np.inf) if radius is None else t - radius
    hi = np.full_like(t, np.inf) if radius is None else t + radius
    if spans is not None:
        lo, hi = np.maximum(lo, spans[:, 0]), np.minimum(hi, spans[:, 1])
    first = np.maximum(0, np.ceil(lo))
    last = np.minimum(length - 1, np.floor(hi))
    return first, last


def point_targets(points: list[torch.Tensor], labels: list[torch.Tensor], lengths: list[int], time_axis: Pyramid,
                  radius: float | None, num_classes: int, intervals: list[torch.Tensor] | None = None,
                  device: torch.device | str = "cpu") -> LevelTargets:
    """Positive positions of every point on every level, built on ``device``.

    points[b]: (N_b,) float point positions in level-0 snippets of sample b; labels[b]: (N_b,) int class ids;
    lengths[l] = T_l. A level-0 position x is ``time_axis.level(l).from_level0(x)`` on level l (the model's
    ``PointDetector.time_axis``: x / theta^l for admfit_torch's pyramid). Without ``intervals``: the augmented
    annotation sets Phi_l (eqs. 2-3), the integer positions in [t - radius, t + radius] (radius in level-l
    snippets, docs/spec.md section 3). With ``intervals[b]`` (N_b, 2) pseudo-label [start, end] in level-0
    snippets: pseudo-label sampling, the positions within the radius AND inside the interval; ``radius=None`` is the whole interval.
    The position nearest the point is always positive. Ranges are clipped to the level.

    The ranges are computed on the host (the points are host data, a few per video) for all points at once; the
    dense targets are then made on ``device`` by comparisons, with no loop over videos or points and no
    transfer but one small table per call.
    """
    if radius is None and intervals is None:
        raise ValueError("an unlimited radius needs pseudo-label intervals")
    batch = len(points)
    counts = [len(p) for p in points]
    sample = np.repeat(np.arange(batch), counts)
    level0 = np.concatenate([np.asarray(p, dtype=np.float64).reshape(-1) for p in points] + [np.zeros(0)])
    classes = np.concatenate([np.asarray(c, dtype=np.int64).reshape(-1) for c in labels] + [np.zeros(0, np.int64)])
    spans0 = None if intervals is None else np.concatenate(
        [np.asarray(i, dtype=np.float64).reshape(-1, 2) for i in intervals] + [np.zeros((0, 2))])
    table = []  # per level: first, last, nearest (N,) level positions
    for level, length in enumerate(lengths):
        on_level = time_axis.level(level).from_level0
        t = on_level(level0)
        first, last = _positive_ranges(t, radius, None if spans0 is None else on_level(spans0), length)
        # The annotated point itself is certain, even where ADM's interval (centred on the peak) misses it.
        nearest = np.clip(np.rint(t), 0, length - 1)  # rint and round() both round half to even
        table.append(np.stack([first, last, nearest]))
    rows = torch.from_numpy(np.stack([sample, classes])).to(device)  # (2, N)
    ranges = torch.from_numpy(np.stack(table).astype(np.int64)).to(device)  # (L, 3, N)
    row_of = rows[0] * num_classes + rows[1]  # (N,) row b C + c of a (B C, T_l) table
    masks, targets = [], []
    for level, length in enumerate(lengths):
        first, last, nearest = ranges[level].unsqueeze(-1)  # (N, 1) each
        steps = torch.arange(length, device=device)
        positive = ((steps >= first) & (steps <= last)) | (steps == nearest)  # (N, T_l)
        # Counting positives per (sample, class) is exact in float32 whatever the order of the additions.
        hits = torch.zeros(batch * num_classes, length, device=device).index_add_(0, row_of, positive.float())
        target = (hits > 0).float().view(batch, num_classes, length).transpose(1, 2).contiguous()  # (B, T_l, C)
        targets.append(target)
        masks.append(target.amax(dim=-1) > 0)
    video = torch.zeros(batch * num_classes, device=device).index_fill_(0, row_of, 1.0).view(batch, num_classes)
    return LevelTargets(masks, targets, video)


def augmented_targets(points: list[torch.Tensor], labels: list[torch.Tensor], lengths: list[int],
                      time_axis: Pyramid, radius: float, num_classes: int,
                      device: torch.device | str = "cpu") -> LevelTargets:
    """The augmented annotation sets Phi_l of the base model (eqs. 2-3); see point_targets."""
    return point_targets(points, labels, lengths, time_axis, radius, num_classes, device=device)


def sampled_targets(points: list[torch.Tensor], labels: list[torch.Tensor], intervals: list[torch.Tensor],
                    lengths: list[int], time_axis: Pyramid, radius: float | None, num_classes: int,
                    device: torch.device | str = "cpu") -> LevelTargets:
    """Pseudo-label sampling of the main model (r_s; None = no sampling, the whole interval); see point_targets."""
    return point_targets(points, labels, lengths, time_axis, radius, num_classes, intervals, device)


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
        return cls(torch.from_numpy(np.repeat(np.arange(len(samples), dtype=np.int64), counts)),
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
