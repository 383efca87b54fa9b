"""Prediction files: ActivityNet results JSON, as detectors and ``admfit fit`` write them.

``{"results": {VIDEO: [{"segment": [start_s, end_s], "label": "Billiards", "score": 0.93}, ...]}}``;
other top-level keys (``version``, ``external_data``, ``meta``) and extra per-entry fields
(``admfit fit`` adds ``point_s``, ``sigma``, ...) are allowed. Times are seconds; numbers
written as strings ("18.6") are read as numbers, as in the THUMOS'14 ground truth.

Two readers, one result: a file in the plain layout is decoded by msgspec into typed records
(``_plain_columns``, the fast one); any other file, or one msgspec refuses, is parsed by orjson and
checked column by column (``_columns``), which names the first bad record (docs/evaluation.md, Loading).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from itertools import chain
from operator import attrgetter
from pathlib import Path

import numpy as np

from admfit.errors import InputError
from admfit.files.json_columns import (
    BadValue,
    collector_paused,
    field,
    float_column,
    parse_json,
    read_bytes,
    segment_columns,
    string_column,
)

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
        data = read_bytes(path, "a results JSON file")
        plain = _plain_columns(path, data)
        return plain if plain is not None else _columns(path, parse_json(path, data))


def _columns(path: Path, document) -> _Results:
    """Any results file: the parsed document's columns, checked (numbers as strings read, bad values named)."""
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
    return _Results(path, videos, counts, start, end, label, score)


@functools.cache
def _plain_decoder():
    """(msgspec decoder of the plain layout, its error class), or None where msgspec is not installed.

    Built on first use: importing msgspec is for the readers of large results files only.
    """
    try:
        import msgspec
    except ImportError:  # a declared dependency; without it every file takes the general path, slower
        return None

    # defstruct: the types as objects (this module's annotations are strings). Other fields of an entry are
    # skipped, as the general path ignores them; gc=False: no record can be part of a cycle, the collector skips them.
    entry = msgspec.defstruct("Entry", [("segment", tuple[float, float]), ("label", str), ("score", float)],
                              gc=False)
    document = msgspec.defstruct("Results", [("results", dict[str, list[entry]])], gc=False)
    return msgspec.json.Decoder(document), msgspec.DecodeError


def _plain_columns(path: Path, data: bytes) -> _Results | None:
    """The columns of a results file in the plain layout (numbers as JSON numbers, every entry complete),
    or None for any other file, which the general path then reads, checks and names the faults of.

    Why: msgspec decodes straight into typed records (a segment is two floats, a score a float, a label a
    string, checked as it parses), a third faster than orjson makes dictionaries, and leaves no column
    to check value by value: 0.2 s less on 300,000 predictions (docs/evaluation.md). Whatever it accepts,
    the general path accepts with the same values; tests/core/test_results_io.py compares them.
    """
    plain = _plain_decoder()
    # msgspec skips the fields it does not read without checking their UTF-8; the general path refuses it.
    if plain is None or not (data.isascii() or _is_utf8(data)):
        return None
    decoder, error = plain
    try:
        results = decoder.decode(data).results
    except error:
        return None
    entries = list(chain.from_iterable(results.values()))
    pairs = np.array(list(chain.from_iterable(map(attrgetter("segment"), entries))), dtype=np.float64)
    score = np.array(list(map(attrgetter("score"), entries)), dtype=np.float64)
    try:
        label = string_column(list(map(attrgetter("label"), entries)), "label")
    except BadValue:  # an empty label
        return None
    if not (np.isfinite(pairs).all() and np.isfinite(score).all()):  # msgspec refuses them already
        return None
    counts = np.fromiter(map(len, results.values()), dtype=np.int64, count=len(results))
    return _Results(path, list(results), counts, pairs[0::2].copy(), pairs[1::2].copy(), label, score)


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


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

    Reads ``admfit fit`` output, JSON or CSV (``admfit.files.pseudo_labels.read_pseudo_labels``); refuses files
    whose segments are in snippets (``meta.segment_units``), which cannot be compared with ground truth in seconds.
    min_confidence: keep only the pseudo-labels whose ``confidence`` is at least this (0: all).
    """
    from admfit.files.pseudo_labels import read_pseudo_labels  # the one reader of the format, beside its writer

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
    detections, point_s = pseudo_label_columns(rows)
    return detections, point_s, meta


def pseudo_label_columns(rows) -> tuple[Detections, np.ndarray]:
    """Pseudo-label rows (``read_pseudo_labels``'s, or ``admfit.labelling.fit_signals``' before they are written;
    segments in seconds) -> (Detections, (N,) annotated point times in seconds, NaN where absent)."""
    detections = Detections(np.array([row["video"] for row in rows], dtype=str),
                            np.array([row["label"] for row in rows], dtype=str),
                            np.array([row["start_s"] for row in rows], dtype=np.float64),
                            np.array([row["end_s"] for row in rows], dtype=np.float64),
                            np.array([row["score"] for row in rows], dtype=np.float64))
    point_s = np.array([row["point_s"] for row in rows], dtype=np.float64)  # None -> NaN
    return detections, point_s
