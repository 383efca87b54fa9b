"""The shipped datasets by name, and the pieces of a real-data run that are not one file's business: which
annotation, point and fps files a name means, and the class vocabulary.

Names: ``thumos14`` (annotations: gt_full.json with fps_dict.json's native fps, without the 3 broken test videos;
points: LACP's point_gaussian.csv; fps: fps_dict.json; classes: the 20 in label_id order) and ``anet12`` (points:
the HR-Pro-derived CSV; classes: the 100 in the official idx order; its annotation JSON is not shipped, for want
of a licence: give your own copy).

The class vocabulary comes from the dataset, never from the videos at hand: a file filtered to a few videos
keeps THUMOS'14's 20 classes, so that two runs' checkpoints agree on class indices (``vocabulary``).
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Mapping

from admfit.datasets.annotations import (
    VideoAnnotation,
    class_names,
    load_annotations,
    resolve_subset,
    thumos14,
    thumos14_fps,
)
from admfit.errors import InputError
from admfit.files.require import require_file

SHIPPED = ("thumos14", "anet12")
_POINT_FILES = {"thumos14": "point_gaussian.csv", "anet12": "point_gaussian_from_hrpro_anet13.csv"}


def _shipped_file(dataset: str, name: str) -> Path:
    from admfit.data import data_path

    return data_path(dataset, name)


def is_shipped(source) -> bool:
    """True when ``source`` names a shipped dataset (and no file or folder of that name exists)."""
    return str(source) in SHIPPED and not Path(str(source)).exists()


def dataset_classes(name: str) -> list[str]:
    """The class names of a shipped dataset, in its own class-id order."""
    return _shipped_file(name, "classes.txt").read_text(encoding="utf-8").splitlines()


def load_class_list(source) -> list[str]:
    """A dataset name, or a text file with one class name per line (blank lines ignored), in class-id order."""
    if is_shipped(source):
        return dataset_classes(str(source))
    path = require_file(source, "classes", expected="a class-list file",
                        missing="no such class-list file (one class name per line, or thumos14 / anet12)")
    names = [line.strip() for line in path.read_text(encoding="utf-8-sig").splitlines() if line.strip()]
    if not names:
        raise InputError("holds no class name", file=str(path), field="classes")
    seen: set[str] = set()
    for number, name in enumerate(names):
        if name in seen:
            raise InputError(f"class {name!r} is listed twice (second time as class {number})", file=str(path),
                             field="classes")
        seen.add(name)
    return names


def points_file(source) -> Path:
    """The shipped point file of a dataset name, else ``source`` as a path."""
    if is_shipped(source):
        return _shipped_file(str(source), _POINT_FILES[str(source)])
    return Path(source)


def load_fps_table(source) -> dict[str, float]:
    """Native fps per video: ``thumos14`` (the shipped fps_dict.json) or a JSON file ``{video: fps}``."""
    if str(source) == "thumos14" and not Path(str(source)).exists():
        return thumos14_fps()
    path = Path(source)
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("no such fps file (a JSON {video: fps}, or thumos14)", file=str(path), field="fps") from None
    except ValueError as error:
        raise InputError(f"not valid JSON ({error})", file=str(path), field="fps") from None
    if not isinstance(table, dict):
        raise InputError("expected a JSON object {video: fps}", file=str(path), field="fps")
    for video, fps in table.items():
        if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not math.isfinite(fps) or fps <= 0:
            raise InputError(f"expected a positive number of frames per second, found {fps!r}", file=str(path),
                             video=str(video), field="fps")
    return {str(video): float(fps) for video, fps in table.items()}


def annotations_file(source) -> Path:
    """The file behind an annotation source (the shipped gt_full.json for ``thumos14``)."""
    if is_shipped(source):
        if str(source) == "anet12":
            raise InputError("the ActivityNet-1.2 annotation JSON is not shipped (no licence): give your own copy "
                             "(admfit/data/PROVENANCE.md says where to get it)", field="annotations")
        return _shipped_file("thumos14", "gt_full.json")
    return Path(source)


def open_annotations(source, *, subset: str | None = None, fps: Mapping[str, float] | None = None
                     ) -> dict[str, VideoAnnotation]:
    """``load_annotations`` of a file or a shipped dataset name (``thumos14``: ``admfit.datasets.thumos14``), with
    each video's fps replaced by ``fps[video]`` where the table has it (LACP's gt.json has no fps at all)."""
    if is_shipped(source):
        path = annotations_file(source)  # refuses anet12
        if subset is not None:  # the note a file of the user's would give
            subset = resolve_subset(subset, {record.subset for record in thumos14().values()}, file=path)
        records = thumos14(subset)
    else:
        records = load_annotations(source, subset=subset)
    if fps:
        records = {video: record.model_copy(update={"fps": fps[video]}) if video in fps else record
                   for video, record in records.items()}
    return records


def vocabulary(annotations: Mapping[str, VideoAnnotation], classes=None, *, file=None) -> list[str]:
    """The class names, in class-id order: ``classes`` (a dataset name or a class-list file) when given; else
    the shipped dataset whose classes hold every label of ``annotations`` (THUMOS'14's 20, ActivityNet-1.2's 100);
    else every label of ``annotations``, sorted. A label outside the vocabulary is an error."""
    labels = set(class_names(annotations))
    if classes is not None:
        names = load_class_list(classes)
        missing = sorted(labels - set(names))
        if missing:
            video = next(v for v, r in annotations.items() if any(i.label == missing[0] for i in r.instances))
            raise InputError(f"class {missing[0]!r} is not in the {len(names)} classes of {classes}",
                             file=None if file is None else str(file), video=video, field="label")
        return names
    for name in SHIPPED:
        names = dataset_classes(name)
        if labels and labels <= set(names):
            return names
    return sorted(labels)
