"""admfit_torch: the reference point-supervised detector of ADM-Loc (paper 3.2-3.3), in PyTorch.

Layout follows ActionFormer / OpenTAD: ``models/`` (blocks, backbone, neck, head, detector),
``losses/`` (targets, MIL, focal, background, total), ``data`` (dataset, crops, collate), ``train``,
``checkpoint``, ``inference`` (post-processing), ``ddp`` (torchrun + DistributedDataParallel),
``plugin`` (the ``admfit.detectors`` entry point). Documentation: docs/detector.md, docs/training.md.
"""
from .checkpoint import load_detector
from .config import DetectorConfig, load_config, preset
from .inference import detect
from .models import PointDetector
from .train import train_base

__all__ = ["DetectorConfig", "PointDetector", "detect", "load_config", "load_detector", "preset", "train_base"]
