"""Evaluation: detection mAP (official ActivityNet semantics, SPEC section 2) and pseudo-label quality."""
from admfit.evaluation.detection import DetectionResult, evaluate_detection, segment_iou
from admfit.evaluation.segments import Detections, GroundTruthSegments
from admfit.evaluation.thresholds import ANET_TIOUS, THUMOS14_TIOUS, parse_tious

__all__ = ["DetectionResult", "evaluate_detection", "segment_iou", "Detections", "GroundTruthSegments",
           "ANET_TIOUS", "THUMOS14_TIOUS", "parse_tious"]
