"""Scoring detections with admfit's evaluator (official ActivityNet semantics, docs/spec.md section 2)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from admfit.errors import InputError


def detections_from_results(document: dict):
    """An ActivityNet results document (``{"results": {video: [{segment, label, score}]}}``) -> Detections."""
    from admfit.evaluation import Detections

    rows = [(video, entry["label"], *entry["segment"], entry["score"])
            for video, entries in document["results"].items() for entry in entries]
    if not rows:
        empty = np.zeros(0)
        return Detections(np.zeros(0, dtype="<U1"), np.zeros(0, dtype="<U1"), empty, empty, empty)
    video, label, start, end, score = zip(*rows)
    return Detections(np.array(video), np.array(label), np.array(start, dtype=np.float64),
                      np.array(end, dtype=np.float64), np.array(score, dtype=np.float64))


def evaluate_results(annotations, document: dict, tious: Sequence[float] | None = None):
    """mAP of ``document`` against ``annotations`` ({video: VideoAnnotation}, the evaluated subset only).

    ``tious`` default: THUMOS'14's 0.1:0.7. Returns admfit.evaluation.DetectionResult."""
    from admfit.evaluation import THUMOS14_TIOUS, GroundTruthSegments, evaluate_detection

    truth = GroundTruthSegments.from_annotations(annotations)
    if len(truth) == 0:
        raise InputError("the evaluated subset holds no ground-truth instance", field="annotations")
    return evaluate_detection(truth, detections_from_results(document), THUMOS14_TIOUS if tious is None else tious)


def evaluate_detections(annotations_path: str | Path, subset: str | None, document: dict,
                        tious: Sequence[float] | None = None, *, videos=None):
    """Like evaluate_results, reading the ground truth of ``subset`` from an annotation file (or ``thumos14``, the
    shipped one), of the videos ``videos`` only when given (those detected on)."""
    from admfit.datasets.shipped import open_annotations

    truth = open_annotations(annotations_path, subset=subset)
    if videos is not None:
        kept = set(videos)
        truth = {video: record for video, record in truth.items() if video in kept}
    return evaluate_results(truth, document, tious)
