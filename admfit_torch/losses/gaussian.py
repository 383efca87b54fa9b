"""Gaussian imposition loss of the main model (paper eqs. 15-17)."""
from __future__ import annotations

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
    gradient flows into the sigmas).
    """
    per_sample = []
    for b in range(fused.shape[0]):
        if labels[b].numel() == 0:
            continue
        length = int(mask[b].sum())
        present = torch.unique(labels[b]).to(fused.device)
        target = class_kernels(points[b].to(fused.device), sigmas[b].detach().to(fused.device), labels[b].to(fused.device),
                               length, fused.shape[2])
        error = (target[:, present] - fused[b, :length][:, present].float()) ** 2
        per_sample.append(error.sum() / (length * present.numel()))
    if not per_sample:
        return fused.new_zeros((), dtype=torch.float32)
    return torch.stack(per_sample).mean()
