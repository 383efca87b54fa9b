"""Time units: seconds <-> snippet (feature-step) positions.

A snippet is a window of ``num_frames`` frames taken every ``stride`` frames of a video
decoded at ``fps`` frames per second (docs/spec.md section 3). Snippet ``i`` is centred at
``(i * stride + num_frames / 2) / fps`` seconds, so a time ``t`` (seconds) lies at the
fractional snippet position ``t * fps / stride - num_frames / (2 * stride)``.

Presets: THUMOS'14 ActionFormer grid (native fps, 16-frame windows, stride 4, the grid the
ADM-Loc paper states); THUMOS'14 LACP grid (25 fps, non-overlapping 16-frame chunks,
0.64 s per snippet); ActivityNet-1.2 (25 fps, 16-frame windows, stride 16).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field


class SnippetGrid(BaseModel):
    """Where each snippet sits in time. All fields are in frames or frames per second."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    fps: float = Field(gt=0, allow_inf_nan=False, description="frames per second of the decoded video")
    stride: float = Field(default=4, gt=0, allow_inf_nan=False, description="frames between consecutive snippets")
    num_frames: float = Field(default=16, ge=0, allow_inf_nan=False, description="frames in one snippet's window")

    @property
    def seconds_per_snippet(self) -> float:
        return self.stride / self.fps

    def snippet_to_seconds(self, index_snippets):
        """Centre time (seconds) of fractional snippet position(s) ``index_snippets``."""
        return (np.asarray(index_snippets, dtype=np.float64) * self.stride + self.num_frames / 2.0) / self.fps

    def seconds_to_snippet(self, time_s):
        """Fractional snippet position of time(s) ``time_s`` (seconds); the inverse of snippet_to_seconds."""
        return np.asarray(time_s, dtype=np.float64) * self.fps / self.stride - self.num_frames / (2.0 * self.stride)

    def seconds_to_index(self, time_s, num_snippets: int):
        """Nearest snippet index (int) of time(s) ``time_s``, clipped to ``[0, num_snippets - 1]``."""
        position = np.rint(self.seconds_to_snippet(time_s))
        return np.clip(position, 0, num_snippets - 1).astype(np.int64)


@dataclass(frozen=True)
class SnippetMap:
    """Positions on a model input <-> level-0 snippets of the video it was taken from.

    The input starts at video snippet ``offset`` and each input step spans ``scale`` video snippets (a resized
    input: T / input length; a crop: 1). Centres line up: input step x is centred on video snippet
    ``offset + (x + 0.5) * scale - 0.5``. (Where a detector's coarser pyramid levels sit on its input is the
    pyramid's business: ``admfit.levels``.) Lengths (sigma, omega) scale without the shift.
    """

    offset: float = 0.0
    scale: float = 1.0

    def to_video(self, positions):
        """Input positions (fractional, float64) -> the video's level-0 snippet positions."""
        positions = np.asarray(positions, dtype=np.float64)
        if self.scale == 1.0:  # a pure shift, exactly (adding and removing the half step would round)
            return positions + self.offset
        return self.offset + (positions + 0.5) * self.scale - 0.5

    def from_video(self, snippets):
        """The video's level-0 snippet positions -> input positions; the inverse of ``to_video``."""
        snippets = np.asarray(snippets, dtype=np.float64)
        if self.scale == 1.0:
            return snippets - self.offset
        return (snippets - self.offset + 0.5) / self.scale - 0.5

    def length_to_video(self, lengths):
        """Lengths (e.g. sigma, in input steps) -> video snippets."""
        return np.asarray(lengths, dtype=np.float64) * self.scale

    def length_from_video(self, lengths):
        return np.asarray(lengths, dtype=np.float64) / self.scale

    def input_grid(self, grid: SnippetGrid) -> SnippetGrid:
        """The SnippetGrid of the input, given the video's ``grid``: a stride of ``scale`` video snippets, and a
        window that puts step x's centre where ``to_video(x)`` is (floored at 0 frames for scale < 1, where the
        exact window would be negative)."""
        window = grid.num_frames + grid.stride * (self.scale - 1.0 + 2.0 * self.offset)
        return SnippetGrid(fps=grid.fps, stride=grid.stride * self.scale, num_frames=max(0.0, window))


def thumos14_actionformer(fps: float = 30.0) -> SnippetGrid:
    return SnippetGrid(fps=fps, stride=4, num_frames=16)


def thumos14_lacp() -> SnippetGrid:
    """25 fps, non-overlapping 16-frame chunks: 0.64 s per snippet, snippet i covers [0.64 i, 0.64 (i+1))."""
    return SnippetGrid(fps=25.0, stride=16, num_frames=16)


def anet12() -> SnippetGrid:
    return SnippetGrid(fps=25.0, stride=16, num_frames=16)
