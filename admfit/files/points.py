"""points.json, the points file of ``admfit fit``: :class:`RawPoint`, :func:`load_point_file` (points.json, or a
click file through ``admfit.datasets.load_points``) and :func:`save_points_json`.

``{"classes": [...], "points": {VIDEO: [{"snippet": 12, "label": "Billiards"}, {"time_s": 4.2, "label": 3}]}}``:
each point by snippet index or by time in seconds, its class by index or by name (``classes`` optional when the
signals file has them). The SF-Net/LACP point CSV and SF-Net click files are read too. docs/formats.md has the full
description; ``admfit.fit.points`` puts the points on the signals' snippets.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from admfit.errors import InputError
from admfit.files.atomic import atomic_open
from admfit.files.require import require_file


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


def _load_points_table(path: Path, classes: Sequence[str] | None, rates, feature_fps) -> list[RawPoint]:
    """A click file's points (``admfit.datasets.load_points``: LACP / ActivityNet CSV, SF-Net clicks) in seconds,
    each class as its index in ``classes`` when a vocabulary is known, else as the row gives it (index, or name)."""
    from admfit.datasets import load_points
    from admfit.datasets.rates import as_rates, note_rate_disagreement

    rates = as_rates(rates)
    points = load_points(path, fps=rates, classes=classes)
    if feature_fps:
        note_rate_disagreement(points, rates, feature_fps, points_file=path)
    return [RawPoint(point.video, point.label if point.label_id is None else point.label_id, time_s=point.time_s)
            for point in points]


def load_point_file(path: str | Path, *, classes: Sequence[str] | None = None, rates=None,
                    feature_fps: Mapping[str, float] | float | None = None) -> tuple[list[RawPoint], list[str] | None]:
    """Read points.json, or a click file (SF-Net/LACP/ActivityNet CSV, SF-Net clicks); returns the points and the
    class names the file lists (points.json only).

    A click file is read by the one click-file reader, ``admfit.datasets.load_points``, as ``admfit-torch train``
    reads it: ``classes`` (the vocabulary of the signals or the detector) checks every row's name and index;
    ``rates`` (``admfit.datasets.rates.ClickRates``; default the shipped THUMOS'14 table) turns LACP frames into
    seconds; ``feature_fps`` (video -> the fps of its features or signals) lets a ``note:`` say where the two
    rates differ."""
    path = require_file(path, "points")
    if path.suffix.lower() == ".json":
        return _load_points_json(path)
    return _load_points_table(path, classes, rates, feature_fps), None


def save_points_json(path, points: Sequence, *, classes: Sequence[str]) -> None:
    """Write points.json from records with ``video``, ``label`` (name) and ``time_s`` (seconds)."""
    by_video: dict[str, list[dict]] = {}
    for point in points:
        by_video.setdefault(point.video, []).append({"time_s": float(point.time_s), "label": point.label})
    with atomic_open(path, "w") as handle:
        json.dump({"classes": list(classes), "points": by_video}, handle, indent=1)
