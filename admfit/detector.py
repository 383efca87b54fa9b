"""The detector protocol: what any detector hands to admfit, and how admfit finds installed detectors.

A detector turns one video's features into probabilities on a snippet grid (``SnippetGrid``: fps,
stride, window; docs/spec.md section 3). admfit needs, per video:

* ``class_probs``: a list with one (T_l, C) float array per pyramid level, finest first, holding the
  fused class probabilities of paper eq. 1 (class probability times 1 - background probability) in
  [0, 1]. A single-level detector gives a list of one array. Level l has T_l = ceil(T_0 / theta^l) snippets.
* ``bg_probs``: the matching list of (T_l,) background probabilities in [0, 1].
* ``grid``: the SnippetGrid of level 0 (seconds <-> snippets), and ``theta`` the ratio between levels.
* ``time_axis`` (optional): an ``admfit.levels.Pyramid``, where level-l snippet j sits on level 0, derived from
  the detector's down-sampling layers (``Pyramid.from_layers``; a stride-2, padding-1, kernel-3 convolution puts
  it on j 2^l). Without it, level l is taken as window-aligned: snippet j covers level-0 snippets
  [j r, (j + 1) r), r = T_0 / T_l, centred on (j + 0.5) r - 0.5 (``interpolate(align_corners=False)``).

How admfit consumes it (paper 3.4.1, docs/spec.md 1.6): the *last* (coarsest) level's class probabilities are
smoothed and upsampled to T_0 (``admfit.prepare_signal``, at the centres ``time_axis`` gives) and become the
signal that ADM fits; the
*first* level's background probabilities give the background points (``admfit.background_mask``).
``DetectorOutput.fit_inputs`` does exactly that.

Discovery: a package registers a factory under the entry-point group ``admfit.detectors``; the factory
takes keyword arguments (e.g. a checkpoint path) and returns an object satisfying ``Detector``.
``available_detectors()`` lists what is installed; ``load_detector(name, **kwargs)`` builds one.

Errors (what ``admfit label`` does with them, admfit.labelling): a plug-in raises ``admfit.errors.InputError``
for input it cannot take, naming the field (and the file, when it is not the video's features, e.g. its
checkpoint). admfit adds the plug-in's name, the video and the features file, and the user sees one line. Any
other exception of the factory, ``validate`` or ``predict`` (a RuntimeError of the plug-in's framework, a bug)
becomes such a line too, with its type and message; KeyboardInterrupt and SystemExit pass through.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Protocol, Sequence, runtime_checkable

import numpy as np

from admfit.fit.config import ADMConfig
from admfit.fit.signal import prepare_background, prepare_class_signals

from .errors import InputError
from .grid import SnippetGrid
from .levels import Pyramid, StepCentres

ENTRY_POINT_GROUP = "admfit.detectors"


@dataclass(frozen=True)
class DetectorOutput:
    """One video's detector output; see the module docstring for shapes and meaning."""

    video: str
    class_probs: Sequence[np.ndarray]
    bg_probs: Sequence[np.ndarray]
    grid: SnippetGrid
    theta: int = 2
    time_axis: Pyramid | None = None

    def __post_init__(self) -> None:
        if self.time_axis is not None and self.time_axis.theta != self.theta:
            raise InputError(f"time_axis has ratio {self.time_axis.theta}, theta is {self.theta}", video=self.video,
                             field="time_axis")
        if not self.class_probs or len(self.class_probs) != len(self.bg_probs):
            raise InputError("class_probs and bg_probs need the same, non-zero number of levels", video=self.video,
                             field="class_probs")
        num_classes = self.class_probs[0].shape[1] if self.class_probs[0].ndim == 2 else -1
        for level, (probs, bg) in enumerate(zip(self.class_probs, self.bg_probs)):
            if probs.ndim != 2 or probs.shape[1] != num_classes or bg.shape != (probs.shape[0],):
                raise InputError(f"level {level}: expected (T_l, C) and (T_l,), got {probs.shape} and {bg.shape}",
                                 video=self.video, field="class_probs")
            for name, array in (("class_probs", probs), ("bg_probs", bg)):
                if not np.all((array >= 0) & (array <= 1)):  # also rejects NaN
                    raise InputError(f"level {level}: values outside [0, 1] or NaN", video=self.video, field=name)

    @property
    def num_snippets(self) -> int:
        """T_0: snippets on the finest level."""
        return int(self.class_probs[0].shape[0])

    def level_centres(self, level: int) -> StepCentres | None:
        """Where level ``level``'s snippets sit on level 0; None: window-aligned (no ``time_axis`` given)."""
        return None if self.time_axis is None else self.time_axis.level(level)

    def fit_inputs(self, config: ADMConfig | None = None, *, points_snippets=()) -> tuple[np.ndarray, np.ndarray]:
        """(probs (T_0, C) float64 from the last level, background (T_0,) bool from the first level): the
        signals ADM fits for this video, prepared as ``admfit.fit_instances`` prepares them (docs/spec.md 1.6)
        with ``centres=self.level_centres(last level)``."""
        config = config or ADMConfig(tuning="off")
        signal, _, _ = prepare_class_signals(np.asarray(self.class_probs[-1]), self.num_snippets, config,
                                             self.level_centres(len(self.class_probs) - 1))
        bg = prepare_background(np.asarray(self.bg_probs[0]), config, points_snippets)
        return signal, bg


