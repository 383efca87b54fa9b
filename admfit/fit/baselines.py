"""Thresholding: the pseudo-label baseline that ADM is measured against (paper Table 2, first row).

Threshold a class signal at a value and take connected runs of snippets at or above it, either
the one run containing each point (one label per point) or every run of every class that has
points (the base model's proposals, many per point). Snippet indices on the first-level grid.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from admfit.fit._kernels.adm import split_at_neighbours
from admfit.fit.api import neighbouring_points


@dataclass(frozen=True, slots=True)
class Segment:
    """A run [start, end] (snippets, inclusive) of class `label` in `video`; score: mean signal inside."""

    video: str
    label: int
    start: int
    end: int
    score: float


def runs_above(signal: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """(starts, ends), inclusive snippet indices, of the maximal runs where signal >= threshold."""
    above = np.concatenate(([False], np.asarray(signal) >= threshold, [False]))
    edges = np.flatnonzero(above[1:] != above[:-1])
    return edges[0::2], edges[1::2] - 1


def run_containing(signal: np.ndarray, point: int, threshold: float) -> tuple[int, int]:
    """The run at or above threshold that holds ``point``; (point, point) when the point is below it.

    A point below the threshold still gets a label (a zero-length one at the point), so the
    baseline keeps exactly one label per point, as ADM does.
    """
    starts, ends = runs_above(signal, threshold)
    inside = np.flatnonzero((starts <= point) & (point <= ends))
    if inside.size == 0:
        return point, point
    return int(starts[inside[0]]), int(ends[inside[0]])


def threshold_per_point(signals: dict[str, np.ndarray], points: dict[str, np.ndarray],
                        threshold: float, *, split_at_points: bool = False) -> list[Segment]:
    """One segment per point: the run containing it. signals: video -> (T, C); points: video -> (N, 2).

    split_at_points: the run also stops before the signal's lowest snippet between the point and
    each neighbouring point of its class, the rule ADMConfig(split_at_points=True) applies to brackets.
    """
    segments = []
    for video, rows in points.items():
        rows = np.asarray(rows, dtype=np.int64).reshape(-1, 2)
        length = signals[video].shape[0]
        previous, following = neighbouring_points(rows[:, 0], rows[:, 1], length, split_at_points)
        starts, ends = _runs_of_points(signals[video], rows, threshold)
        for (point, label), start, end, before, after in zip(rows.tolist(), starts.tolist(), ends.tolist(),
                                                              previous.tolist(), following.tolist()):
            signal = signals[video][:, label]
            if split_at_points:
                low, high = split_at_neighbours(signal, -1, length, point, before, after, 0.0)
                start, end = max(start, low + 1), min(end, high - 1)
            segments.append(Segment(video, label, start, end, float(signal[start:end + 1].mean())))
    return segments


def _runs_of_points(probs: np.ndarray, rows: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """(start, end) of run_containing for every (snippet, class) row of one video, each class's runs found once."""
    starts, ends = rows[:, 0].copy(), rows[:, 0].copy()
    for label in np.unique(rows[:, 1]):
        members = np.flatnonzero(rows[:, 1] == label)
        run_starts, run_ends = runs_above(probs[:, label], threshold)
        if run_starts.size == 0:
            continue
        which = np.searchsorted(run_starts, rows[members, 0], side="right") - 1
        inside = (which >= 0) & (rows[members, 0] <= run_ends[np.maximum(which, 0)])
        starts[members[inside]] = run_starts[which[inside]]
        ends[members[inside]] = run_ends[which[inside]]
    return starts, ends


def threshold_all_runs(signals: dict[str, np.ndarray], points: dict[str, np.ndarray],
                       threshold: float) -> list[Segment]:
    """Every run of every class that has a point in the video (the base model's proposals)."""
    segments = []
    for video, rows in points.items():
        for label in np.unique(np.asarray(rows, dtype=np.int64).reshape(-1, 2)[:, 1]):
            signal = signals[video][:, label]
            for start, end in zip(*runs_above(signal, threshold)):
                segments.append(Segment(video, int(label), int(start), int(end),
                                        float(signal[start:end + 1].mean())))
    return segments
