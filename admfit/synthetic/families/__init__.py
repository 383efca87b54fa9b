"""Data families designed apart from ``admfit.synthetic``'s own generators: a quality claim must hold on data that
does not share one designer's assumptions (docs/adm.md, "The validation suite:
signal families designed apart"; docs/ablations.md, "The second feature generator").

Signal families (per-snippet detector outputs on the real THUMOS'14 training videos, what the pseudo-label suite
``python -m benchmarks pseudo_quality`` fits): ``independent_signals`` (detector-like heads built in logit space)
and ``degradations`` (the ways a real detector's outputs go wrong, applied to any family). A signal family module
exposes

    VARIANTS: tuple[str, ...]                        # e.g. difficulties, or training lengths x seeds
    make_family(videos, classes, variant, seed) -> dict[str, FamilySignals]

``videos``: ``{video: admfit.datasets.VideoAnnotation}`` (real ids, durations, fps, instances);
``classes``: the class names, the column order of ``probs``. The reference detector's own outputs are the
family of ``admfit_torch.detector_family``.

Feature family: ``independent_features`` (I3D-like snippet features on the real THUMOS'14 annotations and
points, what the ablations train on besides ``admfit synth``). Generated data is never shipped.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...grid import SnippetGrid
from ...levels import StepCentres


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
