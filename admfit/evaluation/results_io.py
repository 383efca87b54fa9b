"""Prediction files: ActivityNet results JSON, as detectors and ``admfit fit`` write them.

``{"results": {VIDEO: [{"segment": [start_s, end_s], "label": "Billiards", "score": 0.93}, ...]}}``;
other top-level keys (``version``, ``external_data``, ``meta``) and extra per-entry fields
(``admfit fit`` adds ``point_s``, ``sigma``, ...) are allowed. Times are seconds; numbers
written as strings ("18.6") are read as numbers, as in the THUMOS'14 ground truth.
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import Field, TypeAdapter, ValidationError
from typing_extensions import NotRequired, TypedDict

from admfit.errors import InputError

from .segments import Detections

FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]


# TypedDicts, not models: validating 300,000 entries into plain dicts is several times faster
# (pydantic-core parses and checks the JSON bytes in one pass); unknown keys are ignored.
class _Entry(TypedDict):
    segment: tuple[FiniteFloat, FiniteFloat]
    label: Annotated[str, Field(min_length=1)]
    score: FiniteFloat
    # The annotated point's time (s) of an admfit pseudo-label; absent in detector output.
    point_s: NotRequired[FiniteFloat | None]


class _ResultsFile(TypedDict):
    results: dict[str, list[_Entry]]
    meta: NotRequired[Any]


_RESULTS_FILE = TypeAdapter(_ResultsFile)


def _raise_first(path: Path, error: ValidationError) -> None:
    """InputError for the first problem; pydantic's location is (results, VIDEO, index, field...)."""
    detail = error.errors()[0]
    if detail["type"] == "json_invalid":
        raise InputError(f"not valid JSON: {detail['msg']}", file=str(path))
    loc = [str(part) for part in detail["loc"]]
    video = loc[1] if len(loc) >= 2 and loc[0] == "results" else None
    raise InputError.from_validation(error, file=str(path), video=video, field=None if loc else "results")


def _parse(path: Path) -> _ResultsFile:
    if path.is_dir():
        raise InputError("is a directory, expected a results JSON file", file=str(path))
    if not path.is_file():
        raise InputError("no such file", file=str(path))
    try:
        return _RESULTS_FILE.validate_json(path.read_bytes())
    except ValidationError as error:
        _raise_first(path, error)
        raise  # unreachable: _raise_first always raises


def _check_segments(path: Path, parsed: _ResultsFile) -> None:
    for video, entries in parsed["results"].items():
        for number, entry in enumerate(entries):
            start, end = entry["segment"]
            if not end > start:
                kind = "zero-length" if end == start else "reversed"
                raise InputError(f"{kind} segment {[start, end]} (--strict)", file=str(path),
                                 video=video, field=f"results.{video}.{number}.segment")


def _detections(parsed: _ResultsFile) -> tuple[Detections, np.ndarray]:
    results = parsed["results"]
    entries = [entry for items in results.values() for entry in items]
    if not entries:
        empty = np.zeros(0)
        return Detections(np.zeros(0, "<U1"), np.zeros(0, "<U1"), empty, empty, empty), empty
    video = np.repeat(np.array(list(results)), [len(items) for items in results.values()])
    segments = np.array([entry["segment"] for entry in entries], dtype=np.float64)
    detections = Detections(video, np.array([entry["label"] for entry in entries]), segments[:, 0],
                            segments[:, 1], np.array([entry["score"] for entry in entries], dtype=np.float64))
    point_s = np.array([entry.get("point_s") for entry in entries], dtype=np.float64)  # None -> NaN
    return detections, point_s


def load_detections(path, *, strict: bool = False) -> Detections:
    """Every prediction of an ActivityNet results JSON, in file order (seconds).

    Malformed files raise InputError naming file, video and field. ``strict`` also rejects
    reversed and zero-length segments (by default the evaluator counts them as false positives).
    """
    path = Path(path)
    parsed = _parse(path)
    if strict:
        _check_segments(path, parsed)
    return _detections(parsed)[0]


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
    results = {}
    for row in rows:
        results.setdefault(row["video"], []).append(
            {"segment": (row["start_s"], row["end_s"]), "label": row["label"], "score": row["score"],
             "point_s": row["point_s"]})
    return (*_detections({"results": results}), meta)
