"""Annotation JSON files read as checked columns: the reading half of ``admfit.datasets.annotations``.

``load_annotations`` builds ``VideoAnnotation`` objects (pydantic) on top of these columns; the
evaluator (``admfit eval``) takes the columns as they are, so that it imports no pydantic and makes
no object per instance. Both see the same checks, the same errors (file, video, field) and the same
values. The layouts read are those of ``admfit.datasets.annotations``; times are seconds.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np

from admfit.errors import InputError, Notice
from admfit.files.json_columns import (
    BadValue,
    collector_paused,
    field,
    float_column,
    index_column,
    optional_field,
    read_json,
    segment_columns,
    string_column,
)

# Alias -> subset names tried in order, after an exact (case-insensitive) match failed.
# THUMOS'14 trains on its "Validation" set and tests on "Test"; ActivityNet trains on
# "training" and is evaluated on "validation" ("testing" has no public labels).
SUBSET_ALIASES: dict[str, tuple[str, ...]] = {
    "train": ("train", "training", "validation"),
    "test": ("test", "validation"),
}


@dataclass(frozen=True)
class AnnotationColumns:
    """An annotation file's videos (file order) and their instances (file order, video after video).

    Per video: ``videos``, ``subsets`` (as written), ``duration_s`` and ``fps`` (None where absent),
    ``counts`` (instances). Per instance: ``label`` (str array), ``label_id`` (int64, -1 where absent:
    HR-Pro's ``label_id``, else ActivityNet's ``idx``), ``start_s``, ``end_s`` (float64 seconds).
    ``version``: the file's top-level ``"version"`` (None where absent).
    """

    path: Path
    version: Any
    videos: list[str]
    subsets: list[str]
    duration_s: list[float | None]
    fps: list[float | None]
    counts: np.ndarray
    label: np.ndarray
    label_id: np.ndarray
    start_s: np.ndarray
    end_s: np.ndarray

    def select(self, subset: str | None) -> "AnnotationColumns":
        """The videos of ``subset`` (``resolve_subset``: case-insensitive, with aliases), or all for None.

        InputError (field ``subset``) when the file has no such subset.
        """
        if subset is None:
            return self
        try:
            chosen = resolve_subset(subset, set(self.subsets), file=self.path, stacklevel=3)
        except ValueError as error:
            raise InputError(str(error), file=self.path, field="subset") from None
        keep = [name == chosen for name in self.subsets]
        rows = np.repeat(np.array(keep, dtype=bool), self.counts)

        def kept(values: list) -> list:
            return [value for value, wanted in zip(values, keep) if wanted]

        return replace(self, videos=kept(self.videos), subsets=kept(self.subsets),
                       duration_s=kept(self.duration_s), fps=kept(self.fps), counts=self.counts[np.array(keep, bool)],
                       label=self.label[rows], label_id=self.label_id[rows], start_s=self.start_s[rows],
                       end_s=self.end_s[rows])


def read_annotation_columns(path) -> AnnotationColumns:
    """Every video and instance of an ActivityNet-style annotation JSON, checked.

    Any malformed entry raises InputError naming the file, video and field: nothing is dropped silently.
    """
    path = Path(path)
    with collector_paused():  # the parsed document lives only inside the pause (see collector_paused)
        document = read_json(path, "an annotation JSON file")
        if not isinstance(document, dict) or not isinstance(document.get("database"), dict):
            raise InputError("expected a JSON object with a 'database' object of videos",
                             file=path, field="database")
        return _columns(path, document["database"], document.get("version"))


def _columns(path: Path, database: dict, version: Any) -> AnnotationColumns:
    videos = [str(video) for video in database]
    raws = list(database.values())
    fields = [_video_fields(path, video, raw) for video, raw in zip(videos, raws)]
    durations, fps = _positive_column(path, videos, raws, "duration"), _positive_column(path, videos, raws, "fps")
    counts = [len(annotations) for _, annotations in fields]
    try:
        label, label_id, start, end = _instance_columns(list(chain.from_iterable(a for _, a in fields)))
    except BadValue as error:
        video, number = _owner(videos, counts, error.row)
        raise InputError(error.message, file=path, video=video,
                         field=f"annotations.{number}" + (f".{error.part}" if error.part else "")) from None
    return AnnotationColumns(path, version, videos, [subset for subset, _ in fields], durations, fps,
                             np.array(counts, dtype=np.int64), label, label_id, start, end)


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


def _instance_columns(entries: list) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """label, label_id (-1 where absent), start_s, end_s of every annotation.

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
    return label, label_id, start, end


def _owner(videos: list[str], counts: list[int], row: int) -> tuple[str, int]:
    """(video, annotation number in it) of the ``row``-th annotation of the file."""
    for video, count in zip(videos, counts):
        if row < count:
            return video, row
        row -= count
    raise IndexError(row)


def resolve_subset(requested: str, available: set[str], *, file=None, stacklevel: int = 2) -> str:
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
            warnings.warn(Notice(f"subset {requested!r} read as {chosen!r}{where}"), stacklevel=stacklevel)
            return chosen
    raise ValueError(f"no subset {requested!r}; the file has {', '.join(sorted(available))}")
