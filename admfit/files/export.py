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
``click_segments`` makes such rows of the clicks alone (fixed-width segments), the naive baseline.

fps and durations are the annotation file's (the features' rate, as the user's file gives it): which file is the
pseudo-label file's business (``meta.annotations``, admfit.files.provenance). With ``features`` (a folder of
``VIDEO.npy``, an .npz or HDF5 file, as admfit.datasets.FeatureStore reads them), the videos without features are
left out (a ``Notice`` counts them; a pseudo-labelled one is refused), as the frameworks cannot load them.
"""
from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from admfit.datasets.annotations import VideoAnnotation
from admfit.datasets.shipped import annotations_file as shipped_file
from admfit.datasets.shipped import load_fps_table, open_annotations, vocabulary
from admfit.errors import InputError, Notice
from admfit.files.atomic import atomic_write_text, check_writable
from admfit.files.provenance import export_source
from admfit.files.provenance import timed_fps as recorded_fps
from admfit.files.pseudo_labels import read_pseudo_labels

FRAMEWORKS = ("actionformer", "opentad")
# Video names a note lists before "...".
_NAMED = 3


def _segments(rows: Sequence[dict], file) -> dict[str, list[tuple[float, float, str]]]:
    """Pseudo-labels by video as (start_s, end_s, label); refused when they are not in seconds."""
    by_video: dict[str, list[tuple[float, float, str]]] = {}
    for row in rows:
        if row.get("start_s") is None or row.get("end_s") is None:
            raise InputError("pseudo-labels without times in seconds (the fit had no fps): give the signals an fps "
                             "and fit again", file=file, video=row["video"], field="start_s")
        by_video.setdefault(row["video"], []).append((float(row["start_s"]), float(row["end_s"]), str(row["label"])))
    return by_video


def click_segments(points: Sequence, width_s: float, durations: Mapping[str, float | None] | None = None
                   ) -> list[dict]:
    """Each click (``admfit.datasets.PointLabel``, ``time_s`` in seconds) as a segment of ``width_s`` seconds centred
    on it, cut at 0 and at its video's duration (``durations``, seconds, when known), in the rows
    ``export_annotations`` takes: the naive baseline of a detector trained on the clicks alone."""
    if not width_s > 0 or math.isinf(width_s):
        raise InputError(f"the segment width must be a positive number of seconds, got {width_s!r}",
                         field="width_s")
    durations = durations or {}
    rows = []
    for point in points:
        end = point.time_s + width_s / 2
        if durations.get(point.video) is not None:
            end = min(end, float(durations[point.video]))
        rows.append({"video": point.video, "label": point.label, "start_s": max(point.time_s - width_s / 2, 0.0),
                     "end_s": end})
    return rows


def _timing(record: VideoAnnotation, framework: str, file) -> None:
    if record.fps is None:
        raise InputError(f"{framework} needs each video's fps: give an fps table (--fps thumos14, or a JSON "
                         "{video: fps})", file=file, video=record.video, field="fps")
    if framework == "opentad" and record.duration_s is None:
        raise InputError("opentad needs each video's duration", file=file, video=record.video, field="duration")


def _named(videos: Sequence[str]) -> str:
    return ", ".join(videos[:_NAMED]) + (", ..." if len(videos) > _NAMED else "")


def with_features(annotations: Mapping[str, VideoAnnotation], features, pseudo_videos, *, pseudo_file=None
                  ) -> dict[str, VideoAnnotation]:
    """The videos of ``annotations`` that have features in ``features`` (a ``Notice`` counts the others); a video
    of ``pseudo_videos`` without features is refused."""
    from admfit.datasets import FeatureStore
    from admfit.datasets.checks import feature_file

    with FeatureStore(features) as store:
        missing = [video for video in annotations if video not in store]
    absent = set(missing)
    lacking = next((video for video in pseudo_videos if video in absent), None)
    if lacking is not None:
        raise InputError(f"has pseudo-labels but no features (pseudo-labels {pseudo_file})",
                         file=feature_file(features, lacking), video=lacking, field="features")
    if missing:
        warnings.warn(Notice(f"{len(missing)} of the {len(annotations)} videos of the annotation file have no "
                             f"features in {features} and are left out: {_named(missing)}"), stacklevel=3)
    return {video: record for video, record in annotations.items() if video not in absent}


def _check_timing(pseudo: Sequence[str], annotations: Mapping[str, VideoAnnotation], timed_fps) -> None:
    """A Notice when pseudo-labels were timed at another fps (frames per second; one number or {video: fps}, as
    admfit.files.provenance records it) than the annotation file gives their video: the exported fps is the file's."""
    if timed_fps is None:
        return
    differ = []
    for video in pseudo:
        timed = timed_fps if isinstance(timed_fps, (int, float)) else timed_fps.get(video)
        given = annotations[video].fps
        if timed is not None and given is not None and not math.isclose(timed, given, rel_tol=1e-6):
            differ.append((video, timed, given))
    if differ:
        video, timed, given = differ[0]
        warnings.warn(Notice(f"the pseudo-labels of {len(differ)} videos were timed at another fps than the "
                             f"annotation file gives (video {video!r}: {timed:g} fps, the file {given:g}); the file's "
                             "is written (--fps changes it)"), stacklevel=3)


