"""The training set's features resident on the training device, and crops gathered there.

Copying each batch's crops from host memory cost more than the model on a GPU: per sample a copy of the crop
(``input_length`` x D float32, 19 MB at THUMOS'14 size), a transposed copy into the padded sample, the
batch's stack and a transfer from pageable memory, all on the host, every step. A ``FeatureBank`` copies every
video's features to the device once (in crop mode the rows as they are; in resize mode each video already
interpolated to the input length, which does not depend on the epoch); a step then sends only the windows
(video, start, size) and gathers the rows on the device. The rows gathered are the rows the host path copies,
so the batch is the same, bit for bit.

The Trainer uses a bank on CUDA when the features fit (``fits``); on CPU the host path copies no more than
the bank would.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from .config import DataConfig
from .data import VideoItem, as_tensor, padded_length, resize_features

DEVICE_SHARE = 0.25  # at most this share of the device's free memory goes to the bank


def bank_bytes(items: Sequence[VideoItem], cfg: DataConfig, multiple: int) -> int:
    """Bytes of float32 features a bank of ``items`` holds."""
    if cfg.length_mode == "resize":
        rows = len(items) * padded_length(cfg.input_length, multiple)
    else:
        rows = sum(item.num_snippets for item in items)
    return 4 * rows * (int(items[0].features.shape[1]) if items else 0)


def fits(items: Sequence[VideoItem], cfg: DataConfig, multiple: int, device: torch.device) -> bool:
    """Whether a bank of ``items`` belongs on ``device``: CUDA with DEVICE_SHARE of its free memory to spare."""
    if device.type != "cuda" or not items:
        return False
    free, _ = torch.cuda.mem_get_info(device)
    return bank_bytes(items, cfg, multiple) <= DEVICE_SHARE * free


class FeatureBank:
    """Every item's features as rows of one (R, D) float32 tensor on ``device``; item i owns rows
    ``offsets[i]`` .. ``offsets[i + 1] - 1`` (its snippets in crop mode, its resized input in resize mode)."""

    def __init__(self, items: Sequence[VideoItem], cfg: DataConfig, multiple: int, device: torch.device):
        self.device = device
        length = padded_length(cfg.input_length, multiple)
        counts = [length if cfg.length_mode == "resize" else item.num_snippets for item in items]
        self.offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        dim = int(items[0].features.shape[1])
        self.rows = torch.empty(int(self.offsets[-1]), dim, device=device)
        for item, start, stop in zip(items, self.offsets[:-1], self.offsets[1:]):
            # resize_features interpolates on the host, as training_sample does, so that both paths agree
            if cfg.length_mode == "resize":
                video = resize_features(item.features, length).T
            else:
                video = as_tensor(item.features)
            self.rows[start:stop].copy_(video)

    def gather(self, windows: Sequence[tuple[int, int, int]], length: int) -> torch.Tensor:
        """(B, D, length) features of the windows (item index, start, size): rows start .. start + size - 1 of
        the item, zeros after them (the padding of ``training_sample``). One small transfer (the windows), one
        gather on the device."""
        table = np.asarray(windows, dtype=np.int64).reshape(-1, 3)
        first = self.offsets[table[:, 0]] + table[:, 1]
        spec = torch.from_numpy(np.stack([first, table[:, 2]], axis=1)).to(self.device, non_blocking=True)
        steps = torch.arange(length, device=self.device)
        inside = steps < spec[:, 1:2]  # (B, length)
        index = spec[:, 0:1] + torch.minimum(steps, (spec[:, 1:2] - 1).clamp(min=0))  # padding reads a real row
        rows = self.rows.index_select(0, index.flatten()).view(len(table), length, -1)
        return torch.where(inside.unsqueeze(-1), rows, 0.0).transpose(1, 2)
