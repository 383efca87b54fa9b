"""Model: blocks (masked conv, local attention), backbone, neck, shared head, detector."""
from .detector import PointDetector, PyramidOutput, fuse

__all__ = ["PointDetector", "PyramidOutput", "fuse"]
