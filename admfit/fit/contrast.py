"""Boundary contrast: how well a pseudo-label's interval separates action from its surroundings, without ground
truth (docs/adm.md, "Self-tuning").

The actionness of a snippet is the mean of the label's class probability and one minus the background
probability (the two heads), smoothed along time by ``CONTRAST_SIGMA`` first-level snippets so that noise
averages out. A label's contrast is the mean actionness inside its interval minus the mean over the flanks just
outside it, each ``CONTRAST_MARGIN`` of the interval's length (at least one snippet), clipped to the video: the
outer-inner contrast of AutoLoc (Shou et al., ECCV 2018) on both heads. An interval that stops short of the action
has action in its flanks; one that runs past it has background inside: both lower the contrast.

Every quantity is on the first-level snippet grid (the background's), in snippets.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.ndimage import gaussian_filter1d

from admfit.fit.signal import upsample_signal
from admfit.levels import StepCentres

CONTRAST_SIGMA = 2.0  # first-level snippets
CONTRAST_MARGIN = 0.25  # of the interval's length, each side


# The smoothing's weights, as scipy.ndimage.gaussian_filter1d makes them (truncate 4: 8 snippets each side).
_RADIUS = int(4.0 * CONTRAST_SIGMA + 0.5)
GAUSSIAN_WEIGHTS = np.exp(-0.5 * (np.arange(-_RADIUS, _RADIUS + 1) / CONTRAST_SIGMA) ** 2)
GAUSSIAN_WEIGHTS /= GAUSSIAN_WEIGHTS.sum()


def actionness(probs: np.ndarray, length: int, classes: np.ndarray, bg_probs: np.ndarray | None,
               centres: StepCentres | None = None) -> np.ndarray:
    """(T, K) actionness of ``classes`` on a video's T first-level snippets, what a label's contrast is read on:
    the class probabilities (upsampled from their own steps) averaged with 1 - bg_probs (the class alone without
    a background head), Gaussian-filtered by CONTRAST_SIGMA snippets (edges repeated). ``ContrastTable`` computes
    the same sums without making this array; this is their reference (tests/core/test_contrast.py)."""
    columns = upsample_signal(np.asarray(probs)[:, classes], length, centres)
    if bg_probs is not None:
        columns = 0.5 * (columns + (1.0 - np.asarray(bg_probs, dtype=np.float64))[:, None])
    return gaussian_filter1d(columns, CONTRAST_SIGMA, axis=0, mode="nearest")


def lay_out(columns: list[np.ndarray], radius: int = _RADIUS) -> tuple[np.ndarray, np.ndarray]:
    """The columns end to end, each between ``radius`` copies of its edge values: (the array, where each column's
    first value sits in it)."""
    sizes = np.array([column.size for column in columns], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes + 2 * radius)[:-1]]).astype(np.int64) + radius
    laid = np.empty(int(sizes.sum() + 2 * radius * sizes.size))
    for column, start in zip(columns, starts.tolist()):
        laid[start - radius:start] = column[0]
        laid[start:start + column.size] = column
        laid[start + column.size:start + column.size + radius] = column[-1]
    return laid, starts


def running_sums(columns: list[np.ndarray], radius: int = _RADIUS) -> tuple[np.ndarray, np.ndarray]:
    """``lay_out``'s array as one running sum (0 first), and where each column's first value sits: the sum of
    column k over [lo, hi] is sums[first_k + hi + 1] - sums[first_k + lo], for lo and hi up to ``radius`` beyond
    the column's ends."""
    laid, starts = lay_out(columns, radius)
    return np.concatenate([[0.0], np.cumsum(laid)]), starts


