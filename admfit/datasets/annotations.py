"""Ground-truth action instances from ActivityNet-style annotation JSON.

One loader reads the three layouts met in practice (all ``{"database": {VIDEO: {...}}}``):

* THUMOS'14 ``gt.json`` (LACP): ``subset`` "train"/"test", segment times are seconds stored
  as *strings* ("18.6"), no duration, no fps, no label index.
* THUMOS'14 ``gt_full.json`` (HR-Pro): ``subset`` "Validation"/"Test", ``duration`` (s),
  ``fps``, segments as float seconds, ``label_id`` 0..19.
* ActivityNet v1.2 (official JSON, BackTAL copy): ``subset`` "training"/"validation"/
  "testing", ``duration`` (s), segments as float seconds, class index in ``idx``.

Every time here is in **seconds**. Annotations that end after ``duration`` are kept as
written (5 THUMOS'14 videos, 185 ActivityNet-1.2 instances): the official evaluation neither
clips nor drops them (docs/spec.md section 2), so neither does admfit.
"""
from __future__ import annotations

import json
import warnings
from itertools import chain
from pathlib import Path
from typing import Any, Mapping

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from admfit.errors import InputError, Notice
from admfit.json_columns import (BadValue, field, float_column, index_column, optional_field, read_json,
                                 segment_columns, string_column)

# Test videos with broken THUMOS'14 annotations; LACP, HR-Pro and POTLoc drop them (gt.json lacks them).
THUMOS14_BROKEN_TEST_VIDEOS = ("video_test_0000270", "video_test_0001292", "video_test_0001496")

# Alias -> subset names tried in order, after an exact (case-insensitive) match failed.
# THUMOS'14 trains on its "Validation" set and tests on "Test"; ActivityNet trains on
# "training" and is evaluated on "validation" ("testing" has no public labels).
SUBSET_ALIASES: dict[str, tuple[str, ...]] = {
    "train": ("train", "training", "validation"),
    "test": ("test", "validation"),
}


class Instance(BaseModel):
    """One labelled action segment, times in seconds. ``start_s == end_s`` is allowed
    (ActivityNet-1.2 has 7 zero-length instances)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    label: str = Field(min_length=1)
    label_id: int | None = Field(default=None, ge=0)
    start_s: float = Field(ge=0, allow_inf_nan=False, description="segment start, seconds")
    end_s: float = Field(ge=0, allow_inf_nan=False, description="segment end, seconds")

    @model_validator(mode="after")
    def _ordered(self) -> "Instance":
        if self.end_s < self.start_s:
            raise ValueError(f"segment end {self.end_s} s is before its start {self.start_s} s")
        return self

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


class VideoAnnotation(BaseModel):
    """All instances of one video. ``subset`` is kept as written in the file."""

    model_config = ConfigDict(extra="forbid")

    video: str = Field(min_length=1)
    subset: str
    duration_s: float | None = Field(default=None, gt=0, allow_inf_nan=False, description="seconds")
    fps: float | None = Field(default=None, gt=0, allow_inf_nan=False, description="native frames/second")
    instances: list[Instance]


_INSTANCES = TypeAdapter(list[Instance])
_VIDEOS = TypeAdapter(list[VideoAnnotation])


# --- reading the file: checked as columns, then the models built in one call --------------

def _video_fields(path: Path, video: str, raw: Any) -> tuple[str, list]:
    """(subset, annotations) of one video record."""
    if not video:
        raise InputError("a video without a name", file=path, video=video, field="database")
    if not isinstance(raw, dict):
        raise InputError("expected an object with 'subset' and 'annotations'", file=path, video=video)
    if "subset" not in raw:
        raise InputError("field required", file=path, video=video, field="subset")
    if not isinstance(raw["subset"], str):
        raise InputError(f"expected a string, got {raw['subset']!r}", file=path, video=video, field="subset")
    annotations = raw.get("annotations", [])
    if not isinstance(annotations, list):
        raise InputError("expected an array of annotations", file=path, video=video, field="annotations")
    return raw["subset"], annotations


def _positive_column(path: Path, videos: list[str], raws: list[dict], name: str) -> list[float | None]:
    """Every video's ``name`` (duration, fps): a number > 0 ("29.97" read as 29.97), or None where absent."""
    try:
        values = float_column([raw.get(name) for raw in raws], name, missing_ok=True)
    except BadValue as error:
        raise InputError(error.message, file=path, video=videos[error.row], field=name) from None
    bad = np.flatnonzero(values <= 0)
    if bad.size:
        row = int(bad[0])
        raise InputError(f"must be greater than 0, got {raws[row][name]!r}", file=path, video=videos[row], field=name)
    return [None if value != value else value for value in values.tolist()]  # NaN (absent) -> None


def _instance_columns(entries: list) -> tuple[list, list, list, list]:
    """label, label_id (None where absent), start_s, end_s of every annotation, as Python lists.

    BadValue at the first bad one: ``part`` is the field inside the annotation.
    """
    label = string_column(field(entries, "label"), "label")
    start, end = segment_columns(field(entries, "segment"))
    label_id = index_column(optional_field(entries, "label_id"), "label_id")
    idx = index_column(optional_field(entries, "idx"), "idx")
    label_id = np.where(label_id >= 0, label_id, idx)  # HR-Pro's label_id, else ActivityNet's idx
    for bad, message in ((np.flatnonzero((start < 0) | (end < 0)), "segment times must be >= 0 s"),
                         (np.flatnonzero(end < start), "segment end is before its start")):
        if bad.size:
            row = int(bad[0])
            raise BadValue(row, f"{message}: [{start[row]}, {end[row]}]", "segment")
    ids = [None if number < 0 else number for number in label_id.tolist()]
    return label.tolist(), ids, start.tolist(), end.tolist()


