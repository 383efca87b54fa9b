"""What a detector's pseudo-labelling leaves in its folder: ``signals.npz`` (the detector's signals, as ``admfit fit``
reads them: admfit.files.signals) and ``pseudo_labels.json`` (the pseudo-labels fitted on them:
admfit.files.pseudo_labels). ``admfit label OUT`` writes them into OUT, the pseudo stage of ``admfit-torch train``
into RUN/base (``admfit_torch.run.layout``); both through :class:`DetectorSignals` and :func:`write_label_file`, so
that the two folders hold the same files and ``admfit fit FOLDER/signals.npz POINTS`` reads either. The file names
are spelled here and nowhere else.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from admfit.errors import InputError
from admfit.files.pseudo_labels import write_pseudo_labels
from admfit.files.signals import save_signals
from admfit.grid import SnippetGrid
from admfit.levels import StepCentres

if TYPE_CHECKING:
    from admfit.detector import DetectorOutput

SIGNALS_FILE = "signals.npz"
PSEUDO_LABELS_FILE = "pseudo_labels.json"


@dataclass
class DetectorSignals:
    """What signals.npz receives, per video: the last level's (T_L, C) class probabilities, the first level's
    (T_0,) background probabilities, the output grid and duration (seconds); and the last level's step centres on
    the first (None: window-aligned), one for the whole file."""

    probs: dict[str, np.ndarray] = field(default_factory=dict)
    bg_probs: dict[str, np.ndarray] = field(default_factory=dict)
    grids: dict[str, SnippetGrid] = field(default_factory=dict)
    durations: dict[str, float | None] = field(default_factory=dict)
    centres: StepCentres | None = None

    def add(self, output: DetectorOutput, video: str, duration_s: float | None, name: str) -> None:
        """Keep ``output`` of detector ``name`` (a plug-in: ``admfit label``) once it shares the stride, window and
        time axis of the videos kept before; InputError otherwise."""
        centres = output.level_centres(len(output.class_probs) - 1)
        if self.grids:  # one file, one stride, one window and one time axis
            first = next(iter(self.grids))
            grid, before = output.grid, self.grids[first]
            if (grid.stride, grid.num_frames) != (before.stride, before.num_frames):
                raise InputError(f"detector {name!r} gives stride {grid.stride:g} / window {grid.num_frames:g} "
                                 f"frames here, {before.stride:g} / {before.num_frames:g} for video {first!r}: "
                                 "signals.npz holds one of each", video=video, field="grid")
            if centres != self.centres:
                raise InputError(f"detector {name!r} puts its last level's steps at {centres} here, at "
                                 f"{self.centres} for video {first!r}: signals.npz holds one time axis",
                                 video=video, field="time_axis")
        self.keep(video, output.class_probs[-1], output.bg_probs[0], output.grid, duration_s, centres)

    def keep(self, video: str, probs, bg_probs, grid: SnippetGrid, duration_s: float | None,
             centres: StepCentres | None) -> None:
        """Keep one video's last-level ``probs`` and first-level ``bg_probs`` on ``grid``, unchecked."""
        self.centres = centres
        self.probs[video] = np.asarray(probs)
        self.bg_probs[video] = np.asarray(bg_probs)
        self.grids[video] = grid
        self.durations[video] = duration_s

    def save(self, path, classes: Sequence[str]) -> None:
        save_signals(path, self.probs, classes=classes, bg_probs=self.bg_probs, grids=self.grids,
                     durations=self.durations, centres=self.centres)


def write_label_file(path, rows: list[dict], meta: dict) -> None:
    """The pseudo-labels fitted on a detector's signals (rows of ``pseudo_label_rows``) as ``admfit fit``'s JSON,
    with ``meta`` (``segment_units`` says whether segments are in seconds)."""
    write_pseudo_labels(path, rows, fmt="json", meta=meta)
