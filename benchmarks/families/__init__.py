"""Signal families for the pseudo-label validation suite (benchmarks/pseudo_quality.py).

A *family* is a way of producing per-snippet detector outputs on the real THUMOS'14 training
videos, designed apart from the others, so that ADM's defaults can be chosen on some families
and checked on a held-out one (docs/adm.md). Each family module exposes

    VARIANTS: tuple[str, ...]                        # e.g. difficulties, or training lengths x seeds
    make_family(videos, classes, variant, seed) -> dict[str, FamilySignals]

``videos``: ``{video: admfit.datasets.VideoAnnotation}`` (real ids, durations, fps, instances);
``classes``: the class names, the column order of ``probs``. Generated data is never shipped.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from admfit.grid import SnippetGrid
from admfit.levels import StepCentres


@dataclass(frozen=True)
class FamilySignals:
    """One video's detector outputs.

    probs: (T_l, C) float64 class probabilities in [0, 1]; T_l <= T (a coarser last pyramid level is
        upsampled by the fit, as the pipeline does).
    bg_probs: (T,) float64 background probabilities in [0, 1] on the first-level snippet grid.
    grid: where the first-level snippets sit in time (seconds <-> snippet index).
    centres: where step j of a coarser ``probs`` sits on the first-level snippets (admfit.levels.StepCentres;
        a detector's own geometry), None for the window-aligned reading of other detectors' files.
    """

    probs: np.ndarray
    bg_probs: np.ndarray
    grid: SnippetGrid
    centres: StepCentres | None = None

    @property
    def num_snippets(self) -> int:
        """T, the first-level length in snippets."""
        return int(self.bg_probs.shape[0])
