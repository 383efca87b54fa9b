"""admfit_torch: the reference point-supervised detector of ADM-Loc (paper 3.2-3.3), in PyTorch.

Layout follows ActionFormer / OpenTAD: ``models/`` (blocks, backbone, neck, head, detector),
``losses/`` (MIL, focal, background, total), ``data`` (dataset, crops, collate), ``train``,
``checkpoint``, ``inference`` (post-processing), ``ddp`` (torchrun + DistributedDataParallel).
"""
from .config import DetectorConfig, load_config, preset

__all__ = ["DetectorConfig", "load_config", "preset"]
