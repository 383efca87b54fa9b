"""Flat arrays of labelled segments, the evaluator's input (times in seconds).

One entry per segment, in file order: the order matters, it breaks score ties
(predictions) and IoU ties (ground truth), see ``admfit.evaluation.detection``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping

import numpy as np

if TYPE_CHECKING:  # the models need pydantic; `admfit eval` reads columns and must not import it
    from admfit.datasets.annotation_columns import AnnotationColumns
    from admfit.datasets.annotations import VideoAnnotation


def _as_strings(values, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if array.size == 0:
        return np.zeros(0, dtype="<U1")
    if array.dtype.kind != "U":
        raise ValueError(f"{name} must hold strings, got dtype {array.dtype}")
    return array


def _as_floats(values, name: str, size: int) -> np.ndarray:
    array = np.ascontiguousarray(values, dtype=np.float64)
    if array.shape != (size,):
        raise ValueError(f"{name} must have shape ({size},), got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} holds a NaN or infinite value at index {int(np.argmin(np.isfinite(array)))}")
    return array


def _check_columns(segments, floats: tuple[str, ...]) -> None:
    """Set ``segments``' columns to checked arrays: ``video`` and ``label`` one-dimensional strings of one shape,
    each of ``floats`` finite float64 of that size."""
    video = _as_strings(segments.video, "video")
    object.__setattr__(segments, "video", video)
    object.__setattr__(segments, "label", _as_strings(segments.label, "label"))
    if segments.label.shape != video.shape:
        raise ValueError(f"label must have shape {video.shape}, got {segments.label.shape}")
    for name in floats:
        object.__setattr__(segments, name, _as_floats(getattr(segments, name), name, video.size))


@dataclass(frozen=True)
class GroundTruthSegments:
    """Ground-truth instances: ``video``, ``label`` (N,) str; ``start_s``, ``end_s`` (N,) float64 seconds.

    ``end_s >= start_s`` (zero-length instances exist in ActivityNet-1.2; they can never be
    matched at a positive threshold, but they count in the recall denominator, as officially).
    """

    video: np.ndarray
    label: np.ndarray
    start_s: np.ndarray
    end_s: np.ndarray

    def __post_init__(self):
        _check_columns(self, ("start_s", "end_s"))
        if np.any(self.end_s < self.start_s):
            raise ValueError(f"ground-truth segment {int(np.argmax(self.end_s < self.start_s))} ends before it starts")

    def __len__(self) -> int:
        return int(self.video.size)

    @classmethod
    def from_annotations(cls, annotations: Mapping[str, VideoAnnotation]) -> "GroundTruthSegments":
        """Every instance of every video, videos in mapping order, instances in file order."""
        rows = [(video, inst.label, inst.start_s, inst.end_s)
                for video, record in annotations.items() for inst in record.instances]
        return cls(*_columns(rows, 4))

    @classmethod
    def from_columns(cls, columns: AnnotationColumns) -> "GroundTruthSegments":
        """Every instance of an annotation file read as columns (``read_annotation_columns(...).select(...)``),
        videos and instances in file order: the same segments as ``from_annotations`` of ``load_annotations``."""
        video = np.repeat(np.array(columns.videos, dtype=str), columns.counts)
        return cls(video, columns.label, columns.start_s, columns.end_s)


@dataclass(frozen=True)
class Detections:
    """Scored predictions: ``video``, ``label`` (N,) str; ``start_s``, ``end_s``, ``score`` (N,) float64.

    Reversed (start > end) and zero-length segments are allowed here: the evaluator counts
    them as false positives and reports how many there were.
    """

    video: np.ndarray
    label: np.ndarray
    start_s: np.ndarray
    end_s: np.ndarray
    score: np.ndarray

    def __post_init__(self):
        _check_columns(self, ("start_s", "end_s", "score"))

    def __len__(self) -> int:
        return int(self.video.size)

    @property
    def invalid(self) -> np.ndarray:
        """(N,) bool: reversed or zero-length segments (always false positives)."""
        return ~(self.end_s > self.start_s)

    def subset(self, keep: np.ndarray) -> "Detections":
        """The detections where the (N,) bool mask or index array ``keep`` selects, order kept."""
        return Detections(self.video[keep], self.label[keep], self.start_s[keep], self.end_s[keep],
                          self.score[keep])


def _columns(rows: list[tuple], width: int) -> list[np.ndarray]:
    if not rows:
        return [np.zeros(0, dtype="<U1")] * 2 + [np.zeros(0)] * (width - 2)
    columns = list(zip(*rows))
    return [np.array(columns[0]), np.array(columns[1])] + [np.array(c, dtype=np.float64) for c in columns[2:]]
