"""Files of `admfit fit`: signals.npz and points.json in, pseudo_labels.json / .csv out.

Formats (docs/formats.md has the full description):

signals.npz
    ``VIDEO/probs`` (T_l, C) class probabilities in [0, 1]; ``VIDEO/bg_probs`` (T,) background
    probabilities or ``VIDEO/background`` (T,) bool; optional ``VIDEO/fps``. Optional global
    ``classes`` (C,) names, ``fps``, ``stride`` and ``num_frames`` (frames). A file holding one
    video may drop the ``VIDEO/`` prefix: the video then takes its name from the points file.
points.json
    ``{"classes": [...], "points": {VIDEO: [{"snippet": 12, "label": "Billiards"}, {"time_s": 4.2, "label": 3}]}}``:
    each point by snippet index or by time in seconds, its class by index or by name
    (``classes`` optional when the npz has them). The SF-Net/LACP point CSV and SF-Net click files
    are read too (by :func:`admfit.datasets.load_points`).
"""
from __future__ import annotations

import csv
import io
import json
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .atomic import atomic_open
from .errors import InputError
from .grid import SnippetGrid
from .validation import bool_array, float_array, scalar_array

_PER_VIDEO = ("probs", "bg_probs", "background", "fps")
_GLOBAL = ("classes", "fps", "stride", "num_frames")


@dataclass
class SignalSet:
    """What signals.npz holds: per-video arrays, class names and timing (frames, frames per second)."""

    probs: dict[str, np.ndarray]
    bg_probs: dict[str, np.ndarray] = field(default_factory=dict)
    background: dict[str, np.ndarray] = field(default_factory=dict)
    fps: dict[str, float] = field(default_factory=dict)
    classes: list[str] | None = None
    default_fps: float | None = None
    stride: float | None = None
    num_frames: float | None = None


