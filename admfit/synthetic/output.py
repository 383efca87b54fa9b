"""The folder `admfit synth` writes: which videos, which points, and every file's format.

OUT_DIR/
    annotations.json    ActivityNet style: {"version", "database": {video: {"subset", "duration", "fps",
                        "annotations": [{"label", "label_id", "segment": [start_s, end_s]}]}}} (seconds)
    points.csv          THUMOS'14: LACP format ``class,class_index,start_frame,stop_frame,video_id,point``
                        (frames at the native fps); ActivityNet: the derived format
                        ``class,class_index,video_id,t_start,t_end,fps_inferred,start_frame,stop_frame,
                        point,point_time``
    features/VIDEO.npy  (T, D) float32 per video (ActionFormer layout)          [--mode features|both]
    signals.npz         admfit fit's signals file (admfit.files.signals.save_signals)    [--mode signals|both]
    points.json         admfit fit's points file (admfit.files.points.save_points_json)  [--mode signals|both]
    synth.json          how it was made: options, counts, grid; ``feature_grid`` names the grid of
                        features/ as admfit-torch's ``data.grid`` (``thumos14_actionformer`` or ``spread``),
                        which ``admfit-torch train --features OUT_DIR/features`` reads

Everything is first written to a staging folder inside OUT_DIR and moved into place at the end,
so a failed run leaves no partial output.
"""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from admfit.files.atomic import atomic_open
from admfit.files.video_files import video_file

from ..datasets.points import ANET_VIDEO_PREFIX
from ..errors import InputError
from ..files.label_outputs import SIGNALS_FILE
from .noise import video_rng

# Simulated points follow the real ones (README of the data: relative position mean 0.475-0.496,
# std 0.035-0.059): a Gaussian at the middle with std 0.05 of the length, kept inside the instance.
SIMULATED_POINT_STD = 0.05
MANIFEST = "synth.json"  # how the folder was made; ``feature_grid`` is read by admfit_torch.sources
PRODUCTS = ("annotations.json", "points.csv", "features", SIGNALS_FILE, "points.json", MANIFEST)


def spread_selection(videos: Mapping[str, object], max_videos: int | None) -> dict[str, object]:
    """At most ``max_videos`` videos, evenly spread over the sorted keys (so they differ in class)."""
    keys = sorted(videos)
    if max_videos is not None and max_videos < len(keys):
        picks = np.unique(np.linspace(0, len(keys) - 1, max_videos).round().astype(int))
        keys = [keys[i] for i in picks]
    return {key: videos[key] for key in keys}


def annotation_document(videos: Mapping[str, object], classes: Sequence[str], version: str) -> dict:
    """ActivityNet-style annotation JSON (seconds) of ``videos``; label_id = index in ``classes``."""
    index = {name: i for i, name in enumerate(classes)}
    database = {}
    for key, video in videos.items():
        database[key] = {
            "subset": video.subset, "duration": video.duration_s, "fps": video.fps,
            "annotations": [{"label": inst.label, "label_id": index[inst.label], "segment": [inst.start_s, inst.end_s]}
                            for inst in video.instances]}
    return {"version": version, "database": database}


def _matching_instance(video, point) -> tuple[int | None, float]:
    """(index, distance in seconds) of the instance of the point's class nearest to it: one that
    contains it (distance 0; the nearest-centred if several) if any. (None, inf) without such a class."""
    best, best_key = None, (np.inf, np.inf)
    for row, instance in enumerate(video.instances):
        if instance.label != point.label:
            continue
        outside = max(instance.start_s - point.time_s, point.time_s - instance.end_s, 0.0)
        key = (outside, abs((instance.start_s + instance.end_s) / 2 - point.time_s))
        if key < best_key:
            best, best_key = row, key
    return best, best_key[0]


def simulated_points(key: str, video, covered: set[int], rng: np.random.Generator, point_type):
    """A point for each instance of ``video`` whose index is not in ``covered``, near its middle."""
    points = []
    for row, instance in enumerate(video.instances):
        if row in covered:
            continue
        where = float(np.clip(rng.normal(0.5, SIMULATED_POINT_STD), 0.0, 1.0))
        points.append(point_type(video=key, label=instance.label, label_id=instance.label_id,
                                 time_s=instance.start_s + where * (instance.end_s - instance.start_s)))
    return points


