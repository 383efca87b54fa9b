"""Model: blocks (masked conv, local attention), backbone, neck, shared head, sigma head, detector."""
from .detector import PointDetector, PyramidOutput, build_detector, fuse
from .sigma_head import SigmaHead, sample_intervals

__all__ = ["PointDetector", "PyramidOutput", "SigmaHead", "build_detector", "fuse", "sample_intervals"]