def export_annotations(rows: Sequence[dict], annotations: Mapping[str, VideoAnnotation], classes: Sequence[str],
                       framework: str, *, pseudo_file=None, annotations_file=None, features=None,
                       timed_fps=None) -> dict:
    """The annotation document of ``framework`` (module docstring); ``rows`` as ``read_pseudo_labels`` gives them;
    ``features``: only the videos with features are written; ``timed_fps``: the fps the pseudo-labels were timed
    at (admfit.files.provenance.timed_fps), compared with the annotation file's."""
    if framework not in FRAMEWORKS:
        raise InputError(f"unknown framework {framework!r}; known: {', '.join(FRAMEWORKS)}", field="to")
    pseudo = _segments(rows, pseudo_file)
    stranger = next((video for video in pseudo if video not in annotations), None)
    if stranger is not None:
        raise InputError(f"has pseudo-labels but is not in the annotation file {annotations_file}", file=pseudo_file,
                         video=stranger, field="video")
    if features is not None:
        annotations = with_features(annotations, features, list(pseudo), pseudo_file=pseudo_file)
    _check_timing(list(pseudo), annotations, timed_fps)
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


@dataclass(frozen=True)
class Exported:
    """What ``export_file`` wrote: the annotation document ``path`` of ``videos`` videos (``pseudo_videos`` of them
    with their ``pseudo_labels`` pseudo-labels) and ``classes`` classes; ``class_map``: OpenTAD's, else None."""

    path: Path
    class_map: Path | None
    pseudo_labels: int
    pseudo_videos: int
    videos: int
    classes: int


def class_map_path(output, class_map=None) -> Path:
    """Where OpenTAD's class map goes: ``class_map`` when given, else beside ``output``, ``STEM_category_idx.txt``."""
    return Path(class_map) if class_map is not None else Path(output).with_name(f"{Path(output).stem}_category_idx.txt")


def _vocabulary(records, classes, meta: Mapping, annotations, pseudo_file) -> list[str]:
    """The dataset's class names (``classes``: thumos14, anet12 or a file; default: the dataset's), which must be
    those the pseudo-labels were fitted with when they record theirs."""
    names = vocabulary(records, classes, file=shipped_file(annotations))
    if meta.get("classes") and list(meta["classes"]) != names:
        raise InputError(f"the pseudo-labels hold {len(meta['classes'])} classes, the dataset's vocabulary "
                         f"{len(names)} other ones (--classes)", file=str(pseudo_file), field="meta.classes")
    return names


def export_file(pseudo_file, framework: str, output, *, annotations=None, classes=None, fps=None, class_map=None,
                features=None) -> Exported:
    """``admfit export``: the pseudo-labels of ``pseudo_file`` as ``framework``'s annotation file at ``output`` (and
    OpenTAD's class map, ``class_map_path``). ``annotations``: the annotation file or thumos14 (default: the one the
    pseudo-labels record, refused if changed: admfit.files.provenance.export_source); ``fps``: native fps per video
    (thumos14 or a JSON {video: fps}; default: the annotation file's); ``features``: only the videos with features.
    Every output is checked writable first; nothing is written unless the document is complete."""
    check_writable(output)
    map_path = class_map_path(output, class_map) if framework == "opentad" else None
    if map_path is not None:
        check_writable(map_path, field="class_map")
    rows, meta = read_pseudo_labels(pseudo_file)
    annotations = export_source(meta, annotations, pseudo_file)
    records = open_annotations(annotations, fps=load_fps_table(fps) if fps is not None else None)
    names = _vocabulary(records, classes, meta, annotations, pseudo_file)
    document = export_annotations(rows, records, names, framework, pseudo_file=str(pseudo_file),
                                  annotations_file=str(shipped_file(annotations)), features=features,
                                  timed_fps=recorded_fps(meta) if fps is None else None)
    if map_path is not None:
        atomic_write_text(map_path, "".join(f"{name}\n" for name in names), field="class_map")
    atomic_write_text(output, json.dumps(document), field="output")
    return Exported(Path(output), map_path, len(rows), len({row["video"] for row in rows}), len(document["database"]),
                    len(names))
