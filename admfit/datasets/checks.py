"""Data checks that refuse features on another grid than the one assumed, and points outside their video.

A feature extractor that slides a window of ``num_frames`` frames every ``stride`` frames over a video of
``duration_s * fps`` frames gives between

* ``floor((frames - num_frames) / stride) + 1`` snippets (only whole windows; ActionFormer's and I3D's usual
  count) and
* ``ceil(frames / stride)`` snippets (one per stride step, the last windows padded),

so a video's T (feature rows) must lie in that range, widened by ``LENGTH_TOLERANCE_SNIPPETS`` on each side
(decoders disagree on the last few frames). Features extracted on another grid fail by far more: LACP's
25 fps / 16-frame features under the 30 fps / stride-4 ActionFormer grid have about a fifth of the rows.

A point must lie where the features' windows reach: snippet ``i``'s window covers frames
``[i * stride, i * stride + num_frames)``, so the features cover the snippet positions
``[-num_frames / (2 stride), T - 1 + num_frames / (2 stride)]`` (centres, docs/spec.md section 3), again widened
by the tolerance. Such a point sits in the first or last snippet's window; a point further out means the grid,
the fps or the video is wrong, and is refused rather than clamped.

Used by ``admfit_torch`` (every video it loads) and ``admfit fit`` (when the signals file carries a grid and a
duration).
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from admfit.errors import InputError
from admfit.files.video_files import video_file
from admfit.grid import SnippetGrid

# Snippets of slack on each side of the expected T and of the features' reach (a snippet or two, as decoders
# round the frame count differently).
LENGTH_TOLERANCE_SNIPPETS = 2


def expected_snippets(grid: SnippetGrid, duration_s: float) -> tuple[int, int]:
    """(fewest, most) snippets a ``duration_s``-second video has on ``grid`` (module docstring)."""
    frames = duration_s * grid.fps
    whole_windows = max(1, math.floor((frames - grid.num_frames) / grid.stride + 1e-9) + 1)
    per_step = max(1, math.ceil(frames / grid.stride - 1e-9))
    return min(whole_windows, per_step), max(whole_windows, per_step)


def feature_file(source, video: str) -> str:
    """The file that holds ``video``'s features, for messages: ``FOLDER/VIDEO.npy`` for a folder source (through
    admfit.files.video_files.video_file: an id that cannot name a file is an InputError, never a path)."""
    first = source if isinstance(source, (str, os.PathLike)) else (list(source) or [""])[0]
    path = Path(first)
    return str(video_file(path, video, ".npy")) if path.is_dir() else str(path)


def check_feature_length(video: str, num_snippets: int, grid: SnippetGrid, duration_s: float | None, *,
                         file: str | None = None, tolerance: int = LENGTH_TOLERANCE_SNIPPETS,
                         remedy: str = "set data.grid / data.stride / data.num_frames, or the fps") -> None:
    """InputError when T = ``num_snippets`` does not fit ``duration_s`` seconds on ``grid`` (no duration: no check);
    ``remedy`` names the settings of the grid in the caller's terms."""
    if duration_s is None:
        return
    fewest, most = expected_snippets(grid, duration_s)
    if fewest - tolerance <= num_snippets <= most + tolerance:
        return
    expected = str(fewest) if fewest == most else f"{fewest}-{most}"
    raise InputError(
        f"expected T={expected} snippets (duration {duration_s:g} s x {grid.fps:g} fps / stride {grid.stride:g} "
        f"frames, window {grid.num_frames:g} frames; tolerance {tolerance} snippets), found T={num_snippets}: "
        f"the features are on another grid ({remedy})",
        file=file, video=video, field="T")


def points_reach(grid: SnippetGrid, num_snippets: int, tolerance: int = LENGTH_TOLERANCE_SNIPPETS
                 ) -> tuple[float, float]:
    """The snippet positions the features' windows cover, widened by ``tolerance`` snippets."""
    half_window = grid.num_frames / (2.0 * grid.stride)
    return -half_window - tolerance, num_snippets - 1 + half_window + tolerance


def check_points_inside(video: str, positions_snippets: Sequence[float], times_s: Sequence[float],
                        num_snippets: int, grid: SnippetGrid, *, file: str | None = None,
                        tolerance: int = LENGTH_TOLERANCE_SNIPPETS) -> None:
    """InputError naming the first point (time in seconds) outside what the video's T snippets cover."""
    positions = np.asarray(positions_snippets, dtype=np.float64).reshape(-1)
    low, high = points_reach(grid, num_snippets, tolerance)
    outside = np.flatnonzero((positions < low) | (positions > high))
    if not len(outside):
        return
    first = int(outside[0])
    covered_s = grid.snippet_to_seconds(num_snippets - 1) + grid.num_frames / (2.0 * grid.fps)
    raise InputError(
        f"{len(outside)} of {len(positions)} points lie outside the features: the first at "
        f"{float(times_s[first]):g} s is snippet {positions[first]:.1f}, but T={num_snippets} snippets cover "
        f"0-{covered_s:.1f} s (stride {grid.stride:g} frames at {grid.fps:g} fps); are the features on another grid?",
        file=file, video=video, field="points")
