"""JSON files read as columns: one parse, then whole-column checks, not a validation object per record.

A results file of 300,000 detections is about 1.8 million Python objects once parsed. Checking
them column by column (the set of value types, one numpy conversion, one finiteness test) is a
few passes in C; a validation model per record costs seconds. Only when a check fails is the
column walked in Python, to find the first bad record, which the caller names (file, video, field).
"""
from __future__ import annotations

import gc
import json
import math
from contextlib import contextmanager
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import orjson

from admfit.errors import InputError
from admfit.files.require import require_file


class BadValue(Exception):
    """The first bad value of a column: its ``row``, what is wrong, and where inside the record
    (``part``: a field such as ``"score"`` or ``"segment.1"``; None for the record itself).
    ``wrong_type``: the value is not of the kind expected at all (a string where a number belongs)."""

    def __init__(self, row: int, message: str, part: str | None, *, wrong_type: bool = False):
        super().__init__(message)
        self.row = row
        self.message = message
        self.part = part
        self.wrong_type = wrong_type


@contextmanager
def collector_paused() -> Iterator[None]:
    """Run the parse and the column checks inside: the parsed document must be gone before it ends.

    Parsing allocates a container per record, none of which can form a cycle. Left running, the cyclic
    collector walks the growing heap again and again (half the time of a large parse); paused only
    during the parse, it walks all of it once at the next allocation. Freed before the pause ends,
    the records are never walked at all.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def read_json(path: Path, expected: str) -> Any:
    """The parsed document; InputError for a folder, a missing file, or text that is not JSON.

    ``expected`` names the file in the error for a folder, e.g. "a results JSON file". Large files:
    call it inside ``collector_paused()``.
    """
    return parse_json(path, read_bytes(path, expected))


def read_bytes(path: Path, expected: str) -> bytes:
    """The file's bytes; InputError for a folder (``expected`` names what it should be) or a missing file."""
    return require_file(path, None, expected=expected).read_bytes()


