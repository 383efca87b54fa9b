"""Which annotation file a pseudo-label file was made with: its ``meta.annotations`` record.

The producers that know their annotation file (``admfit fit --annotations``, ``admfit label --annotations``, the
pseudo stage of ``admfit-torch train``) write :func:`annotation_meta` into the meta; ``admfit export`` reopens the
recorded file (:func:`export_source`) and refuses when the record is absent, the file gone or its content changed
(``admfit.files.fingerprint``): the annotation document it writes must hold the user's videos, fps and durations, never
those of another file, shipped or not (docs/formats.md, "Training another detector on the pseudo-labels").

The record::

    {"path": absolute path of the annotation file,
     "dataset": "thumos14"                           (only when the shipped dataset was named),
     "fingerprint": {"size": bytes, "sha256": ...},
     "grid": {"fps": frames per second (one number, or {video: fps}), "stride": frames, "num_frames": frames,
              "preset": name of the detector's grid preset (the pseudo stage only)}}

A grid field that differs between videos is written per video (``{video: value}``).
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Mapping

from admfit.errors import InputError, Notice
from admfit.files.fingerprint import fingerprint, same_content
from admfit.files.require import require_file
from admfit.grid import SnippetGrid

FIELD = "meta.annotations"
_GRID_FIELDS = ("fps", "stride", "num_frames")


def grid_record(grids: Mapping[str, SnippetGrid | None], preset: str | None = None) -> dict:
    """The snippet grids of the pseudo-labelled videos in a few numbers (module docstring); videos without a grid
    (no fps known) are left out."""
    known = {video: grid for video, grid in grids.items() if grid is not None}
    record: dict = {} if preset is None else {"preset": preset}
    for name in _GRID_FIELDS:
        values = {video: float(getattr(grid, name)) for video, grid in known.items()}
        distinct = set(values.values())
        if distinct:
            record[name] = distinct.pop() if len(distinct) == 1 else values
    return record


def _annotation_path(source) -> Path:
    from admfit.datasets.shipped import annotations_file

    return require_file(annotations_file(source), "annotations", missing="no such annotation file")


def _content(path: Path) -> dict:
    print_ = fingerprint(path)
    return {"size": print_["size"], "sha256": print_["sha256"]}


def annotation_meta(source, grids: Mapping[str, SnippetGrid | None] | None = None, *,
                    preset: str | None = None) -> dict:
    """``{"annotations": record}`` for a pseudo-label file's meta (module docstring); ``{}`` when ``source``
    (a file or a shipped dataset name) is None."""
    from admfit.datasets.shipped import is_shipped

    if source is None:
        return {}
    path = _annotation_path(source)
    record = {"path": str(path.resolve())}
    if is_shipped(source):
        record["dataset"] = str(source)
    record["fingerprint"] = _content(path)
    record["grid"] = grid_record(grids or {}, preset)
    return {"annotations": record}


def _recorded(meta: Mapping, pseudo_file) -> dict | None:
    record = meta.get("annotations")
    if record is None:
        return None
    if not (isinstance(record, dict) and isinstance(record.get("path"), str)
            and isinstance(record.get("fingerprint"), dict)):
        raise InputError("is not an annotation record ({path, fingerprint, grid})", file=str(pseudo_file),
                         field=FIELD)
    return record


def export_source(meta: Mapping, given, pseudo_file) -> str:
    """The annotation source ``admfit export`` writes from: ``given`` (``--annotations``) when there is one, with a
    Notice when its content differs from the recorded file's; else the recorded file, refused (InputError on
    ``meta.annotations``) when there is no record, the file is gone or its content changed."""
    record = _recorded(meta, pseudo_file)
    if given is not None:
        if record is not None and not same_content(record["fingerprint"], _content(_annotation_path(given))):
            warnings.warn(Notice(f"the pseudo-labels were made with the annotation file {record['path']} ({FIELD}); "
                                 f"exporting with {given} as --annotations says"), stacklevel=2)
        return str(given)
    if record is None:
        raise InputError("records no annotation file (made without --annotations, or a CSV file, which has no "
                         "meta): give --annotations FILE, the annotation JSON of these videos", file=str(pseudo_file),
                         field=FIELD)
    path = Path(record["path"])
    if not path.is_file():
        raise InputError(f"its annotation file {path} is gone: give --annotations FILE", file=str(pseudo_file),
                         field=FIELD)
    now = _content(path)
    if not same_content(record["fingerprint"], now):
        raise InputError(f"its annotation file {path} has changed since the pseudo-labels were made (sha256 "
                         f"{str(record['fingerprint'].get('sha256'))[:12]} then, {now['sha256'][:12]} now): give "
                         "--annotations FILE to export with it as it is", file=str(pseudo_file), field=FIELD)
    return _shipped_name(record.get("dataset"), path) or str(path)


def _shipped_name(dataset, path: Path) -> str | None:
    """The shipped dataset's name when the record names one whose file is ``path`` (it is then read as
    ``admfit.datasets.shipped.open_annotations`` reads it, with the shipped fps table), else None."""
    from admfit.datasets.shipped import annotations_file, is_shipped

    if not (isinstance(dataset, str) and is_shipped(dataset)):
        return None
    try:
        shipped = annotations_file(dataset)
    except InputError:  # a dataset whose annotation file is not shipped (anet12)
        return None
    return dataset if shipped.resolve() == path.resolve() else None


def timed_fps(meta: Mapping) -> dict[str, float] | float | None:
    """The fps (frames per second) the pseudo-labels were timed at, as recorded: one number, ``{video: fps}``, or
    None when unrecorded."""
    record = meta.get("annotations")
    grid = record.get("grid") if isinstance(record, dict) else None
    fps = grid.get("fps") if isinstance(grid, dict) else None
    if isinstance(fps, dict):
        return {str(video): float(rate) for video, rate in fps.items() if _number(rate)}
    return float(fps) if _number(fps) else None


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
