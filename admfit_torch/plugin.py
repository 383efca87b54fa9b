"""admfit_torch as an ``admfit.detectors`` plug-in: a trained checkpoint behind the Detector protocol."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from admfit.datasets.features import checked_features
from admfit.detector import DetectorOutput
from admfit.errors import InputError
from admfit.grid import SnippetGrid

from .checkpoint import load_point_detector
from .data import VideoItem, inference_sample
from .ddp import select_device
from .inference import predict_levels


class TorchDetector:
    """Detector protocol over a checkpoint written by ``admfit-torch train`` (EMA weights).

    A missing, foreign or damaged checkpoint and a device torch cannot use raise InputError (fields
    ``checkpoint``, ``ema``, ``config.*``, ..., ``device``; ``load_point_detector``, ``select_device``)."""

    def __init__(self, checkpoint: str | Path, device: str = "auto"):
        self.model, self.cfg, self.classes = load_point_detector(checkpoint)
        self.checkpoint = str(checkpoint)
        self.device = select_device(device)
        try:  # a device torch knows by name but this machine lacks (cuda:7 of 1, mps off a Mac)
            self.model.to(self.device)
        except RuntimeError as error:
            raise InputError(f"cannot use device {str(self.device)!r} ({' '.join(str(error).split())[:200]})",
                             field="device") from None

    def validate(self, features: np.ndarray) -> None:
        """InputError unless ``features`` are a finite (T, model.input_dim) array of real numbers (fields
        ``shape``, ``dtype``, ``features``), the checks a features file gets (admfit.datasets.features)."""
        checked_features(features, path=None, video=None)
        width = self.cfg.model.input_dim
        if np.shape(features)[1] != width:
            raise InputError(f"expected (T, {width}) features, got {np.shape(features)}: checkpoint "
                             f"{self.checkpoint} was trained on {width} feature channels (model.input_dim)",
                             field="shape")

    def predict(self, video: str, features: np.ndarray, grid: SnippetGrid) -> DetectorOutput:
        self.validate(features)  # what admfit label has checked already; here for callers in Python
        item = VideoItem(video, np.asarray(features, dtype=np.float32), grid)
        sample = inference_sample(item, self.cfg.data, self.cfg.model.total_stride)
        levels = predict_levels(self.model, sample, self.device, self.cfg.amp, self.cfg.amp_dtype)
        return DetectorOutput(video, levels.fused, levels.background, sample.map.input_grid(grid),
                              levels.time_axis.theta, levels.time_axis)


def make_detector(checkpoint: str | Path, device: str = "auto") -> TorchDetector:
    """Entry point ``admfit_torch = "admfit_torch.plugin:make_detector"`` of the group ``admfit.detectors``."""
    return TorchDetector(checkpoint, device)
