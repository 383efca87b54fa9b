"""admfit_torch as an ``admfit.detectors`` plug-in: a trained checkpoint behind the Detector protocol."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from admfit.detector import DetectorOutput
from admfit.grid import SnippetGrid

from .checkpoint import load_point_detector
from .data import VideoItem, inference_sample
from .ddp import select_device
from .inference import predict_levels


class TorchDetector:
    """Detector protocol over a checkpoint written by ``admfit-torch train`` (EMA weights)."""

    def __init__(self, checkpoint: str | Path, device: str = "auto"):
        self.model, self.cfg, self.classes = load_point_detector(checkpoint)
        self.device = select_device(device)
        self.model.to(self.device)

    def predict(self, video: str, features: np.ndarray, grid: SnippetGrid) -> DetectorOutput:
        item = VideoItem(video, np.asarray(features, dtype=np.float32), grid)
        sample = inference_sample(item, self.cfg.data, self.cfg.model.total_stride)
        levels = predict_levels(self.model, sample, self.device, self.cfg.amp, self.cfg.amp_dtype)
        return DetectorOutput(video, levels.fused, levels.background, sample.map.input_grid(grid),
                              levels.time_axis.theta, levels.time_axis)


def make_detector(checkpoint: str | Path, device: str = "auto") -> TorchDetector:
    """Entry point ``admfit_torch = "admfit_torch.plugin:make_detector"`` of the group ``admfit.detectors``."""
    return TorchDetector(checkpoint, device)
