"""How much evidence an action instance gives each snippet: plateaus and bells, drawn per instance.

Positions are fractional snippet indices on the video's grid (``SnippetGrid.seconds_to_snippet``);
an instance spans ``[start, end]`` snippets. Every function is vectorised over instances and over
the snippets each instance touches (no per-snippet Python loop).

Plateau: ``expit((t - start) / ramp_in) * expit((end - t) / ramp_out)``, rescaled to peak 1, so the
evidence is 0.5 at the annotated boundaries and the two ramps may differ (asymmetric).
Bell: a two-sided Gaussian peaking at ``centre`` (somewhere near the middle), with the left and
right widths chosen so that the boundaries get ``exp(-k^2 / 2)`` of the peak: low-evidence,
ambiguous boundary snippets.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy.special import expit

from ..errors import InputError

# Evidence beyond this many ramp widths / bell widths is below 0.25 % of the peak: not evaluated.
_PLATEAU_REACH = 6.0
_BELL_REACH = 3.5
_MIN_WIDTH_SNIPPETS = 0.25

Range = tuple[float, float]


class ShapeKnobs(BaseModel):
    """How each instance's evidence is drawn (:func:`instance_shapes`): the knobs the signal and the feature
    generators share (``SignalDifficulty``, ``FeatureDifficulty``). Widths in snippets."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bell_fraction: float = Field(ge=0, le=1, description="share of instances whose evidence is a bell, not a plateau")
    peak_range: Range = Field(description="top evidence of an instance (a probability for the signals, a prototype "
                                          "weight for the features), drawn uniformly")
    ramp_snippets: float = Field(gt=0, description="fixed part of a plateau ramp width (snippets)")
    ramp_fraction_range: Range = Field(description="part of a ramp width proportional to the instance length")
    bell_edge_range: Range = Field(description="k: the boundaries sit k Gaussian widths from the bell's top")
    bell_offset: float = Field(ge=0, le=0.4, description="bell top moves up to this fraction of the length off-centre")

    @classmethod
    def named(cls, difficulty, presets: Mapping[str, "ShapeKnobs"]):
        """``difficulty`` itself when it is knobs of this class, else the preset of that name."""
        if isinstance(difficulty, cls):
            return difficulty
        if difficulty not in presets:
            raise InputError(f"unknown difficulty {difficulty!r} (expected one of {', '.join(presets)})",
                             field="difficulty")
        return presets[difficulty]


@dataclass(frozen=True)
class InstanceShapes:
    """Per-instance shape parameters; every array is (N,), positions and widths in snippets."""

    start: np.ndarray
    end: np.ndarray
    is_bell: np.ndarray        # bool
    peak: np.ndarray           # evidence at the top, in [0, 1]
    ramp_in: np.ndarray        # plateau: width of the rising sigmoid (snippets)
    ramp_out: np.ndarray       # plateau: width of the falling sigmoid (snippets)
    centre: np.ndarray         # bell: position of the top (snippets)
    sigma_in: np.ndarray       # bell: Gaussian width left of the top (snippets)
    sigma_out: np.ndarray      # bell: Gaussian width right of the top (snippets)


