"""Point targets on every pyramid level: augmented annotations (paper eqs. 2-3)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch


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


def augmented_targets(points: list[torch.Tensor], labels: list[torch.Tensor], lengths: list[int], theta: int,
                      radius: float, num_classes: int) -> LevelTargets:
    """Build the augmented annotation sets Phi_l.

    points[b]: (N_b,) float point positions in level-0 snippets of sample b; labels[b]: (N_b,) int
    class ids. lengths[l] = T_l. On level l a point t covers the integer positions in
    [t / theta^l - radius, t / theta^l + radius] (radius in level-l snippets, SPEC 3), clipped.
    """
    batch = len(points)
    masks, targets = [], []
    for level, length in enumerate(lengths):
        target = torch.zeros(batch, length, num_classes)
        for b, (pos, lab) in enumerate(zip(points, labels)):
            for t, c in zip((pos / theta ** level).tolist(), lab.tolist()):
                lo, hi = max(0, math.ceil(t - radius)), min(length - 1, math.floor(t + radius))
                target[b, lo:hi + 1, c] = 1.0
        targets.append(target)
        masks.append(target.amax(dim=-1) > 0)
    video = torch.zeros(batch, num_classes)
    for b, lab in enumerate(labels):
        video[b, lab] = 1.0
    return LevelTargets(masks, targets, video)