def label_contrast(sums: np.ndarray, first: np.ndarray, length: np.ndarray, start: np.ndarray, end: np.ndarray,
                   weights: np.ndarray = GAUSSIAN_WEIGHTS) -> np.ndarray:
    """(N,) contrast of N intervals [start, end] (snippets, rounded to the nearest) on actionness smoothed by
    ``weights`` (odd length, centred).

    sums, first: ``running_sums`` of the labels' columns (padded by len(weights) // 2) and where each label's column
    starts in them; length: (N,) its T. The smoothed column's sum over [lo, hi] is the weighted sum of the raw
    column's sums over [lo - k, hi - k], k within the filter's reach: no smoothed copy is ever made.
    """
    last = length - 1
    lo = np.clip(np.rint(start), 0, last).astype(np.int64)
    hi = np.clip(np.rint(end), lo, last).astype(np.int64)
    inside = hi - lo + 1
    margin = np.maximum(1, np.ceil(CONTRAST_MARGIN * inside)).astype(np.int64)
    left, right = np.maximum(0, lo - margin), np.minimum(last, hi + margin)
    shifts = np.arange(len(weights) // 2, -(len(weights) // 2) - 1, -1)  # k for each weight, as correlate reads

    def smoothed_sum(a: np.ndarray, b: np.ndarray) -> np.ndarray:  # sum over [a, b - 1] of the smoothed column
        at = first[:, None] - shifts[None, :]
        return (sums[at + b[:, None]] - sums[at + a[:, None]]) @ weights

    total = smoothed_sum(lo, hi + 1)
    flanks = smoothed_sum(left, lo) + smoothed_sum(hi + 1, right + 1)
    outside = (lo - left) + (right - hi)
    # A label covering the whole video has no flanks: nothing to contrast, 0.
    return np.where(outside > 0, total / inside - flanks / np.maximum(outside, 1), 0.0)


class ContrastTable:
    """The actionness of every (video, class) that has points, built once and used to score any labels of those
    points (each candidate configuration's)."""

    def __init__(self, probs: Mapping, points: Mapping, bg_probs: Mapping | None,
                 centres: Mapping | None = None):
        class_columns, bg_columns, self._column = [], [], {}
        # Columns laid out in the order of the keys, not of the input: the one running sum's rounding, and so every
        # contrast to the last bit, does not depend on the order the videos come in.
        for video in sorted(points, key=str):
            rows = np.asarray(points[video], dtype=np.int64).reshape(-1, 2)
            if rows.shape[0] == 0:
                continue
            classes = sorted(set(rows[:, 1].tolist()))
            # Labels are on the background's snippets; without a background head, on the signal's own steps.
            background = None if bg_probs is None else np.asarray(bg_probs[video])
            signal = np.asarray(probs[video])
            length = signal.shape[0] if background is None else background.shape[0]
            steps = None if centres is None else centres.get(video)
            same_grid = signal.shape[0] == length and (steps is None or steps.is_identity)
            values = signal if same_grid else upsample_signal(signal[:, classes], length, steps)
            for k, label in enumerate(classes):
                self._column[video, label] = len(class_columns)
                class_columns.append(values[:, label if same_grid else k])
                bg_columns.append(background)
        self._length = np.array([column.size for column in class_columns], dtype=np.int64)
        if not class_columns:
            self._sums, self._first = np.zeros(1), np.zeros(0, np.int64)
            return
        laid, self._first = lay_out(class_columns)
        if bg_probs is not None:  # as actionness, on every column at once: 0.5 (class + 1 - background)
            background = lay_out(bg_columns)[0]
            np.subtract(1.0, background, out=background)
            laid += background
            laid *= 0.5
        self._sums = np.concatenate([[0.0], np.cumsum(laid)])

    def columns(self, video, label) -> np.ndarray:
        """(N,) the column of each label (video keys, class indices), for ``contrast_at``."""
        video_code, videos = _codes(video)
        labels = np.asarray(label, dtype=np.int64).reshape(-1)
        width = int(labels.max(initial=0)) + 1
        pairs, pair_of_label = np.unique(video_code * width + labels, return_inverse=True)
        column_of_pair = np.fromiter((self._column[videos[code // width], code % width] for code in pairs.tolist()),
                                     dtype=np.int64, count=pairs.size)
        return column_of_pair[pair_of_label.reshape(-1)]

    def contrast_at(self, columns: np.ndarray, start, end) -> np.ndarray:
        """(N,) contrast of intervals [start, end] (snippets) on the given columns."""
        return label_contrast(self._sums, self._first[columns], self._length[columns],
                              np.asarray(start, dtype=np.float64), np.asarray(end, dtype=np.float64))

    def contrast(self, video, label, start, end) -> np.ndarray:
        """(N,) contrast of labels given as columns (video keys, class indices, start and end in snippets)."""
        return self.contrast_at(self.columns(video, label), start, end)


def _codes(keys) -> tuple[np.ndarray, list]:
    """(N,) integer code of each key (str), and the distinct keys by code."""
    distinct, codes = np.unique(np.asarray(keys, dtype=str), return_inverse=True)
    return codes.reshape(-1).astype(np.int64), distinct.tolist()