def _require_file(path: Path, field_name: str) -> None:
    if path.is_dir():
        raise InputError("is a directory, expected a file", file=str(path), field=field_name)
    if not path.is_file():
        raise InputError("no such file", file=str(path), field=field_name)


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of an .npz file; InputError for a damaged file or a single .npy array renamed .npz."""
    try:
        archive = np.load(path, allow_pickle=False)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        raise InputError(f"not a readable .npz file ({error})", file=str(path), field="signals") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise InputError("holds a single array (an .npy file?); expected an .npz archive of per-video arrays",
                         file=str(path), field="signals")
    with archive:
        try:
            return {key: archive[key] for key in archive.files}
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, zlib.error) as error:
            raise InputError(f"not a readable .npz file ({error})", file=str(path), field="signals") from None


def load_signals(path: str | Path) -> SignalSet:
    """Read and check signals.npz: structure, dtypes (float probabilities, bool masks), shapes, finite values
    in [0, 1], one kind of background for every video, grid scalars in range (admfit.validation)."""
    path = Path(path)
    _require_file(path, "signals")
    arrays = _read_npz(path)
    signals = SignalSet(probs={})
    for key, value in arrays.items():
        video, _, name = key.rpartition("/")
        if not video:
            continue
        if name not in _PER_VIDEO:
            raise InputError(f"unknown array {name!r} (expected one of {', '.join(_PER_VIDEO)})", file=str(path),
                             video=video, field=key)
        if name == "fps":
            signals.fps[video] = scalar_array(value, file=str(path), field=key, kind="fps")
        else:
            getattr(signals, name)[video] = value
    top = {key: value for key, value in arrays.items() if "/" not in key}
    for key in top:
        if key not in _GLOBAL + ("probs", "bg_probs", "background"):
            raise InputError(f"unknown array {key!r}", file=str(path), field=key)
    if "probs" in top:
        if signals.probs:
            raise InputError("mixes a top-level 'probs' with per-video arrays", file=str(path), field="probs")
        signals.probs[""] = top["probs"]
        for name in ("bg_probs", "background"):
            if name in top:
                getattr(signals, name)[""] = top[name]
    if not signals.probs:
        raise InputError("holds no 'probs' array", file=str(path), field="probs")
    if "classes" in top:
        signals.classes = _class_names(path, top["classes"])
    signals.default_fps = scalar_array(top["fps"], file=str(path), field="fps", kind="fps") if "fps" in top else None
    signals.stride = scalar_array(top["stride"], file=str(path), field="stride", kind="stride") \
        if "stride" in top else None
    signals.num_frames = scalar_array(top["num_frames"], file=str(path), field="num_frames", kind="num_frames") \
        if "num_frames" in top else None
    _check_arrays(path, signals)
    return signals


def _class_names(path: Path, names: np.ndarray) -> list[str]:
    if names.dtype.kind not in "US" or names.ndim != 1 or names.size == 0:
        raise InputError(f"must be a 1-D array of class names, got {names.dtype} of shape {names.shape}",
                         file=str(path), field="classes")
    return [str(name) for name in names]


def _check_arrays(path: Path, signals: SignalSet) -> None:
    """Every video: float (T_l, C) probs in [0, 1]; exactly one of bg_probs (T,) in [0, 1] and background (T,) bool,
    the same one for every video, with T >= T_l; the same C everywhere, and as many class names."""
    file = str(path)
    kinds = {}
    for video, probs in signals.probs.items():
        name = video or None
        float_array(probs, file=file, video=name, field="probs", ndim=2, unit_interval=True)
        has = [kind for kind in ("bg_probs", "background") if video in getattr(signals, kind)]
        if len(has) != 1:
            raise InputError("needs exactly one of 'bg_probs' and 'background'" + (f", has both" if has else ""),
                             file=file, video=name, field="bg_probs")
        kind = kinds[video] = has[0]
        values = getattr(signals, kind)[video]
        if kind == "bg_probs":
            float_array(values, file=file, video=name, field=kind, ndim=1, unit_interval=True)
        else:
            bool_array(values, file=file, video=name, field=kind)
        if values.shape[0] < probs.shape[0]:
            raise InputError(f"has {values.shape[0]} snippets, fewer than the {probs.shape[0]} steps of 'probs'",
                             file=file, video=name, field=kind)
    for video in {*signals.bg_probs, *signals.background} - set(signals.probs):
        raise InputError("has a background but no 'probs'", file=file, video=video or None, field="probs")
    first = next(iter(signals.probs))
    for video, kind in kinds.items():
        if kind != kinds[first]:
            raise InputError(f"gives {kind!r} while video {first!r} gives {kinds[first]!r}: give every video the "
                             "same kind of background", file=file, video=video, field=kind)
        if signals.probs[video].shape[1] != signals.probs[first].shape[1]:
            raise InputError(f"has {signals.probs[video].shape[1]} classes, video {first!r} has "
                             f"{signals.probs[first].shape[1]}", file=file, video=video, field="probs")
    if signals.classes is not None and len(signals.classes) != signals.probs[first].shape[1]:
        raise InputError(f"names {len(signals.classes)} classes but 'probs' has {signals.probs[first].shape[1]} "
                         "columns", file=file, field="classes")


def save_signals(path, probs: Mapping[str, np.ndarray], *, classes: Sequence[str],
                 bg_probs: Mapping[str, np.ndarray] | None = None, background: Mapping[str, np.ndarray] | None = None,
                 grids: Mapping[str, SnippetGrid] | None = None) -> None:
    """Write signals.npz atomically (float32 probabilities, bool masks, per-video fps from ``grids``)."""
    arrays: dict[str, np.ndarray] = {"classes": np.asarray(list(classes), dtype=str)}
    for video, values in probs.items():
        arrays[f"{video}/probs"] = np.asarray(values, dtype=np.float32)
    for video, values in (bg_probs or {}).items():
        arrays[f"{video}/bg_probs"] = np.asarray(values, dtype=np.float32)
    for video, values in (background or {}).items():
        arrays[f"{video}/background"] = np.asarray(values, dtype=bool)
    if grids:
        first = next(iter(grids.values()))
        arrays["stride"] = np.asarray(first.stride)
        arrays["num_frames"] = np.asarray(first.num_frames)
        for video, grid in grids.items():
            arrays[f"{video}/fps"] = np.asarray(grid.fps)
    with atomic_open(path, "wb") as handle:
        np.savez_compressed(handle, **arrays)


@dataclass(frozen=True)
class RawPoint:
    """A point as written in a points file: by snippet or by time (seconds), class by index or name."""

    video: str
    label: int | str
    snippet: int | None = None
    time_s: float | None = None


def _json_point(path: Path, video: str, index: int, entry) -> RawPoint:
    where = f"points[{index}]"
    if not isinstance(entry, Mapping):
        raise InputError("must be an object with 'snippet' or 'time_s' and 'label'", file=str(path), video=video,
                         field=where)
    if "label" not in entry or isinstance(entry["label"], bool) or not isinstance(entry["label"], (int, str)):
        raise InputError("needs a 'label' (class index or name)", file=str(path), video=video, field=f"{where}.label")
    has_snippet, has_time = "snippet" in entry, "time_s" in entry
    if has_snippet == has_time:
        raise InputError("needs exactly one of 'snippet' and 'time_s'", file=str(path), video=video, field=where)
    if has_snippet:
        value = entry["snippet"]
        if isinstance(value, bool) or not isinstance(value, int):
            raise InputError("must be an integer snippet index", file=str(path), video=video, field=f"{where}.snippet")
        return RawPoint(video, entry["label"], snippet=value)
    value = entry["time_s"]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise InputError("must be a finite number of seconds", file=str(path), video=video, field=f"{where}.time_s")
    return RawPoint(video, entry["label"], time_s=float(value))


def _load_points_json(path: Path) -> tuple[list[RawPoint], list[str] | None]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InputError(f"malformed JSON ({error})", file=str(path), field="points") from None
    if not isinstance(document, Mapping) or not isinstance(document.get("points"), Mapping):
        raise InputError("must be an object with a 'points' object keyed by video", file=str(path), field="points")
    classes = document.get("classes")
    if classes is not None and (not isinstance(classes, list) or not all(isinstance(c, str) for c in classes)):
        raise InputError("must be a list of class names", file=str(path), field="classes")
    points = []
    for video, entries in document["points"].items():
        if not isinstance(entries, list):
            raise InputError("must be a list of points", file=str(path), video=video, field="points")
        points.extend(_json_point(path, video, index, entry) for index, entry in enumerate(entries))
    return points, classes


def _load_points_table(path: Path) -> list[RawPoint]:
    from .datasets import load_points  # the SF-Net / LACP formats

    return [RawPoint(point.video, point.label if point.label_id is None else point.label_id, time_s=point.time_s)
            for point in load_points(path)]


def load_point_file(path: str | Path) -> tuple[list[RawPoint], list[str] | None]:
    """Read points.json, or an SF-Net/LACP CSV / click file; returns the points and class names if given."""
    path = Path(path)
    _require_file(path, "points")
    if path.suffix.lower() == ".json":
        return _load_points_json(path)
    return _load_points_table(path), None


def save_points_json(path, points: Sequence, *, classes: Sequence[str]) -> None:
    """Write points.json from records with ``video``, ``label`` (name) and ``time_s`` (seconds)."""
    by_video: dict[str, list[dict]] = {}
    for point in points:
        by_video.setdefault(point.video, []).append({"time_s": float(point.time_s), "label": point.label})
    with atomic_open(path, "w") as handle:
        json.dump({"classes": list(classes), "points": by_video}, handle, indent=1)


_CSV_FIELDS = ("video", "label", "label_id", "score", "point", "point_s", "t_star", "b_s", "b_e", "sigma", "omega",
               "start", "end", "start_s", "end_s")


def pseudo_label_rows(labels, classes: Sequence[str] | None, point_seconds: Sequence[float | None]) -> list[dict]:
    """Flat records of PseudoLabels, class names resolved, with each point's time in seconds."""
    rows = []
    for label, point_s in zip(labels, point_seconds):
        rows.append({
            "video": label.video, "label": classes[label.label] if classes else str(label.label),
            "label_id": label.label, "score": label.score, "point": label.point, "point_s": point_s,
            "t_star": label.t_star, "b_s": label.b_s, "b_e": label.b_e, "sigma": label.sigma, "omega": label.omega,
            "start": label.start, "end": label.end, "start_s": label.start_s, "end_s": label.end_s})
    return rows


def write_pseudo_labels(path, rows: list[dict], *, fmt: str, meta: dict) -> None:
    """ActivityNet-style JSON (``segment`` in seconds when timing is known, else snippets) or CSV."""
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=_CSV_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        with atomic_open(path, "w") as handle:
            handle.write(buffer.getvalue())
        return
    in_seconds = meta.get("segment_units") == "seconds"
    results: dict[str, list[dict]] = {}
    for row in rows:
        segment = [row["start_s"], row["end_s"]] if in_seconds else [row["start"], row["end"]]
        entry = {"segment": segment, "label": row["label"], "score": row["score"]}
        entry.update({key: row[key] for key in _CSV_FIELDS if key not in ("video", "label", "score")})
        results.setdefault(row["video"], []).append(entry)
    with atomic_open(path, "w") as handle:
        json.dump({"version": "admfit-0.1", "results": results, "meta": meta}, handle, indent=1)
