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
from admfit.json_columns import (BadValue, collector_paused, field, float_column, optional_field, read_json,
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
    point_s: np.ndarray | None
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


def _read(path: Path, *, point_times: bool) -> _Results:
    # The parsed document lives only inside this pause (see collector_paused).
    with collector_paused():
        return _columns(path, point_times)


def _columns(path: Path, point_times: bool) -> _Results:
    document = read_json(path, "a results JSON file")
    results = _results_object(path, document)
    videos = list(results)
    counts = np.array([len(entries) for entries in results.values()], dtype=np.int64)
    entries = list(chain.from_iterable(results.values()))
    try:
        start, end = segment_columns(field(entries, "segment"))
        label = string_column(field(entries, "label"), "label")
        score = float_column(field(entries, "score"), "score")
        point_s = (float_column(optional_field(entries, "point_s"), "point_s", missing_ok=True)
                   if point_times else None)
    except BadValue as error:
        raise _error_at(path, videos, counts, error.row, error.message, error.part) from None
    return _Results(path, videos, counts, start, end, label, score, point_s, document.get("meta"))


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
    results = _read(Path(path), point_times=False)
    if strict:
        results.check_segments()
    return results.detections()


def load_pseudo_labels(path) -> tuple[Detections, np.ndarray, dict]:
    """(pseudo-labels as Detections, (N,) annotated point times in seconds (NaN where absent), meta).

    Reads ``admfit fit`` output; refuses files whose segments are in snippets (``meta.segment_units``),
    which cannot be compared with ground truth in seconds.
    """
    path = Path(path)
    results = _read(path, point_times=True)
    meta = results.meta if isinstance(results.meta, dict) else {}
    units = meta.get("segment_units", "seconds")
    if units != "seconds":
        raise InputError(f"segments are in {units}, not seconds: run `admfit fit` with the feature grid "
                         "(fps, stride) so that it writes seconds", file=str(path), field="meta.segment_units")
    return results.detections(), results.point_s, meta
