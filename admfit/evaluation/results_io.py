"""Prediction files: ActivityNet results JSON, as detectors and ``admfit fit`` write them.

``{"results": {VIDEO: [{"segment": [start_s, end_s], "label": "Billiards", "score": 0.93}, ...]}}``;
other top-level keys (``version``, ``external_data``, ``meta``) and extra per-entry fields
(``admfit fit`` adds ``point_s``, ``sigma``, ...) are allowed. Times are seconds; numbers
written as strings ("18.6") are read as numbers, as in the THUMOS'14 ground truth.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from admfit.errors import InputError

from .segments import Detections

FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]


class _Entry(BaseModel):
    model_config = ConfigDict(extra="ignore")

    segment: tuple[FiniteFloat, FiniteFloat]
    label: str = Field(min_length=1)
    score: FiniteFloat
    # The annotated point's time (s) of an admfit pseudo-label; absent in detector output.
    point_s: FiniteFloat | None = None


class _ResultsFile(BaseModel):
    model_config = ConfigDict(extra="allow")

    results: dict[str, list[_Entry]]


def _read_json(path: Path) -> Any:
    if path.is_dir():
        raise InputError("is a directory, expected a results JSON file", file=str(path))
    if not path.is_file():
        raise InputError("no such file", file=str(path))
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except json.JSONDecodeError as error:
        raise InputError(f"not valid JSON: {error.msg} at line {error.lineno} column {error.colno}",
                         file=str(path)) from None
    except UnicodeDecodeError:
        raise InputError("not a UTF-8 text file", file=str(path)) from None


def _raise_first(path: Path, error: ValidationError) -> None:
    """InputError for the first problem; pydantic's location is (results, VIDEO, index, field...)."""
    detail = error.errors()[0]
    loc = [str(part) for part in detail["loc"]]
    video = loc[1] if len(loc) >= 2 and loc[0] == "results" else None
    field = ".".join(loc) if loc else "results"
    message = detail["msg"]
    if "input" in detail and not isinstance(detail["input"], (dict, list)):
        message += f" (got {detail['input']!r})"
    raise InputError(message, file=str(path), video=video, field=field)


def _parse(path: Path) -> _ResultsFile:
    document = _read_json(path)
    if not isinstance(document, dict) or not isinstance(document.get("results"), dict):
        raise InputError("expected a JSON object with a 'results' object of videos", file=str(path),
                         field="results")
    try:
        return _ResultsFile.model_validate(document)
    except ValidationError as error:
        _raise_first(path, error)
        raise  # unreachable: _raise_first always raises


def _check_segments(path: Path, parsed: _ResultsFile) -> None:
    for video, entries in parsed.results.items():
        for number, entry in enumerate(entries):
            if not entry.segment[1] > entry.segment[0]:
                kind = "zero-length" if entry.segment[1] == entry.segment[0] else "reversed"
                raise InputError(f"{kind} segment {list(entry.segment)} (--strict)", file=str(path),
                                 video=video, field=f"results.{video}.{number}.segment")


def _detections(parsed: _ResultsFile) -> tuple[Detections, np.ndarray]:
    entries = [(video, entry) for video, items in parsed.results.items() for entry in items]
    if not entries:
        empty = np.zeros(0)
        return Detections(np.zeros(0, "<U1"), np.zeros(0, "<U1"), empty, empty, empty), empty
    segments = np.array([entry.segment for _, entry in entries], dtype=np.float64)
    detections = Detections(np.array([video for video, _ in entries]),
                            np.array([entry.label for _, entry in entries]),
                            segments[:, 0], segments[:, 1],
                            np.array([entry.score for _, entry in entries], dtype=np.float64))
    point_s = np.array([math.nan if entry.point_s is None else entry.point_s for _, entry in entries])
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


def load_pseudo_labels(path) -> tuple[Detections, np.ndarray, dict]:
    """(pseudo-labels as Detections, (N,) annotated point times in seconds (NaN where absent), meta).

    Reads ``admfit fit`` output; refuses files whose segments are in snippets (``meta.segment_units``),
    which cannot be compared with ground truth in seconds.
    """
    path = Path(path)
    parsed = _parse(path)
    meta = (parsed.model_extra or {}).get("meta")
    meta = meta if isinstance(meta, dict) else {}
    units = meta.get("segment_units", "seconds")
    if units != "seconds":
        raise InputError(f"segments are in {units}, not seconds: run `admfit fit` with the feature grid "
                         "(fps, stride) so that it writes seconds", file=str(path), field="meta.segment_units")
    detections, point_s = _detections(parsed)
    return detections, point_s, meta
