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
from pathlib import Path
from typing import Mapping

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from admfit.errors import Notice

# The file is read by annotation_columns; its subset rules are part of this module's API.
from .annotation_columns import SUBSET_ALIASES, read_annotation_columns, resolve_subset  # noqa: F401

# Test videos with broken THUMOS'14 annotations; LACP, HR-Pro and POTLoc drop them (gt.json lacks them).
THUMOS14_BROKEN_TEST_VIDEOS = ("video_test_0000270", "video_test_0001292", "video_test_0001496")


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


def load_annotations(path, *, subset: str | None = None) -> dict[str, VideoAnnotation]:
    """Read an ActivityNet-style annotation JSON into ``{video: VideoAnnotation}`` (seconds).

    ``subset`` selects videos case-insensitively, with the aliases "train" and "test"
    (see ``resolve_subset``); None keeps every video. Any malformed entry raises
    InputError naming the file, video and field: nothing is dropped silently.
    """
    columns = read_annotation_columns(path).select(subset)
    # Every value is checked (admfit.datasets.annotation_columns); pydantic-core builds the models in one
    # call (faster than one model_construct per record), and cannot fail.
    ids = [None if number < 0 else number for number in columns.label_id.tolist()]
    instances = _INSTANCES.validate_python([
        {"label": label, "label_id": label_id, "start_s": start, "end_s": end}
        for label, label_id, start, end in zip(columns.label.tolist(), ids, columns.start_s.tolist(),
                                               columns.end_s.tolist())])
    bounds = np.concatenate([[0], np.cumsum(columns.counts)]).tolist()
    return dict(zip(columns.videos, _VIDEOS.validate_python([
        {"video": video, "subset": name, "duration_s": duration, "fps": rate, "instances": instances[lo:hi]}
        for video, name, duration, rate, lo, hi in zip(columns.videos, columns.subsets, columns.duration_s,
                                                       columns.fps, bounds, bounds[1:])])))


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
