"""Evaluation: detection mAP (official ActivityNet semantics, docs/spec.md section 2) and pseudo-label quality.

Times are seconds; AP, mAP and tIoU on the [0, 1] scale. See docs/evaluation.md.
"""
from admfit.evaluation.detection import DetectionResult, evaluate_detection, segment_iou
from admfit.evaluation.pseudo_quality import PseudoLabelQuality, assign_instances, pseudo_label_quality
from admfit.evaluation.results_io import load_detections, load_pseudo_labels
from admfit.evaluation.segments import Detections, GroundTruthSegments
from admfit.evaluation.thresholds import ANET_TIOUS, THUMOS14_TIOUS, parse_tious, table_columns

__all__ = ["DetectionResult", "evaluate_detection", "segment_iou", "PseudoLabelQuality", "assign_instances",
           "pseudo_label_quality", "load_detections", "load_pseudo_labels", "Detections", "GroundTruthSegments",
           "ANET_TIOUS", "THUMOS14_TIOUS", "parse_tious", "table_columns"]
