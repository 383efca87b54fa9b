"""Prediction files: ActivityNet results JSON, as detectors and ``admfit fit`` write them.

``{"results": {VIDEO: [{"segment": [start_s, end_s], "label": "Billiards", "score": 0.93}, ...]}}``;
other top-level keys (``version``, ``external_data``, ``meta``) and extra per-entry fields
(``admfit fit`` adds ``point_s``, ``sigma``, ...) are allowed. Times are seconds; numbers
written as strings ("18.6") are read as numbers, as in the THUMOS'14 ground truth.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import chain
from pathlib import Path

import numpy as np

from admfit.errors import InputError
from admfit.json_columns import (BadValue, collector_paused, field, float_column, read_json,
                                 segment_columns, string_column)

from .segments import Detections


@dataclass
class _Results:
    """A results file as checked columns, in file order; ``videos`` and ``counts``: each video's entries."""

    path: Path
    videos: list[str]
    counts: np.ndarray
    start: np.ndarray
    end: np.ndarray
    label: np.ndarray
    score: np.ndarray
    meta: object

    def error_at(self, row: int, message: str, part: str | None) -> InputError:
        """InputError naming the video and ``results.VIDEO.INDEX[.part]`` of entry ``row``."""
        return _error_at(self.path, self.videos, self.counts, row, message, part)

    def detections(self) -> Detections:
        video = np.repeat(np.array(self.videos, dtype=str), self.counts)
        return Detections(video, self.label, self.start, self.end, self.score)

    def check_segments(self) -> None:
        """--strict: every segment must end after it starts."""
        bad = np.flatnonzero(~(self.end > self.start))
        if bad.size:
            row = int(bad[0])
            start, end = float(self.start[row]), float(self.end[row])
            kind = "zero-length" if end == start else "reversed"
            raise self.error_at(row, f"{kind} segment {[start, end]} (--strict)", "segment")


def _read(path: Path) -> _Results:
    # The parsed document lives only inside this pause (see collector_paused).
    with collector_paused():
        return _columns(path)


def _columns(path: Path) -> _Results:
    document = read_json(path, "a results JSON file")
    results = _results_object(path, document)
    videos = list(results)
    counts = np.array([len(entries) for entries in results.values()], dtype=np.int64)
    entries = list(chain.from_iterable(results.values()))
    try:
        start, end = segment_columns(field(entries, "segment"))
        label = string_column(field(entries, "label"), "label")
        score = float_column(field(entries, "score"), "score")
    except BadValue as error:
        raise _error_at(path, videos, counts, error.row, error.message, error.part) from None
    return _Results(path, videos, counts, start, end, label, score, document.get("meta"))


def _results_object(path: Path, document) -> dict:
    if not isinstance(document, dict) or "results" not in document:
        raise InputError("field required: {'results': {VIDEO: [detections]}}", file=str(path), field="results")
    results = document["results"]
    if not isinstance(results, dict):
        raise InputError("expected an object {VIDEO: [detections]}", file=str(path), field="results")
    for video, entries in results.items():
        if not isinstance(entries, list):
            raise InputError("expected an array of detections", file=str(path), video=video, field=f"results.{video}")
    return results


def _error_at(path: Path, videos: list[str], counts: np.ndarray, row: int, message: str,
              part: str | None) -> InputError:
    ends = np.cumsum(counts)
    video = int(np.searchsorted(ends, row, side="right"))
    name, index = videos[video], row - int(ends[video] - counts[video])
    return InputError(message, file=str(path), video=name, field=f"results.{name}.{index}" + (f".{part}" if part else ""))


def load_detections(path, *, strict: bool = False) -> Detections:
    """Every prediction of an ActivityNet results JSON, in file order (seconds).

    Malformed files raise InputError naming file, video and field. ``strict`` also rejects
    reversed and zero-length segments (by default the evaluator counts them as false positives).
    """
    results = _read(Path(path))
    if strict:
        results.check_segments()
    return results.detections()


def load_pseudo_labels(path, *, min_confidence: float = 0.0) -> tuple[Detections, np.ndarray, dict]:
    """(pseudo-labels as Detections, (N,) annotated point times in seconds (NaN where absent), meta).

    Reads ``admfit fit`` output, JSON or CSV (``admfit.fit_io.read_pseudo_labels``); refuses files whose segments
    are in snippets (``meta.segment_units``), which cannot be compared with ground truth in seconds.
    min_confidence: keep only the pseudo-labels whose ``confidence`` is at least this (0: all).
    """
    from admfit.fit_io import read_pseudo_labels  # the one reader of the format, beside its writer

    rows, meta = read_pseudo_labels(path)
    units = meta.get("segment_units", "seconds")
    if units != "seconds" or any(row["start_s"] is None or row["end_s"] is None for row in rows):
        raise InputError(f"segments are in {units}, not seconds: run `admfit fit` with the feature grid "
                         "(fps, stride) so that it writes seconds", file=str(path), field="meta.segment_units")
    if min_confidence > 0:
        if any("confidence" not in row for row in rows):
            raise InputError("has pseudo-labels without a confidence (written by an older admfit): fit them again",
                             file=str(path), field="confidence")
        rows = [row for row in rows if row["confidence"] >= min_confidence]
    detections = Detections(np.array([row["video"] for row in rows], dtype=str),
                            np.array([row["label"] for row in rows], dtype=str),
                            np.array([row["start_s"] for row in rows], dtype=np.float64),
                            np.array([row["end_s"] for row in rows], dtype=np.float64),
                            np.array([row["score"] for row in rows], dtype=np.float64))
    point_s = np.array([row["point_s"] for row in rows], dtype=np.float64)  # None -> NaN
    return detections, point_s, meta