def _records(path: Path, database: dict) -> dict[str, VideoAnnotation]:
    videos = [str(video) for video in database]
    raws = list(database.values())
    fields = [_video_fields(path, video, raw) for video, raw in zip(videos, raws)]
    durations, fps = _positive_column(path, videos, raws, "duration"), _positive_column(path, videos, raws, "fps")
    counts = [len(annotations) for _, annotations in fields]
    try:
        columns = _instance_columns(list(chain.from_iterable(annotations for _, annotations in fields)))
    except BadValue as error:
        video, number = _owner(videos, counts, error.row)
        raise InputError(error.message, file=path, video=video,
                         field=f"annotations.{number}" + (f".{error.part}" if error.part else "")) from None
    # Every value is checked above; pydantic-core builds the models in one call (faster than one
    # model_construct per record), and cannot fail.
    instances = _INSTANCES.validate_python([{"label": label, "label_id": label_id, "start_s": start, "end_s": end}
                                            for label, label_id, start, end in zip(*columns)])
    bounds = np.concatenate([[0], np.cumsum(counts)]).tolist()
    return dict(zip(videos, _VIDEOS.validate_python([
        {"video": video, "subset": subset, "duration_s": duration, "fps": rate, "instances": instances[lo:hi]}
        for video, (subset, _), duration, rate, lo, hi in zip(videos, fields, durations, fps, bounds, bounds[1:])])))


def _owner(videos: list[str], counts: list[int], row: int) -> tuple[str, int]:
    """(video, annotation number in it) of the ``row``-th annotation of the file."""
    for video, count in zip(videos, counts):
        if row < count:
            return video, row
        row -= count
    raise IndexError(row)


def resolve_subset(requested: str, available: set[str], *, file=None) -> str:
    """The subset name, as written in the file, that ``requested`` selects.

    An exact match wins. Otherwise a case-insensitive match, then the aliases in ``SUBSET_ALIASES``
    ("train" -> train/training/Validation, "test" -> test/validation) are tried in order, and the choice is
    announced with an ``admfit.errors.Notice`` (``note: subset 'test' read as 'Test'``), so that a file
    without a real test subset does not pass silently. Raises ValueError if nothing matches.
    """
    if requested in available:
        return requested
    by_lower = {name.lower(): name for name in available}
    wanted = requested.lower()
    for candidate in (wanted, *SUBSET_ALIASES.get(wanted, ())):
        if candidate in by_lower:
            chosen = by_lower[candidate]
            where = f" in {file}" if file is not None else ""
            warnings.warn(Notice(f"subset {requested!r} read as {chosen!r}{where}"), stacklevel=2)
            return chosen
    raise ValueError(f"no subset {requested!r}; the file has {', '.join(sorted(available))}")


def load_annotations(path, *, subset: str | None = None) -> dict[str, VideoAnnotation]:
    """Read an ActivityNet-style annotation JSON into ``{video: VideoAnnotation}`` (seconds).

    ``subset`` selects videos case-insensitively, with the aliases "train" and "test"
    (see ``resolve_subset``); None keeps every video. Any malformed entry raises
    InputError naming the file, video and field: nothing is dropped silently.
    """
    path = Path(path)
    document = read_json(path, "an annotation JSON file")
    if not isinstance(document, dict) or not isinstance(document.get("database"), dict):
        raise InputError("expected a JSON object with a 'database' object of videos",
                         file=path, field="database")
    videos = _records(path, document["database"])
    if subset is None:
        return videos
    try:
        chosen = resolve_subset(subset, {v.subset for v in videos.values()}, file=path)
    except ValueError as error:
        raise InputError(str(error), file=path, field="subset") from None
    return {video: record for video, record in videos.items() if record.subset == chosen}


def class_names(annotations: Mapping[str, VideoAnnotation]) -> list[str]:
    """Sorted distinct labels; on THUMOS'14 and ActivityNet this equals label_id order."""
    return sorted({inst.label for record in annotations.values() for inst in record.instances})


def class_index(annotations: Mapping[str, VideoAnnotation]) -> dict[str, int]:
    """``{label: label_id}``: the file's own ids where every instance has one, else sorted order."""
    ids: dict[str, int] = {}
    for record in annotations.values():
        for inst in record.instances:
            if inst.label_id is None:
                return {name: number for number, name in enumerate(class_names(annotations))}
            ids.setdefault(inst.label, inst.label_id)
    return ids


def _shipped(name: str) -> Path:
    from admfit.data import data_path

    return data_path("thumos14", name)


def thumos14_fps() -> dict[str, float]:
    """Native fps of each THUMOS'14 video, from the shipped LACP ``fps_dict.json``."""
    path = _shipped("fps_dict.json")
    with open(path, encoding="utf-8") as handle:
        table = json.load(handle)
    return {str(video): float(fps) for video, fps in table.items()}


def thumos14(subset: str | None = None) -> dict[str, VideoAnnotation]:
    """The shipped THUMOS'14 ground truth: HR-Pro ``gt_full.json`` (durations, label_id),
    native fps from LACP ``fps_dict.json``, without the broken test videos 270, 1292 and
    1496 (as gt.json does): 200 train ("Validation") + 210 test videos."""
    with warnings.catch_warnings():  # 'train' -> 'Validation' is this function's documented meaning, not news
        warnings.simplefilter("ignore", Notice)
        annotations = load_annotations(_shipped("gt_full.json"), subset=subset)
    fps = thumos14_fps()
    return {video: record.model_copy(update={"fps": fps.get(video, record.fps)})
            for video, record in annotations.items() if video not in THUMOS14_BROKEN_TEST_VIDEOS}