def select_points(videos: Mapping[str, object], real_points: Sequence, *, simulate_missing: bool, seed: int,
                  point_type) -> tuple[list[tuple[object, object]], int]:
    """((point, its instance) pairs for ``videos``, number of real points outside their instance).

    Each real point goes with the nearest instance of its class (the one around it, normally; the
    shipped ActivityNet file has a point at 0.0 s for an instance at [0.01, 0.02] s, hence the
    count). A point whose class has no instance in its video is an error (the files disagree).
    Instances lacking a real point get a simulated one only when ``simulate_missing``.
    """
    by_video: dict[str, list] = {}
    for point in real_points:
        if point.video in videos:
            by_video.setdefault(point.video, []).append(point)
    pairs, outside = [], 0
    for key, video in videos.items():
        covered = set()
        for point in by_video.get(key, []):
            row, distance_s = _matching_instance(video, point)
            if row is None:
                raise InputError(f"point at {point.time_s:.3f} s: the video has no instance of class {point.label!r}",
                                 video=key, field="points")
            outside += distance_s > 0
            covered.add(row)
            pairs.append((point, video.instances[row]))
        if simulate_missing:
            rng = video_rng(seed, f"points:{key}")
            for point in simulated_points(key, video, covered, rng, point_type):
                pairs.append((point, video.instances[_matching_instance(video, point)[0]]))
    return pairs, outside


def lacp_points_csv(pairs, videos: Mapping[str, object], classes: Sequence[str]) -> str:
    """LACP/SF-Net point CSV: integer frame indices at each video's native fps."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["class", "class_index", "start_frame", "stop_frame", "video_id", "point"])
    for point, instance in pairs:
        fps = videos[point.video].fps
        frame = point.frame if point.frame is not None else point.time_s * fps
        writer.writerow([point.label, classes.index(point.label), round(instance.start_s * fps),
                         round(instance.end_s * fps), point.video, int(round(frame))])
    return buffer.getvalue()


def anet_points_csv(pairs, videos: Mapping[str, object], classes: Sequence[str]) -> str:
    """The derived ActivityNet point CSV (times in seconds; frames at the annotation's fps, 30 if it has none).

    Video ids get the file's ``v_`` prefix back (the loader removes it).
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["class", "class_index", "video_id", "t_start", "t_end", "fps_inferred", "start_frame",
                     "stop_frame", "point", "point_time"])
    for point, instance in pairs:
        fps = videos[point.video].fps or 30.0
        frame = int(round(point.time_s * fps))
        writer.writerow([point.label, classes.index(point.label), ANET_VIDEO_PREFIX + point.video, instance.start_s,
                         instance.end_s, fps, round(instance.start_s * fps, 3), round(instance.end_s * fps, 3), frame,
                         round(frame / fps, 4)])
    return buffer.getvalue()


class Staging:
    """A staging folder inside ``out_dir``; :meth:`commit` moves its products into ``out_dir``."""

    def __init__(self, out_dir: Path, *, overwrite: bool):
        self.out_dir = out_dir
        if out_dir.exists() and not out_dir.is_dir():
            raise InputError("exists and is not a folder", file=str(out_dir), field="out_dir")
        clashes = [name for name in PRODUCTS if (out_dir / name).exists()]
        if clashes and not overwrite:
            raise InputError(f"already holds {', '.join(clashes)} (use --overwrite to replace)", file=str(out_dir),
                             field="out_dir")
        self.created = not out_dir.exists()
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
            self.path = Path(tempfile.mkdtemp(prefix=".synth-staging-", dir=out_dir))
        except OSError as error:
            raise InputError(f"cannot write here ({error.strerror})", file=str(out_dir), field="out_dir") from None

    def __enter__(self) -> "Staging":
        return self

    def __exit__(self, kind, value, traceback) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        if kind is not None and self.created:
            shutil.rmtree(self.out_dir, ignore_errors=True)  # it was made by this run and holds nothing else

    def commit(self) -> None:
        for entry in sorted(self.path.iterdir()):
            target = self.out_dir / entry.name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            os.replace(entry, target)


def write_text(path: Path, text: str) -> None:
    with atomic_open(path, "w") as handle:
        handle.write(text)


def write_json(path: Path, document: dict) -> None:
    write_text(path, json.dumps(document, indent=1) + "\n")


def write_feature_file(folder: Path, key: str, features: np.ndarray) -> None:
    with atomic_open(video_file(folder, key, ".npy"), "wb") as handle:
        np.save(handle, features, allow_pickle=False)
