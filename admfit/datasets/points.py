"""Point (single-frame) labels: one time stamp per action instance, in seconds.

``load_points`` recognises three file layouts by their first line:

* LACP / SF-Net simulated points (``point_gaussian.csv``), header
  ``class,class_index,start_frame,stop_frame,video_id,point``: ``point`` is a frame index at
  the video's **native** fps, so ``time_s = point / fps[video]`` (``admfit.datasets.rates``: the native rates
  come from a table, never from the features' fps).
* The ActivityNet derived CSV (HR-Pro v1.3 points matched to v1.2), header
  ``class,class_index,video_id,t_start,t_end,fps_inferred,start_frame,stop_frame,point,point_time``:
  ``time_s = point_time``. Its ``v_`` video prefix is removed so ids match the ActivityNet JSON keys.
* SF-Net human clicks (``THUMOS{1..4}.txt``): no header, lines ``video,time_s,Class``,
  blank lines between records. No class index in the file (pass ``classes`` to get one).

A row's class name and class index must agree: with each other across the file, and with the class vocabulary
when one is given (``classes``); a name outside the vocabulary is refused. Errors name the file's line.

Whitespace around every field is stripped: SF-Net annotator 3 writes " GolfSwing" (4 times)
and " TennisSwing" (once); a warning counts such labels so the change is never silent.
"""
from __future__ import annotations

import csv
import io
import math
import warnings
from pathlib import Path
from typing import Mapping, Sequence

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from admfit.datasets.rates import ClickRates, as_rates
from admfit.errors import InputError
from admfit.files.require import require_file

LACP_COLUMNS = ("class", "class_index", "start_frame", "stop_frame", "video_id", "point")
ANET_COLUMNS = ("class", "class_index", "video_id", "t_start", "t_end", "fps_inferred",
                "start_frame", "stop_frame", "point", "point_time")
ANET_VIDEO_PREFIX = "v_"
# PointLabel field -> the column it came from, so errors name what the user can find in the file.
_LACP_FIELDS = {"video": "video_id", "label": "class", "label_id": "class_index", "time_s": "point", "frame": "point"}
_ANET_FIELDS = {"video": "video_id", "label": "class", "label_id": "class_index", "time_s": "point_time", "frame": "point"}
_CLICK_FIELDS = {"video": "video", "label": "class", "time_s": "time_s"}


class PointLabel(BaseModel):
    """One point label. ``time_s`` in seconds; ``frame`` the native-fps frame index the file gave, if any;
    ``line`` the line of the file it was read from (1-based)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    video: str = Field(min_length=1)
    label: str = Field(min_length=1)
    label_id: int | None = Field(default=None, ge=0)
    time_s: float = Field(ge=0, allow_inf_nan=False, description="point time, seconds")
    frame: float | None = Field(default=None, ge=0, allow_inf_nan=False,
                                description="frame index at the video's native fps")
    line: int | None = Field(default=None, ge=1, description="line of the point file (1-based)")


def _text_lines(path: Path) -> list[str]:
    require_file(path, None, expected="a point-label file")
    try:
        # utf-8-sig: tolerate a byte-order mark (some annotation tools write one).
        return path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError:
        raise InputError("not a UTF-8 text file", file=path) from None


def _number(text: str, *, path: Path, video: str | None, field: str, line: int) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"line {line}: {text!r} is not a number", file=path, video=video,
                         field=field) from None
    if not math.isfinite(value):
        raise InputError(f"line {line}: {text!r} is not a finite number", file=path, video=video,
                         field=field)
    return value


def _integer(text: str, *, path: Path, video: str | None, field: str, line: int) -> int:
    value = _number(text, path=path, video=video, field=field, line=line)
    if value != int(value):
        raise InputError(f"line {line}: {text!r} is not an integer", file=path, video=video, field=field)
    return int(value)


def _make_point(path: Path, line: int, columns: Mapping[str, str], **values) -> PointLabel:
    """A validated PointLabel; an error names the file's column (``columns``: model field -> column)."""
    try:
        return PointLabel(**values, line=line)
    except ValidationError as error:
        raise InputError.from_validation(error, file=path, video=values.get("video"), rename=columns,
                                         context=f"line {line}") from None


def _csv_rows(lines: list[str], path: Path, width: int, video_column: int):
    """(line number, stripped fields) of each non-blank data line; wrong field count -> InputError."""
    for number, fields in enumerate(csv.reader(io.StringIO("\n".join(lines))), start=1):
        if not fields or all(not f.strip() for f in fields):
            continue
        fields = [f.strip() for f in fields]
        if len(fields) != width:
            video = fields[video_column] if len(fields) > video_column else None
            raise InputError(f"line {number}: expected {width} comma-separated fields, got {len(fields)}",
                             file=path, video=video)
        yield number, fields


def _read_lacp(lines, path: Path, rates: ClickRates) -> list[PointLabel]:
    points = []
    for line, (label, label_id, _start, _stop, video, frame) in _csv_rows(lines[1:], path, 6, 4):
        line += 1  # header
        native_fps = rates.fps(video, file=path, line=line)
        frame_value = _number(frame, path=path, video=video, field="point", line=line)
        points.append(_make_point(
            path, line, _LACP_FIELDS, video=video, label=label, frame=frame_value,
            label_id=_integer(label_id, path=path, video=video, field="class_index", line=line),
            time_s=frame_value / native_fps))
    return points


