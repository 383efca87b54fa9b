"""The time axis of a detector's pyramid: where step j of level l sits on level 0 (torch-free).

One place for that fact. The training targets, the inference's mapping of coarse-level proposals, the
upsampling of the last level for ADM (``admfit.upsample_signal``), the detector plug-in (``DetectorOutput``)
and the figures all ask a ``Pyramid`` (or the ``StepCentres`` of one level); none computes a centre itself.

Units: positions are in level-0 snippets (fractional), steps are integer indices on level l.

How the centre follows from the layers: a 1-D convolution with kernel k, stride s and padding p computes output
step j from inputs s j - p .. s j - p + k - 1, so its output step j is centred on input position
s j + (k - 1) / 2 - p (``ConvLayer.shift`` is the second term). A stride-2, padding-1, kernel-3 convolution
(admfit_torch's down-sampling) centres output j on input 2 j: level-l step j sits on level-0 position j 2^l.
Resampling with ``interpolate(align_corners=False)``, the convention of files that say nothing about their
geometry, instead treats level-l step j as the window [j r, (j + 1) r) of level 0 (r = T_0 / T_l), centred
on (j + 0.5) r - 0.5: ``StepCentres.window_aligned``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np


@dataclass(frozen=True)
class StepCentres:
    """Step j of a signal is centred on level-0 position ``origin + j * spacing`` (level-0 snippets)."""

    origin: float = 0.0
    spacing: float = 1.0

    def __post_init__(self) -> None:
        if not (np.isfinite(self.origin) and np.isfinite(self.spacing) and self.spacing > 0):
            raise ValueError(f"step centres need a finite origin and a positive spacing, got {self.origin}, "
                             f"{self.spacing}")

    @classmethod
    def window_aligned(cls, steps: int, length: int) -> "StepCentres":
        """``steps`` steps spread over ``length`` level-0 snippets, each the window of length / steps of them
        (``interpolate(align_corners=False)``): step j centred on (j + 0.5) length / steps - 0.5."""
        spacing = length / steps
        return cls(origin=0.5 * spacing - 0.5, spacing=spacing)

    @property
    def is_identity(self) -> bool:
        return self.origin == 0.0 and self.spacing == 1.0

    def to_level0(self, steps):
        """Fractional step positions -> level-0 positions (float64)."""
        return self.origin + np.asarray(steps, dtype=np.float64) * self.spacing

    def from_level0(self, positions):
        """Level-0 positions -> fractional step positions (float64); the inverse of ``to_level0``."""
        return (np.asarray(positions, dtype=np.float64) - self.origin) / self.spacing

    def positions(self, count: int) -> np.ndarray:
        """(count,) level-0 centres of steps 0 .. count - 1."""
        return self.to_level0(np.arange(count))


@dataclass(frozen=True)
class ConvLayer:
    """A 1-D convolution's geometry: kernel size, stride and padding (steps of its input)."""

    kernel: int
    stride: int = 1
    padding: int = 0

    @property
    def shift(self) -> float:
        """The input position (input steps) on which output step 0 is centred: (kernel - 1) / 2 - padding."""
        return (self.kernel - 1) / 2.0 - self.padding


@dataclass(frozen=True)
class Pyramid:
    """Levels made one from the other by the same down-sampling: level l + 1 step j is centred on level-l
    position ``theta * j + shift``. Level 0 is the reference (shift in steps of the finer level)."""

    theta: int = 2
    shift: float = 0.0

    def __post_init__(self) -> None:
        if int(self.theta) != self.theta or self.theta < 1 or not np.isfinite(self.shift):
            raise ValueError(f"a pyramid needs an integer ratio >= 1 and a finite shift, got {self.theta}, {self.shift}")

    @classmethod
    def from_layers(cls, layers: Sequence[ConvLayer]) -> "Pyramid":
        """The pyramid whose every level is made from the previous one by ``layers`` in order (e.g. one strided
        convolution; point-wise layers, normalisations and centred attention do not move centres)."""
        theta, shift = 1, 0.0
        for layer in layers:  # composing: out j -> mid theta' j + shift' -> in theta (theta' j + shift') + shift
            shift += theta * layer.shift
            theta *= layer.stride
        return cls(theta, shift)

    @classmethod
    def window_aligned(cls, theta: int) -> "Pyramid":
        """The convention of ``interpolate(align_corners=False)``: level-l step j centred on (j + 0.5) theta^l - 0.5."""
        return cls(theta, (theta - 1) / 2.0)

    def level(self, level: int) -> StepCentres:
        """Where level ``level``'s steps sit on level 0."""
        spacing = float(self.theta ** level)
        # shift (1 + theta + ... + theta^(level-1)): every down-sampling adds its shift in its input's steps
        origin = self.shift * sum(self.theta ** i for i in range(level))
        return StepCentres(origin=float(origin), spacing=spacing)

    def centres(self, level: int, length: int) -> np.ndarray:
        """(length,) level-0 centres of steps 0 .. length - 1 of level ``level``."""
        return self.level(level).positions(length)