def draw_shapes(rng: np.random.Generator, start: np.ndarray, end: np.ndarray, *, bell_fraction: float,
                peak_range: tuple[float, float], ramp_snippets: float, ramp_fraction_range: tuple[float, float],
                bell_edge_range: tuple[float, float], bell_offset: float) -> InstanceShapes:
    """Draw a shape for each instance ``[start[i], end[i]]`` (snippets).

    ramp_snippets + U(ramp_fraction_range) * length gives each plateau ramp (in and out drawn apart);
    bell_edge_range is the range of k (the boundary sits k Gaussian widths from the top);
    bell_offset moves the top by up to that fraction of the length from the middle.
    """
    start = np.asarray(start, dtype=np.float64)
    end = np.maximum(np.asarray(end, dtype=np.float64), start)
    count = start.shape[0]
    length = np.maximum(end - start, 2 * _MIN_WIDTH_SNIPPETS)
    is_bell = rng.random(count) < bell_fraction
    peak = rng.uniform(*peak_range, count)
    ramps = ramp_snippets + rng.uniform(*ramp_fraction_range, (2, count)) * length
    centre = start + length * (0.5 + rng.uniform(-bell_offset, bell_offset, count))
    edge_k = rng.uniform(*bell_edge_range, (2, count))
    sigma_in = np.maximum((centre - start) / edge_k[0], _MIN_WIDTH_SNIPPETS)
    sigma_out = np.maximum((start + length - centre) / edge_k[1], _MIN_WIDTH_SNIPPETS)
    return InstanceShapes(start, end, is_bell, peak, np.maximum(ramps[0], _MIN_WIDTH_SNIPPETS),
                          np.maximum(ramps[1], _MIN_WIDTH_SNIPPETS), centre, sigma_in, sigma_out)


def instance_shapes(rng: np.random.Generator, segments: np.ndarray, num_snippets: int,
                    knobs: ShapeKnobs) -> InstanceShapes:
    """A shape for each instance of ``segments`` ((N, 2) fractional snippets), its ends clipped to the video's
    ``num_snippets`` snippets."""
    start = np.clip(segments[:, 0], -0.5, num_snippets - 0.5)
    end = np.clip(segments[:, 1], -0.5, num_snippets - 0.5)
    return draw_shapes(rng, start, end, bell_fraction=knobs.bell_fraction, peak_range=knobs.peak_range,
                       ramp_snippets=knobs.ramp_snippets, ramp_fraction_range=knobs.ramp_fraction_range,
                       bell_edge_range=knobs.bell_edge_range, bell_offset=knobs.bell_offset)


def reach(shapes: InstanceShapes, num_snippets: int) -> tuple[np.ndarray, np.ndarray]:
    """Integer snippet window [lo, hi) outside which each instance's evidence is negligible."""
    plateau_lo = shapes.start - _PLATEAU_REACH * shapes.ramp_in
    plateau_hi = shapes.end + _PLATEAU_REACH * shapes.ramp_out
    bell_lo = shapes.centre - _BELL_REACH * shapes.sigma_in
    bell_hi = shapes.centre + _BELL_REACH * shapes.sigma_out
    lo = np.where(shapes.is_bell, bell_lo, plateau_lo)
    hi = np.where(shapes.is_bell, bell_hi, plateau_hi)
    lo = np.clip(np.floor(lo), 0, num_snippets).astype(np.int64)
    hi = np.clip(np.ceil(hi) + 1, 0, num_snippets).astype(np.int64)
    return lo, np.maximum(hi, lo)


def spans(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All snippet indices of the windows [lo[i], hi[i]) concatenated, and which window each came from."""
    counts = hi - lo
    owner = np.repeat(np.arange(counts.shape[0]), counts)
    first_of_window = np.cumsum(counts) - counts
    positions = np.arange(owner.shape[0]) - first_of_window[owner] + lo[owner]
    return positions, owner


def evidence(shapes: InstanceShapes, positions: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """Evidence in [0, peak] of instance ``owner[j]`` at snippet ``positions[j]``."""
    t = positions.astype(np.float64)
    start, end = shapes.start[owner], shapes.end[owner]
    ramp_in, ramp_out = shapes.ramp_in[owner], shapes.ramp_out[owner]
    plateau = expit((t - start) / ramp_in) * expit((end - t) / ramp_out)
    # Short instances with soft ramps never reach 1: rescale by the value in the middle.
    middle = (start + end) / 2
    plateau /= expit((middle - start) / ramp_in) * expit((end - middle) / ramp_out)
    offset = t - shapes.centre[owner]
    width = np.where(offset < 0, shapes.sigma_in[owner], shapes.sigma_out[owner])
    bell = np.exp(-0.5 * (offset / width) ** 2)
    return shapes.peak[owner] * np.minimum(np.where(shapes.is_bell[owner], bell, plateau), 1.0)
