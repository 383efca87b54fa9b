"""Checks shared by every command: numeric options and the arrays read from files.

One rule per kind of value, so that ``admfit fit``, ``admfit plot`` and the detector refuse the same
things with the same words: an InputError naming the file, the video and the field.

Caps: a number of frames per second, frames per snippet or frames between snippets beyond
:data:`MAX_FPS` / :data:`MAX_FRAMES` is not a video grid but a typo (``--stride 1e300`` made
segments of 1e299 s); user-sized loops (tIoU thresholds) are capped by the caller.
"""
from __future__ import annotations

import math

import numpy as np

from admfit.errors import InputError

MAX_FPS = 10_000.0        # high-speed cameras reach a few thousand frames per second
MAX_FRAMES = 1_000_000.0  # frames per snippet or between snippets: over 9 hours at 30 fps


def _as_float(value, *, file, field: str) -> float:
    if isinstance(value, (bool, np.bool_)) or isinstance(value, (complex, np.complexfloating)):
        raise InputError(f"must be a real number, got {value!r}", file=file, field=field)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InputError(f"must be a number, got {value!r}", file=file, field=field) from None


def number_in_range(value, *, field: str, file=None, low: float = 0.0, high: float, low_open: bool = True) -> float:
    """``value`` as a finite float in (low, high] (or [low, high] when not ``low_open``), else InputError."""
    number = _as_float(value, file=file, field=field)
    above = number > low if low_open else number >= low
    if not (math.isfinite(number) and above and number <= high):
        bracket = "(" if low_open else "["
        raise InputError(f"must be a finite number in {bracket}{low:g}, {high:g}], got {value!r}", file=file,
                         field=field)
    return number


def fps_value(value, *, field: str = "--fps", file=None) -> float:
    return number_in_range(value, field=field, file=file, high=MAX_FPS)


def stride_value(value, *, field: str = "--stride", file=None) -> float:
    return number_in_range(value, field=field, file=file, high=MAX_FRAMES)


def num_frames_value(value, *, field: str = "--num-frames", file=None) -> float:
    return number_in_range(value, field=field, file=file, high=MAX_FRAMES, low_open=False)


def duration_value(value, *, field: str = "duration", file=None) -> float:
    """A video's duration in seconds: a finite number > 0 (no cap, as in the annotation files)."""
    number = _as_float(value, file=file, field=field)
    if not (math.isfinite(number) and number > 0):
        raise InputError(f"must be a finite number > 0 (seconds), got {value!r}", file=file, field=field)
    return number


def grid_options(fps, stride, num_frames) -> tuple[float | None, float | None, float | None]:
    """The snippet-grid options of a command (None: not given), checked before any file is read."""
    return (None if fps is None else fps_value(fps), None if stride is None else stride_value(stride),
            None if num_frames is None else num_frames_value(num_frames))


def scalar_array(array: np.ndarray, *, file, field: str, kind: str) -> float:
    """A one-number array of a file (``kind``: 'fps', 'stride', 'num_frames' or 'duration') as a float, checked as
    the option."""
    array = np.asarray(array)
    if array.size != 1 or not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise InputError(f"must be one real number, got {array.dtype} of shape {array.shape}", file=file, field=field)
    check = {"fps": fps_value, "stride": stride_value, "num_frames": num_frames_value,
             "duration": duration_value}[kind]
    return check(array.reshape(()).item(), field=field, file=file)


def float_array(array, *, file, field: str, ndim: int, video: str | None = None,
                unit_interval: bool = False) -> np.ndarray:
    """A non-empty ``ndim``-D array of real floats (float16/32/64: no ints, bools, strings or complex numbers,
    whose meaning as probabilities is a guess), finite, within [0, 1] when ``unit_interval``."""
    array = np.asarray(array)
    if not np.issubdtype(array.dtype, np.floating):
        raise InputError(f"must be a float array, got dtype {array.dtype}", file=file, video=video, field=field)
    if array.ndim != ndim or 0 in array.shape:
        raise InputError(f"must be a non-empty {ndim}-D array, got shape {array.shape}", file=file, video=video,
                         field=field)
    finite = np.isfinite(array)
    if not finite.all():
        where = tuple(int(i) for i in np.argwhere(~finite)[0])
        raise InputError(f"holds {int((~finite).sum())} NaN or inf value(s), first at index {where}", file=file,
                         video=video, field=field)
    if unit_interval and (array.min() < 0 or array.max() > 1):
        raise InputError(f"holds values outside [0, 1] (min {array.min():.4g}, max {array.max():.4g})", file=file,
                         video=video, field=field)
    return array


def bool_array(array, *, file, field: str, video: str | None = None) -> np.ndarray:
    """A non-empty 1-D bool array (a background mask), else InputError."""
    array = np.asarray(array)
    if array.dtype != np.bool_ or array.ndim != 1 or array.size == 0:
        raise InputError(f"must be a non-empty 1-D bool array, got {array.dtype} of shape {array.shape}", file=file,
                         video=video, field=field)
    return array


# (field, lowest, highest, rule) of a pseudo-label entry that `admfit plot` draws; None: the video's last snippet
# (T - 1) or last class (C - 1). Snippet fields are first-level snippets, as `admfit fit` writes them.
_ENTRY_RANGES = (("point", 0.0, None, "a snippet of the video"), ("t_star", 0.0, None, "a snippet of the video"),
                 ("start", -0.5, None, "inside the video"), ("end", -0.5, None, "inside the video"),
                 ("sigma", 0.0, math.inf, "> 0"), ("omega", 0.0, math.inf, ">= 0"),
                 ("score", 0.0, 1.0, "in [0, 1]"), ("label_id", 0.0, None, "a class index of the signals"))


def pseudo_label_entries(entries: list[dict], *, file, video: str, length: int, num_classes: int) -> None:
    """InputError for the first entry (of one video, fields already numbers) that cannot be drawn on a signal
    of ``length`` snippets and ``num_classes`` classes: NaN or inf, a point or interval outside the video,
    start > end, sigma <= 0, omega < 0, score outside [0, 1], a label_id that is no class index."""
    if not entries:
        return
    names = [name for name, *_ in _ENTRY_RANGES]
    table = np.array([[entry[name] for name in names] for entry in entries], dtype=np.float64)
    for column, (name, low, high, rule) in enumerate(_ENTRY_RANGES):
        values = table[:, column]
        high = (num_classes - 1 if name == "label_id" else length - 0.5 if name in ("start", "end") else length - 1) \
            if high is None else high
        bad = ~np.isfinite(values) | (values < low) | (values > high)
        if name == "sigma":
            bad |= values <= 0
        if name == "label_id":
            bad |= values != np.round(values)
        if bad.any():
            row = int(np.argmax(bad))
            raise InputError(f"must be {rule} ({low:g} to {high:g}), got {values[row]!r}", file=file, video=video,
                             field=f"results[{row}].{name}")
    reversed_rows = table[:, names.index("start")] > table[:, names.index("end")]
    if reversed_rows.any():
        row = int(np.argmax(reversed_rows))
        raise InputError("start is after end", file=file, video=video, field=f"results[{row}].start")
