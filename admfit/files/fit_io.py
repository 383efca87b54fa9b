"""Files of `admfit fit`: signals.npz and points.json in, pseudo_labels.json / .csv out.

Formats (docs/formats.md has the full description):

signals.npz
    ``VIDEO/probs`` (T_l, C) class probabilities in [0, 1]; ``VIDEO/bg_probs`` (T,) background
    probabilities or ``VIDEO/background`` (T,) bool; optional ``VIDEO/fps`` and ``VIDEO/duration`` (seconds: with
    a grid, T must fit it, admfit.datasets.checks). Optional global
    ``classes`` (C,) names, ``fps``, ``stride`` and ``num_frames`` (frames), and ``step_origin`` with
    ``step_spacing`` (both or neither): step j of every ``probs`` is centred on background snippet
    ``step_origin + j * step_spacing`` (``admfit.levels.StepCentres``; admfit_torch writes its pyramid's);
    without them a coarser ``probs`` is window-aligned (``upsample_signal``). A file holding one
    video may drop the ``VIDEO/`` prefix: the video then takes its name from the points file.
points.json
    ``{"classes": [...], "points": {VIDEO: [{"snippet": 12, "label": "Billiards"}, {"time_s": 4.2, "label": 3}]}}``:
    each point by snippet index or by time in seconds, its class by index or by name
    (``classes`` optional when the npz has them). The SF-Net/LACP point CSV and SF-Net click files
    are read too (by :func:`admfit.datasets.load_points`).
pseudo_labels.json / .csv
    Written by :func:`write_pseudo_labels` from :func:`pseudo_label_rows`, read back by
    :func:`read_pseudo_labels` (the one reader: ``admfit plot``, ``admfit eval-pseudo`` and the detector's
    main stage all use it).

:func:`resolve_points` turns the points of a points file into the (snippet, class index) rows that
:func:`admfit.fit_instances` takes, with each video's SnippetGrid (:meth:`SignalSet.grid`); ``admfit fit``,
``admfit plot`` and Python callers share it.
"""
from __future__ import annotations

import csv
import io
import json
import math
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, NotRequired

import numpy as np
import yaml
from pydantic import BeforeValidator, Field, TypeAdapter, ValidationError
from typing_extensions import TypedDict

from admfit.files.atomic import atomic_open
from admfit.fit.config import ADMConfig
from admfit.errors import InputError
from admfit.grid import SnippetGrid
from admfit.levels import StepCentres
from admfit.files.validation import bool_array, float_array, scalar_array

_PER_VIDEO = ("probs", "bg_probs", "background", "fps", "duration")
_GLOBAL = ("classes", "fps", "stride", "num_frames", "step_origin", "step_spacing")


