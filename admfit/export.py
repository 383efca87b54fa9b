"""Pseudo-labels as the annotation file another detector trains on (``admfit export``).

A pseudo-label file (``admfit fit`` or the detector's pseudo stage) is a results file, not an annotation file. This
writes the ground-truth annotation file with the **training videos' annotations replaced by their pseudo-labels**
(the videos of the pseudo-label file), and every other video as the annotations give it (the test videos, which the
framework evaluates on). A video of the training subsets without pseudo-labels is left out (a ``Notice`` counts
them): keeping its ground truth would train on full labels.

* ``actionformer`` (ActionFormer's ``libs/datasets/thumos14.py`` / ``anet.py``): ``{"database": {VIDEO: {"subset",
  "duration" (s), "fps", "annotations": [{"segment": [start_s, end_s], "label", "label_id"}]}}}``; its loader maps
  ``label -> label_id``, selects videos by ``subset.lower()`` and turns seconds into features with ``fps``.
* ``opentad`` (OpenTAD's ``opentad/datasets/thumos.py``): ``{"database": {VIDEO: {"subset": "training" |
  "validation", "duration" (s), "frame" (frames in the video), "annotations": [{"segment": [start_s, end_s],
  "label"}]}}}`` and a class map, one name per line, whose line number is the class id
  (``class_map.index(label)``).

Class ids are the vocabulary's (admfit.datasets.shipped.vocabulary): THUMOS'14's 20 in label_id order, etc.
"""
from __future__ import annotations

import warnings
from typing import Mapping, Sequence

from admfit.datasets.annotations import VideoAnnotation
from admfit.errors import InputError, Notice

FRAMEWORKS = ("actionformer", "opentad")


def _segments(rows: Sequence[dict], file) -> dict[str, list[tuple[float, float, str]]]:
    """Pseudo-labels by video as (start_s, end_s, label); refused when they are not in seconds."""
    by_video: dict[str, list[tuple[float, float, str]]] = {}
    for row in rows:
        if row.get("start_s") is None or row.get("end_s") is None:
            raise InputError("pseudo-labels without times in seconds (the fit had no fps): give the signals an fps "
                             "and fit again", file=file, video=row["video"], field="start_s")
        by_video.setdefault(row["video"], []).append((float(row["start_s"]), float(row["end_s"]), str(row["label"])))
    return by_video


def _timing(record: VideoAnnotation, framework: str, file) -> None:
    if record.fps is None:
        raise InputError(f"{framework} needs each video's fps: give an fps table (--fps thumos14, or a JSON "
                         "{video: fps})", file=file, video=record.video, field="fps")
    if framework == "opentad" and record.duration_s is None:
        raise InputError("opentad needs each video's duration", file=file, video=record.video, field="duration")


def export_annotations(rows: Sequence[dict], annotations: Mapping[str, VideoAnnotation], classes: Sequence[str],
                       framework: str, *, pseudo_file=None, annotations_file=None) -> dict:
    """The annotation document of ``framework`` (module docstring); ``rows`` as ``read_pseudo_labels`` gives them."""
    if framework not in FRAMEWORKS:
        raise InputError(f"unknown framework {framework!r}; known: {', '.join(FRAMEWORKS)}", field="to")
    pseudo = _segments(rows, pseudo_file)
    stranger = next((video for video in pseudo if video not in annotations), None)
    if stranger is not None:
        raise InputError(f"has pseudo-labels but is not in the annotation file {annotations_file}", file=pseudo_file,
                         video=stranger, field="video")
    ids = {name: index for index, name in enumerate(classes)}
    training = {annotations[video].subset for video in pseudo}
    database, left_out = {}, []
    for video, record in annotations.items():
        if record.subset in training and video not in pseudo:
            left_out.append(video)
            continue
        _timing(record, framework, annotations_file)
        segments = pseudo.get(video) or [(i.start_s, i.end_s, i.label) for i in record.instances]
        for _, _, label in segments:
            if label not in ids:
                raise InputError(f"class {label!r} is not among the {len(classes)} classes", video=video,
                                 file=pseudo_file if video in pseudo else annotations_file, field="label")
        database[video] = (_actionformer if framework == "actionformer" else _opentad)(
            record, segments, ids, video in pseudo)
    if left_out:
        warnings.warn(Notice(f"{len(left_out)} videos of the training subset {sorted(training)[0]!r} have no "
                             "pseudo-labels and are left out"), stacklevel=2)
    return {"version": f"admfit-export-{framework}", "database": database}


def _actionformer(record: VideoAnnotation, segments, ids: Mapping[str, int], trained: bool) -> dict:
    entry = {"subset": record.subset, "fps": record.fps,
             "annotations": [{"segment": [start, end], "label": label, "label_id": ids[label]}
                             for start, end, label in segments]}
    if record.duration_s is not None:
        entry["duration"] = record.duration_s
    return entry


def _opentad(record: VideoAnnotation, segments, ids: Mapping[str, int], trained: bool) -> dict:
    return {"subset": "training" if trained else "validation", "duration": record.duration_s,
            "frame": int(round(record.duration_s * record.fps)),
            "annotations": [{"segment": [start, end], "label": label} for start, end, label in segments]}