@runtime_checkable
class Detector(Protocol):
    """What a detector plug-in provides: ``classes`` (distinct names, one per column of class_probs) and
    ``predict``. Optional, not part of the isinstance check: ``validate(features)``, see below."""

    classes: Sequence[str]

    def predict(self, video: str, features: np.ndarray, grid: SnippetGrid) -> DetectorOutput:
        """features (T, D) of one video on ``grid`` -> its DetectorOutput (whose grid may differ, e.g.
        when the detector resamples the video to a fixed length)."""
        ...

    # Optional hook, looked up with getattr (a plug-in without it is still a Detector):
    #
    # def validate(self, features: np.ndarray) -> None:
    #     """features: one video's (T, D) array, as ``predict`` will get it. Raise InputError (with ``field``,
    #     e.g. "shape", "dtype", "features") for features this detector cannot take; return None otherwise.
    #
    #     admfit calls it on every video's features before the first ``predict``, so that a run over many
    #     videos stops at the first bad file without having computed anything (``admfit label``)."""


def available_detectors() -> dict[str, EntryPoint]:
    """Installed detectors: entry-point name -> entry point (not yet imported)."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def load_detector(name: str, **kwargs) -> Detector:
    """Import the named detector's factory and call it with ``kwargs``.

    InputError (field ``detector``) for a name that is not installed (the message lists the installed ones),
    a plug-in that cannot be imported (e.g. its own dependencies are missing), or ``kwargs`` the factory does not
    take (field ``detector_args``). What the factory raises becomes an InputError that names the detector: its
    own InputError keeps file and field (e.g. the checkpoint's), any other exception (not KeyboardInterrupt or
    SystemExit) gets field ``detector_args``."""
    found = available_detectors()
    if name not in found:
        known = ", ".join(sorted(found)) or "none installed"
        raise InputError(f"unknown detector {name!r} (known: {known})", field="detector")
    try:
        factory = found[name].load()
    except (ImportError, AttributeError) as error:
        raise InputError(f"detector {name!r} ({found[name].value}) cannot be imported: "
                         f"{type(error).__name__}: {error}", field="detector") from None
    try:
        inspect.signature(factory).bind(**kwargs)
    except TypeError as error:
        raise InputError(f"detector {name!r} does not take these arguments ({error}; its factory is "
                         f"{found[name].value}{inspect.signature(factory)})", field="detector_args") from None
    except ValueError:  # no signature to read (a builtin): let the call decide
        pass
    try:
        return factory(**kwargs)
    except InputError as error:
        raise InputError(f"detector {name!r}: {error.message}", file=error.file, video=error.video,
                         field=error.field) from None
    except Exception as error:  # a plug-in's bug or its framework's error: one line, chained for debuggers
        raise InputError(f"detector {name!r} cannot be built with these arguments ({exception_text(error)})",
                         field="detector_args") from error


def exception_text(error: Exception, limit: int = 300) -> str:
    """``RuntimeError: message`` on one line, at most ``limit`` characters of message (torch's run long)."""
    message = " ".join(str(error).split())
    return f"{type(error).__name__}: {message[:limit]}" if message else type(error).__name__
