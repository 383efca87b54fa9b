"""Gaussian imposition loss of the main model (paper eqs. 15-17)."""
from __future__ import annotations

import numpy as np
import torch


def class_kernels(points: torch.Tensor, sigmas: torch.Tensor, labels: torch.Tensor, length: int,
                  num_classes: int) -> torch.Tensor:
    """G_c(t) of eq. 16: per class the maximum over its instances of G_i(t) = exp(-0.5 ((t - t_i) / sigma_i)^2) (eq. 15).

    points (N,) annotated points t_i and sigmas (N,) > 0, both in level-0 snippets; labels (N,) class ids.
    Returns (length, num_classes), t = 0..length-1; 0 for classes without an instance.
    """
    t = torch.arange(length, device=points.device, dtype=torch.float32).unsqueeze(1)
    kernels = torch.exp(-0.5 * ((t - points.float()) / sigmas.float()) ** 2)  # (T, N)
    mixed = torch.zeros(length, num_classes, device=points.device, dtype=torch.float32)
    if labels.numel():
        mixed = mixed.scatter_reduce(1, labels.long().expand(length, -1), kernels, reduce="amax")
    return mixed


def gaussian_imposition_loss(fused: torch.Tensor, mask: torch.Tensor, points: list[torch.Tensor],
                             labels: list[torch.Tensor], sigmas: list[torch.Tensor]) -> torch.Tensor:
    """L_G (eq. 17): MSE between G_c and the first-level fused probabilities P^_1[t, c] over the classes S_c present.

    fused (B, T_1, C) first-level fused probabilities; mask (B, T_1) real snippets; per sample b: points[b],
    labels[b], sigmas[b] (N_b,) (level-0 snippets). Per sample the squared errors are summed over its real
    snippets and the classes that have a point in it and divided by T_1 |S_c| (T_1 = its real snippets); the
    result is the mean over the samples with at least one point (0 when none has). The kernels are targets (no
    gradient flows into the sigmas). See ``gaussian_imposition_loss_flat``.
    """
    sample = torch.from_numpy(np.repeat(np.arange(len(labels), dtype=np.int64), [len(c) for c in labels]))
    return gaussian_imposition_loss_flat(fused, mask, sample, torch.cat(list(points)), torch.cat(list(labels)),
                                         torch.cat(list(sigmas)))


def gaussian_imposition_loss_flat(fused: torch.Tensor, mask: torch.Tensor, sample: torch.Tensor, points: torch.Tensor,
                                  labels: torch.Tensor, sigmas: torch.Tensor) -> torch.Tensor:
    """``gaussian_imposition_loss`` with the batch's instances flattened: sample (N,) sample index, points,
    labels, sigmas (N,). All samples at once on the device: the kernels of eq. 16 are a per-(sample, class)
    maximum (``scatter_reduce``), padding and absent classes weigh 0; no loop over samples, no host sync."""
    batch, length, classes = fused.shape
    device = fused.device
    sample, labels = sample.to(device).long(), labels.to(device).long()
    row = sample * classes + labels  # (N,) row b C + c of a (B C, T_1) table
    t = torch.arange(length, device=device, dtype=torch.float32)
    kernels = torch.exp(-0.5 * ((t - points.to(device).float().unsqueeze(1))
                                / sigmas.detach().to(device).float().unsqueeze(1)) ** 2)  # (N, T_1), eq. 15
    target = torch.zeros(batch * classes, length, device=device).scatter_reduce(
        0, row.unsqueeze(1).expand(-1, length), kernels, reduce="amax")  # eq. 16, 0 for absent classes
    present = torch.zeros(batch * classes, device=device).index_fill_(0, row, 1.0).view(batch, classes)
    real = mask.sum(dim=1)  # T_1 of each sample
    inside = (torch.arange(length, device=device) < real.unsqueeze(1)).float()  # (B, T_1)
    error = (target.view(batch, classes, length).transpose(1, 2) - fused.float()) ** 2
    summed = (error * inside.unsqueeze(-1) * present.unsqueeze(1)).sum(dim=(1, 2))  # (B,)
    kinds = present.sum(dim=1)
    has_points = kinds > 0
    per_sample = summed / (real * kinds).clamp(min=1)
    return torch.where(has_points, per_sample, 0.0).sum() / has_points.sum().clamp(min=1)