def parse_json(path: Path, data: bytes) -> Any:
    """The document ``data`` (the bytes of ``path``) holds; InputError naming ``path`` when it is not JSON."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        pass
    # Python's json also reads NaN and Infinity (which it writes): then the column check names the
    # record that holds one, instead of a "not valid JSON" that does not say where.
    try:
        return json.loads(data)
    except json.JSONDecodeError as error:
        raise InputError(f"not valid JSON: {error.msg} at line {error.lineno} column {error.colno}",
                         file=str(path)) from None
    except UnicodeDecodeError:
        raise InputError("not a UTF-8 text file", file=str(path)) from None


def field(records: list, key: str) -> list:
    """``record[key]`` of every record; BadValue at the first record that is not an object or lacks it."""
    try:
        return list(map(itemgetter(key), records))
    except (KeyError, TypeError, IndexError):
        pass
    for row, record in enumerate(records):
        if not isinstance(record, dict):
            raise BadValue(row, f"expected an object, got {_shown(record)}", None)
        if key not in record:
            raise BadValue(row, "field required", key)
    raise AssertionError("unreachable: every record has the field")


def optional_field(records: list, key: str) -> list:
    """``record.get(key)`` of every record (all of them objects: call ``field`` first)."""
    return [record.get(key) for record in records]


def float_column(values: list, part: str | None, *, missing_ok: bool = False) -> np.ndarray:
    """(N,) float64 of finite numbers; numeric strings ("18.6", as THUMOS'14 writes them) count as numbers.

    Booleans, other values and NaN or infinite numbers raise BadValue at the first one. With
    ``missing_ok``, None (JSON null) becomes NaN.
    """
    if set(map(type, values)) <= ({float, int, type(None)} if missing_ok else {float, int}):
        try:
            array = np.array(values, dtype=np.float64)  # None -> NaN
        except OverflowError:  # an integer beyond float64: the slow walk below reports it
            array = None
        if array is not None:
            bad = np.flatnonzero(~np.isfinite(array))
            if all(values[row] is None for row in bad):
                return array
    return np.array([_number(value, row, part, missing_ok) for row, value in enumerate(values)], dtype=np.float64)


def _number(value: Any, row: int, part: str | None, missing_ok: bool) -> float:
    if value is None and missing_ok:
        return math.nan
    # bool is an int in Python, not a number in a results file: "score": true is a mistake.
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise BadValue(row, f"expected a number, got {_shown(value)}", part, wrong_type=True)
    try:
        number = float(value)
    except (ValueError, OverflowError):
        raise BadValue(row, f"expected a number, got {_shown(value)}", part, wrong_type=True) from None
    if not math.isfinite(number):
        raise BadValue(row, f"expected a finite number, got {_shown(value)}", part)
    return number


def index_column(values: list, part: str) -> np.ndarray:
    """(N,) int64 of non-negative integers (3, 3.0 and "3" alike), -1 where the value is None (JSON null).

    BadValue at the first boolean, fraction, negative or huge number, or other value.
    """
    if set(map(type, values)) <= {int, type(None)} and all(value is None or 0 <= value < 2**62 for value in values):
        return np.array([-1 if value is None else value for value in values], dtype=np.int64)
    return np.array([_index(value, row, part) for row, value in enumerate(values)], dtype=np.int64)


def _index(value: Any, row: int, part: str) -> int:
    if value is None:
        return -1
    number = _number(value, row, part, False)
    if not (0 <= number < 2**62 and number == int(number)):
        raise BadValue(row, f"expected a non-negative integer, got {_shown(value)}", part)
    return int(number)


def segment_columns(segments: list, part: str = "segment") -> tuple[np.ndarray, np.ndarray]:
    """(start, end) columns of ``[start, end]`` pairs of finite numbers (order not checked here).

    BadValue names ``segment`` for a record that is not a pair or holds a non-finite number,
    ``segment.0`` / ``segment.1`` for a value that is not a number at all.
    """
    if set(map(type, segments)) != {list} or set(map(len, segments)) != {2}:
        if segments:
            row = next(row for row, pair in enumerate(segments) if not isinstance(pair, list) or len(pair) != 2)
            raise BadValue(row, f"expected two numbers [start, end], got {_shown(segments[row])}", part)
    flat = list(chain.from_iterable(segments))
    try:
        pairs = float_column(flat, None).reshape(-1, 2)
    except BadValue as error:  # a value that is no number is named by its place, a non-finite one by the pair
        raise BadValue(error.row // 2, error.message,
                       f"{part}.{error.row % 2}" if error.wrong_type else part) from None
    return pairs[:, 0].copy(), pairs[:, 1].copy()


def string_column(values: list, part: str) -> np.ndarray:
    """(N,) numpy str array of non-empty strings; BadValue at the first other value or empty string."""
    try:
        distinct = dict.fromkeys(values)
    except TypeError:  # an array or object among them: the walk below names it
        distinct = None
    # Checking the types of the distinct values only is enough: no non-string JSON value equals a string.
    if distinct is not None and all(type(name) is str for name in distinct) and "" not in distinct:
        # Through codes: numpy builds a str array from a few distinct names far faster than from N strings.
        vocabulary = np.array(list(distinct) or [""])
        code_of = {name: code for code, name in enumerate(distinct)}
        return vocabulary[np.fromiter(map(code_of.__getitem__, values), dtype=np.int64, count=len(values))]
    for row, value in enumerate(values):
        if not isinstance(value, str):
            raise BadValue(row, f"expected a string, got {_shown(value)}", part)
        if not value:
            raise BadValue(row, "must not be empty", part)
    raise AssertionError("unreachable: a bad value was found")


def _shown(value: Any) -> str:
    """A value as an error message shows it: short, one line."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return f"an array of {len(value)}"
    text = json.dumps(value) if isinstance(value, (bool, type(None))) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