def _read_anet(lines, path: Path) -> list[PointLabel]:
    points = []
    for line, fields in _csv_rows(lines[1:], path, len(ANET_COLUMNS), 2):
        line += 1
        row = dict(zip(ANET_COLUMNS, fields))
        video = row["video_id"].removeprefix(ANET_VIDEO_PREFIX)
        points.append(_make_point(
            path, line, _ANET_FIELDS, video=video, label=row["class"],
            label_id=_integer(row["class_index"], path=path, video=video, field="class_index", line=line),
            frame=_number(row["point"], path=path, video=video, field="point", line=line),
            time_s=_number(row["point_time"], path=path, video=video, field="point_time", line=line)))
    return points


def _read_clicks(lines, path: Path) -> list[PointLabel]:
    points = []
    for line, (video, time_s, label) in _csv_rows(lines, path, 3, 0):
        points.append(_make_point(path, line, _CLICK_FIELDS, video=video, label=label,
                                  time_s=_number(time_s, path=path, video=video, field="time_s", line=line)))
    return points


def _count_padded_labels(lines: list[str], path: Path) -> None:
    padded = sum(1 for text in lines if "," in text and text.rsplit(",", 1)[-1] != text.rsplit(",", 1)[-1].strip())
    if padded:
        warnings.warn(f"{path}: stripped surrounding whitespace from {padded} label(s)", stacklevel=3)


def _header(lines: list[str]) -> tuple[str, ...]:
    first = next((text for text in lines if text.strip()), "")
    return tuple(field.strip() for field in first.split(","))


def _line(point: PointLabel) -> str:
    return f"line {point.line}: " if point.line is not None else ""


def _check_agreement(points: list[PointLabel], path: Path) -> None:
    """Within the file, one class name has one index and one index one name; else the second row is refused."""
    first_of_name: dict[str, PointLabel] = {}
    first_of_index: dict[int, PointLabel] = {}
    for point in points:
        if point.label_id is None:
            continue
        earlier = first_of_name.setdefault(point.label, point)
        if earlier.label_id != point.label_id:
            raise InputError(f"{_line(point)}class {point.label!r} has index {point.label_id} here but "
                             f"{earlier.label_id} on line {earlier.line}", file=path, video=point.video,
                             field="class_index")
        earlier = first_of_index.setdefault(point.label_id, point)
        if earlier.label != point.label:
            raise InputError(f"{_line(point)}class index {point.label_id} is {point.label!r} here but "
                             f"{earlier.label!r} on line {earlier.line}", file=path, video=point.video, field="class")


def apply_vocabulary(points: list[PointLabel], classes: Sequence[str], path: Path) -> list[PointLabel]:
    """Each point's ``label_id`` from the vocabulary ``classes``; an unknown name, or an index that is not the
    name's index there, is refused naming the line."""
    ids = {name: number for number, name in enumerate(classes)}
    out = []
    for point in points:
        if point.label not in ids:
            raise InputError(f"{_line(point)}unknown class {point.label!r} (not among the {len(ids)} classes of "
                             "the vocabulary)", file=path, video=point.video, field="class")
        if point.label_id is not None and point.label_id != ids[point.label]:
            raise InputError(f"{_line(point)}class index {point.label_id} disagrees with class {point.label!r} "
                             f"(index {ids[point.label]} of the {len(ids)} classes of the vocabulary)", file=path,
                             video=point.video, field="class_index")
        out.append(point.model_copy(update={"label_id": ids[point.label]}))
    return out


def load_points(path, *, fps: ClickRates | Mapping[str, float] | None = None,
                classes: Sequence[str] | None = None) -> list[PointLabel]:
    """Read a point-label file (layout auto-detected, see the module docstring), in file order.

    ``fps``: the native frames per second per video (``admfit.datasets.rates.ClickRates``, or a mapping), used
    only by the LACP layout (frames -> seconds); defaults to the shipped THUMOS'14 ``fps_dict.json``. A video
    without a native rate is refused, naming the line.
    ``classes``: the class vocabulary; when given, every label must be in it and agree with the row's index
    (else InputError naming the line) and ``label_id`` becomes its index there. Without it, names and indices
    must agree across the file.
    """
    path = Path(path)
    lines = _text_lines(path)
    header = _header(lines)
    if header == LACP_COLUMNS:
        points = _read_lacp(lines, path, as_rates(fps))
    elif header == ANET_COLUMNS:
        points = _read_anet(lines, path)
    elif len(header) == 3 and header[0] and _is_number(header[1]):
        _count_padded_labels(lines, path)
        points = _read_clicks(lines, path)
    else:
        raise InputError("unrecognised point-label layout: expected the LACP header "
                         f"{','.join(LACP_COLUMNS)!r}, the ActivityNet derived header, or "
                         "SF-Net 'video,time_s,Class' lines", file=path, field="header")
    if not points:
        raise InputError("no point labels in the file", file=path)
    if classes is not None:  # the vocabulary says which name each index is
        return apply_vocabulary(points, classes, path)
    _check_agreement(points, path)
    return points


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def points_by_video(points: Sequence[PointLabel]) -> dict[str, list[PointLabel]]:
    """Group points by video, each video's points sorted by time (seconds)."""
    grouped: dict[str, list[PointLabel]] = {}
    for point in points:
        grouped.setdefault(point.video, []).append(point)
    return {video: sorted(items, key=lambda p: p.time_s) for video, items in grouped.items()}