@dataclass
class SignalSet:
    """What signals.npz holds: per-video arrays, class names and timing (frames, frames per second)."""

    probs: dict[str, np.ndarray]
    bg_probs: dict[str, np.ndarray] = field(default_factory=dict)
    background: dict[str, np.ndarray] = field(default_factory=dict)
    fps: dict[str, float] = field(default_factory=dict)
    duration: dict[str, float] = field(default_factory=dict)
    classes: list[str] | None = None
    default_fps: float | None = None
    stride: float | None = None
    num_frames: float | None = None
    centres: StepCentres | None = None  # where step j of every probs sits on its background's snippets

    def grid(self, video: str, *, fps: float | None = None, stride: float | None = None,
             num_frames: float | None = None) -> SnippetGrid | None:
        """The video's SnippetGrid: the arguments (frames, frames per second) override the file's values; stride
        and window default to 4 and 16 frames (the THUMOS'14 ActionFormer grid); None when no fps is known."""
        video_fps = fps or self.fps.get(video) or self.default_fps
        if video_fps is None:
            return None
        window = num_frames if num_frames is not None else self.num_frames
        return SnippetGrid(fps=video_fps, stride=stride or self.stride or 4, num_frames=16 if window is None else window)

    def feature_fps(self, fps: float | None = None) -> dict[str, float]:
        """video -> the fps of its signal's grid (``fps`` overrides the file's), for the videos that have one."""
        found = {video: fps or self.fps.get(video) or self.default_fps for video in self.probs}
        return {video: value for video, value in found.items() if value}


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
    in [0, 1], one kind of background for every video, grid scalars in range (admfit.files.validation)."""
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
        if name in ("fps", "duration"):
            getattr(signals, name)[video] = scalar_array(value, file=str(path), field=key, kind=name)
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
        signals.classes = _npz_class_names(path, top["classes"])
    signals.default_fps = scalar_array(top["fps"], file=str(path), field="fps", kind="fps") if "fps" in top else None
    signals.stride = scalar_array(top["stride"], file=str(path), field="stride", kind="stride") \
        if "stride" in top else None
    signals.num_frames = scalar_array(top["num_frames"], file=str(path), field="num_frames", kind="num_frames") \
        if "num_frames" in top else None
    signals.centres = _centres(path, top)
    _check_arrays(path, signals)
    return signals


def _npz_class_names(path: Path, names: np.ndarray) -> list[str]:
    if names.dtype.kind not in "US" or names.ndim != 1 or names.size == 0:
        raise InputError(f"must be a 1-D array of class names, got {names.dtype} of shape {names.shape}",
                         file=str(path), field="classes")
    return [str(name) for name in names]


def _check_arrays(path: Path, signals: SignalSet) -> None:
    """Every video: float (T_l, C) probs in [0, 1]; exactly one of bg_probs (T,) in [0, 1] and background (T,) bool,
    the same one for every video, with T_l the steps a pyramid level over T snippets has (``_level_problem``);
    the same C everywhere, and as many class names."""
    file = str(path)
    kinds = {}
    for video, probs in signals.probs.items():
        name = video or None
        float_array(probs, file=file, video=name, field="probs", ndim=2, unit_interval=True)
        has = [kind for kind in ("bg_probs", "background") if video in getattr(signals, kind)]
        if len(has) != 1:
            raise InputError("needs exactly one of 'bg_probs' and 'background'" + (", has both" if has else ""),
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
        problem = _level_problem(probs.shape[0], values.shape[0], signals.centres)
        if problem:
            raise InputError(f"has {values.shape[0]} snippets, but 'probs' has {probs.shape[0]} steps: {problem} "
                             "(docs/formats.md, 'How long the background is')", file=file, video=name, field=kind)
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


def _level_problem(steps: int, snippets: int, centres: StepCentres | None) -> str | None:
    """Why ``steps`` steps of 'probs' cannot be a pyramid level over ``snippets`` background snippets, or None.

    A level of stride r (level-0 snippets between steps) has ceil(T / r) steps (admfit.detector: T_l = ceil(T_0 /
    theta^l)); with ``centres`` r is their spacing, without them (read window-aligned) any integer r >= 1 will do.
    A longer background would have its tail fitted against the last step's probabilities held flat."""
    if centres is not None:
        spacing = centres.spacing
        if (steps - 1) * spacing < snippets <= steps * spacing:
            return None
        return (f"{snippets} snippets need ceil({snippets} / {spacing:g}) = {math.ceil(snippets / spacing)} steps "
                f"{spacing:g} snippets apart (step_spacing)")
    stride = -(-snippets // steps)  # the least stride that reaches every snippet; a larger one makes more steps
    if (steps - 1) * stride < snippets:
        return None
    reach = ", ".join(f"r = {r}: {(steps - 1) * r + 1}-{steps * r}" for r in (stride - 1, stride) if r >= 1)
    return f"no integer stride r gives ceil({snippets} / r) = {steps} steps ({reach} snippets)"


def _centres(path: Path, top: dict) -> StepCentres | None:
    given = [key for key in ("step_origin", "step_spacing") if key in top]
    if not given:
        return None
    if len(given) == 1:
        raise InputError("step_origin and step_spacing come together", file=str(path), field=given[0])
    values = {}
    for key in given:
        value = top[key]
        if value.size != 1 or not np.issubdtype(value.dtype, np.number) or not np.isfinite(value).all():
            raise InputError("must be one finite number", file=str(path), field=key)
        values[key] = float(value.reshape(()))
    if values["step_spacing"] <= 0:
        raise InputError("must be positive", file=str(path), field="step_spacing")
    return StepCentres(origin=values["step_origin"], spacing=values["step_spacing"])


def save_signals(path, probs: Mapping[str, np.ndarray], *, classes: Sequence[str],
                 bg_probs: Mapping[str, np.ndarray] | None = None, background: Mapping[str, np.ndarray] | None = None,
                 grids: Mapping[str, SnippetGrid] | None = None,
                 durations: Mapping[str, float | None] | None = None, centres: StepCentres | None = None) -> None:
    """Write signals.npz atomically (float32 probabilities, bool masks, per-video fps from ``grids``, durations in
    seconds, and where the steps of ``probs`` sit on the background's snippets, ``centres``, when given)."""
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
    for video, duration_s in (durations or {}).items():
        if duration_s is not None:
            arrays[f"{video}/duration"] = np.asarray(float(duration_s))
    if centres is not None:
        arrays["step_origin"] = np.asarray(float(centres.origin))
        arrays["step_spacing"] = np.asarray(float(centres.spacing))
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
    path = Path(path)
    _require_file(path, "points")
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


_CSV_FIELDS = ("video", "label", "label_id", "score", "point", "point_s", "t_star", "b_s", "b_e", "sigma", "omega",
               "start", "end", "start_s", "end_s", "confidence", "converged")


def pseudo_label_rows(labels, classes: Sequence[str] | None, point_seconds: Sequence[float | None]) -> list[dict]:
    """Flat records of PseudoLabels, class names resolved, with each point's time in seconds."""
    rows = []
    for label, point_s in zip(labels, point_seconds):
        rows.append({
            "video": label.video, "label": classes[label.label] if classes else str(label.label),
            "label_id": label.label, "score": label.score, "point": label.point, "point_s": point_s,
            "t_star": label.t_star, "b_s": label.b_s, "b_e": label.b_e, "sigma": label.sigma, "omega": label.omega,
            "start": label.start, "end": label.end, "start_s": label.start_s, "end_s": label.end_s,
            "confidence": label.confidence, "converged": label.converged})
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


def load_adm_config(path: str | Path | None, *, paper: bool = False) -> ADMConfig:
    """ADMConfig from a YAML file of its fields; the defaults when ``path`` is None.

    paper: start from ADMConfig.paper() (the paper's method) instead of the defaults; the file's fields
    override it either way.
    """
    make = ADMConfig.paper if paper else ADMConfig
    if path is None:
        return make()
    path = Path(path)
    _require_file(path, "config")
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise InputError(f"malformed YAML ({str(error).splitlines()[0]})", file=str(path), field="config") from None
    except UnicodeDecodeError:
        raise InputError("not a UTF-8 text file", file=str(path), field="config") from None
    if not isinstance(values, dict):
        raise InputError("must be a mapping of ADMConfig fields", file=str(path), field="config")
    try:
        return make(**values)
    except ValidationError as error:
        raise InputError.from_validation(error, file=str(path)) from None


# ---- pseudo-labels back in ----------------------------------------------------------------------------------

def _not_bool(value):
    # pydantic reads true as 1.0; a flag in a number's place is a broken file, not a number.
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {str(value).lower()}")
    return value


_Number = Annotated[float, BeforeValidator(_not_bool), Field(allow_inf_nan=False)]


class _Row(TypedDict):
    """One row as pseudo_label_rows makes it; times in seconds may be missing (no fps known)."""

    video: str
    label: str
    label_id: Annotated[int, Field(ge=0)]
    score: _Number
    point: _Number
    point_s: _Number | None
    t_star: _Number
    b_s: _Number
    b_e: _Number
    sigma: _Number
    omega: _Number
    start: _Number
    end: _Number
    start_s: _Number | None
    end_s: _Number | None
    # Written since confidence existed (docs/adm.md); older files lack them.
    confidence: NotRequired[Annotated[float, Field(ge=0.0, le=1.0)]]
    converged: NotRequired[bool]


_ROWS = TypeAdapter(list[_Row])
# JSON only: the segment the writer derived from start_s/end_s (or start/end); checked, then dropped.
_SEGMENT = TypeAdapter(tuple[_Number, _Number])


def _json_rows(path: Path) -> tuple[list[dict], list[tuple[str, int]], dict]:
    """The file's entries as rows (the ``segment`` the writer derived is checked: two finite numbers, then dropped),
    where each came from, meta."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InputError(f"malformed JSON ({error})", file=str(path), field="pseudo_labels") from None
    if not isinstance(document, Mapping) or not isinstance(document.get("results"), Mapping):
        raise InputError("must be `admfit fit` output: an object with a 'results' object keyed by video",
                         file=str(path), field="results")
    rows, origins = [], []
    for video, entries in document["results"].items():
        if not isinstance(entries, list):
            raise InputError("must be a list of pseudo-labels", file=str(path), video=video, field=f"results.{video}")
        for number, entry in enumerate(entries):
            if not isinstance(entry, Mapping):
                raise InputError("must be an object", file=str(path), video=video, field=f"results.{video}.{number}")
            if "segment" in entry:
                try:
                    _SEGMENT.validate_python(entry["segment"])
                except ValidationError as error:
                    raise InputError.from_validation(error, file=str(path), video=video,
                                                     prefix=f"results.{video}.{number}.segment") from None
            rows.append({"video": video, **{key: value for key, value in entry.items() if key != "segment"}})
            origins.append((video, number))
    meta = document.get("meta")
    return rows, origins, dict(meta) if isinstance(meta, Mapping) else {}


def _csv_rows(path: Path) -> list[dict]:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            # The writer leaves unknown times empty.
            return [{key: (None if value == "" else value) for key, value in row.items()}
                    for row in csv.DictReader(handle)]
    except UnicodeDecodeError:
        raise InputError("not a UTF-8 text file", file=str(path), field="pseudo_labels") from None


def read_pseudo_labels(path: str | Path) -> tuple[list[dict], dict]:
    """(rows, meta) of a file :func:`write_pseudo_labels` wrote, JSON or CSV (by suffix): the rows it was given
    (every field of :func:`pseudo_label_rows`, numbers validated) and its meta ({} for CSV, which has none).

    A bad file raises one InputError naming the file, the video and the field (JSON) or the line (CSV)."""
    path = Path(path)
    _require_file(path, "pseudo_labels")
    is_csv = path.suffix.lower() == ".csv"
    if is_csv:
        rows, origins, meta = _csv_rows(path), None, {}
    else:
        rows, origins, meta = _json_rows(path)
    try:
        return _ROWS.validate_python(rows), meta
    except ValidationError as error:
        index, *inside = error.errors()[0]["loc"]
        video = str(rows[index].get("video")) if is_csv else origins[index][0]
        where = ".".join(str(part) for part in inside)
        if is_csv:
            raise InputError.from_validation(error, file=str(path), video=video, field=where,
                                             context=f"line {index + 2}") from None
        raise InputError.from_validation(error, file=str(path), video=video,
                                         field=f"results.{video}.{origins[index][1]}.{where}") from None


# ---- points to snippets -------------------------------------------------------------------------------------

@dataclass
class ResolvedPoints:
    """Points ready for :func:`admfit.fit_instances`: ``rows`` video -> (N, 2) int64 (snippet, class index) in
    the points file's order, ``classes`` the class names (None when neither file names them), ``grids`` each
    video's SnippetGrid (None without an fps), ``signals`` the SignalSet with a one-video file's unnamed video
    named after the points'."""

    rows: dict[str, np.ndarray]
    classes: list[str] | None
    grids: dict[str, SnippetGrid | None]
    signals: SignalSet


def _named_signals(signals: SignalSet, points: Sequence[RawPoint], signals_file) -> SignalSet:
    """Name the single unnamed video of a one-video npz after the only video of the points file."""
    if "" not in signals.probs:
        return signals
    videos = sorted({point.video for point in points})
    if len(videos) != 1:
        raise InputError(f"holds one unnamed video but the points name {len(videos)} videos", file=signals_file,
                         field="probs")
    renamed = {name: {(videos[0] if video == "" else video): array for video, array in getattr(signals, name).items()}
               for name in ("probs", "bg_probs", "background")}
    return replace(signals, **renamed)


def _check_videos(signals: SignalSet, points: Sequence[RawPoint], signals_file, points_file) -> None:
    pointed = {point.video for point in points}
    for video in pointed:
        if video not in signals.probs:
            raise InputError("has points but is missing from the signals file", file=points_file, video=video,
                             field="points")
    for video in signals.probs:
        if video not in pointed:
            raise InputError("has signals but no points in the points file", file=signals_file, video=video,
                             field="probs")


def _class_names(signals: SignalSet, from_points: Sequence[str] | None, points_file) -> list[str] | None:
    if signals.classes and from_points and list(signals.classes) != list(from_points):
        raise InputError("class names differ from those in the signals file", file=points_file, field="classes")
    return list(from_points or signals.classes or []) or None


def _class_index(point: RawPoint, classes: list[str] | None, num_classes: int, points_file) -> int:
    if isinstance(point.label, str):
        if classes is None:
            raise InputError(f"class name {point.label!r} given but no class names are known", file=points_file,
                             video=point.video, field="label")
        if point.label not in classes:
            raise InputError(f"unknown class {point.label!r}", file=points_file, video=point.video, field="label")
        return classes.index(point.label)
    if not 0 <= point.label < num_classes:
        raise InputError(f"class index {point.label} is outside [0, {num_classes - 1}]", file=points_file,
                         video=point.video, field="label")
    return int(point.label)


def _snippet(point: RawPoint, grid: SnippetGrid | None, length: int, points_file) -> int:
    """The nearest snippet index of the point; InputError outside [-0.5, length - 0.5)."""
    if point.snippet is not None:
        position = point.snippet
    else:
        if grid is None:
            raise InputError("point given in seconds but the fps is unknown (give --fps or VIDEO/fps)",
                             file=points_file, video=point.video, field="time_s")
        position = float(grid.seconds_to_snippet(point.time_s))
    if not -0.5 <= position < length - 0.5:
        where = f"snippet {point.snippet}" if point.snippet is not None else f"{point.time_s} s"
        raise InputError(f"point at {where} is outside the video ({length} snippets)", file=points_file,
                         video=point.video, field="snippet" if point.snippet is not None else "time_s")
    return int(round(position))


def resolve_points(signals: SignalSet, points: Sequence[RawPoint], classes: Sequence[str] | None = None, *,
                   fps: float | None = None, stride: float | None = None, num_frames: float | None = None,
                   signals_file: str | Path | None = None, points_file: str | Path | None = None) -> ResolvedPoints:
    """Each point as (snippet index, class index) on its video's signal, as ``fit_instances`` takes them.

    ``classes``: the names the points file gives (must equal the signals' when both have them); ``fps``,
    ``stride``, ``num_frames`` override the signals file's timing (see :meth:`SignalSet.grid`). Every video with
    points must have signals and the other way round; a point in seconds needs an fps, and must fall on the
    video. A video with a grid and a ``VIDEO/duration`` must have the T its duration gives (admfit.datasets.checks).
    ``signals_file`` and ``points_file`` name the files in errors."""
    from admfit.datasets.checks import check_feature_length

    signals_file = None if signals_file is None else str(signals_file)
    points_file = None if points_file is None else str(points_file)
    if not points:
        raise InputError("holds no points", file=points_file, field="points")
    signals = _named_signals(signals, points, signals_file)
    _check_videos(signals, points, signals_file, points_file)
    names = _class_names(signals, classes, points_file)
    grids = {video: signals.grid(video, fps=fps, stride=stride, num_frames=num_frames) for video in signals.probs}
    by_video: dict[str, list] = {}
    for point in points:
        probs = signals.probs[point.video]
        if probs.ndim != 2:
            raise InputError(f"must be (T, C), got shape {probs.shape}", file=signals_file, video=point.video,
                             field="probs")
        background = signals.background.get(point.video, signals.bg_probs.get(point.video))
        length = background.shape[0] if background is not None and background.ndim == 1 else probs.shape[0]
        if point.video not in by_video and grids[point.video] is not None:  # T must fit the duration on the grid
            check_feature_length(point.video, length, grids[point.video], signals.duration.get(point.video),
                                 file=signals_file)
        by_video.setdefault(point.video, []).append(
            (_snippet(point, grids[point.video], length, points_file),
             _class_index(point, names, probs.shape[1], points_file)))
    rows = {video: np.asarray(pairs, dtype=np.int64).reshape(-1, 2) for video, pairs in by_video.items()}
    return ResolvedPoints(rows, names, grids, signals)
