"""signals.npz, the signals file of ``admfit fit``: :class:`SignalSet`, :func:`load_signals` (read and checked),
:func:`save_signals` (written atomically).

``VIDEO/probs`` (T_l, C) class probabilities in [0, 1]; ``VIDEO/bg_probs`` (T,) background probabilities or
``VIDEO/background`` (T,) bool; optional ``VIDEO/fps`` and ``VIDEO/duration`` (seconds: with a grid, T must fit it,
admfit.datasets.checks). Optional global ``classes`` (C,) names, ``fps``, ``stride`` and ``num_frames`` (frames),
and ``step_origin`` with ``step_spacing`` (both or neither): step j of every ``probs`` is centred on background
snippet ``step_origin + j * step_spacing`` (``admfit.levels.StepCentres``; admfit_torch writes its pyramid's);
without them a coarser ``probs`` is window-aligned (``upsample_signal``). A file holding one video may drop the
``VIDEO/`` prefix: the video then takes its name from the points file (``admfit.fit.points``). docs/formats.md has
the full description.
"""
from __future__ import annotations

import math
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from admfit.errors import InputError
from admfit.files.atomic import atomic_open
from admfit.files.require import require_file
from admfit.files.validation import bool_array, float_array, scalar_array
from admfit.grid import SnippetGrid
from admfit.levels import StepCentres

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
    path = require_file(path, "signals")
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
