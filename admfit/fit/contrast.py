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


# scipy's gaussian_filter1d reaches int(truncate * sigma + 0.5) samples each side (truncate 4).
_RADIUS = int(4.0 * CONTRAST_SIGMA + 0.5)


def mixed_actionness(probs: np.ndarray, length: int, classes: np.ndarray, bg_probs: np.ndarray | None,
                     centres: StepCentres | None = None) -> np.ndarray:
    """(T, K) actionness of ``classes`` on a video's T first-level snippets, before smoothing: the class
    probabilities (upsampled from their own steps) averaged with 1 - bg_probs (the class alone when there is no
    background head)."""
    columns = upsample_signal(np.asarray(probs, dtype=np.float64)[:, classes], length, centres)
    if bg_probs is not None:
        columns = 0.5 * (columns + (1.0 - np.asarray(bg_probs, dtype=np.float64))[:, None])
    return columns


def actionness(probs: np.ndarray, length: int, classes: np.ndarray, bg_probs: np.ndarray | None,
               centres: StepCentres | None = None) -> np.ndarray:
    """(T, K) smoothed actionness: ``mixed_actionness`` Gaussian-filtered by CONTRAST_SIGMA snippets."""
    return gaussian_filter1d(mixed_actionness(probs, length, classes, bg_probs, centres), CONTRAST_SIGMA, axis=0,
                             mode="nearest")


def smooth_each(columns: list[np.ndarray]) -> list[np.ndarray]:
    """Each column Gaussian-filtered by CONTRAST_SIGMA (mode 'nearest'), in one call: every column padded by its
    edge values as far as the filter reaches, so that the result equals filtering each alone."""
    if not columns:
        return []
    padded = np.concatenate([np.pad(column, _RADIUS, mode="edge") for column in columns])
    smoothed = gaussian_filter1d(padded, CONTRAST_SIGMA, mode="nearest")
    ends = np.cumsum([column.size + 2 * _RADIUS for column in columns])
    return [smoothed[end - column.size - _RADIUS:end - _RADIUS] for column, end in zip(columns, ends)]


def label_contrast(cumulative: np.ndarray, first: np.ndarray, length: np.ndarray, start: np.ndarray,
                   end: np.ndarray) -> np.ndarray:
    """(N,) contrast of N intervals [start, end] (snippets, rounded to the nearest) on flat actionness.

    cumulative: the running sums of every (video, class) actionness column in turn, each column of length T
    preceded by a 0 (so T + 1 entries); first: (N,) where each label's column starts in ``cumulative``;
    length: (N,) its T.
    """
    last = length - 1
    lo = np.clip(np.rint(start), 0, last).astype(np.int64)
    hi = np.clip(np.rint(end), lo, last).astype(np.int64)
    inside = hi - lo + 1
    margin = np.maximum(1, np.ceil(CONTRAST_MARGIN * inside)).astype(np.int64)
    left, right = np.maximum(0, lo - margin), np.minimum(last, hi + margin)
    total = cumulative[first + hi + 1] - cumulative[first + lo]
    flanks = (cumulative[first + lo] - cumulative[first + left]) + (cumulative[first + right + 1]
                                                                     - cumulative[first + hi + 1])
    outside = (lo - left) + (right - hi)
    inner = total / inside
    # A label covering the whole video has no flanks: nothing to contrast, 0.
    return np.where(outside > 0, inner - flanks / np.maximum(outside, 1), 0.0)


class ContrastTable:
    """The actionness of every (video, class) that has points, built once and used to score any labels of those
    points (each candidate configuration's)."""

    def __init__(self, probs: Mapping, points: Mapping, bg_probs: Mapping | None,
                 centres: Mapping | None = None):
        columns, self._column = [], {}
        for video, rows in points.items():
            rows = np.asarray(rows, dtype=np.int64).reshape(-1, 2)
            if rows.shape[0] == 0:
                continue
            classes = np.unique(rows[:, 1])
            # Labels are on the background's snippets; without a background head, on the signal's own steps.
            length = int(np.asarray((probs if bg_probs is None else bg_probs)[video]).shape[0])
            values = mixed_actionness(probs[video], length, classes, None if bg_probs is None else bg_probs[video],
                                      None if centres is None else centres.get(video))
            for k, label in enumerate(classes.tolist()):
                self._column[video, label] = len(columns)
                columns.append(values[:, k])
        lengths = np.array([column.size for column in columns], dtype=np.int64)
        self._length = lengths
        self._first = np.concatenate([[0], np.cumsum(lengths + 1)[:-1]]).astype(np.int64)
        self._cumulative = np.concatenate([np.concatenate([[0.0], np.cumsum(column)])
                                           for column in smooth_each(columns)] or [np.zeros(0)])

    def contrast(self, video, label, start, end) -> np.ndarray:
        """(N,) contrast of labels given as columns (video keys, class indices, start and end in snippets)."""
        video_code, videos = _codes(video)
        labels = np.asarray(label, dtype=np.int64).reshape(-1)
        width = int(labels.max(initial=0)) + 1
        pairs, pair_of_label = np.unique(video_code * width + labels, return_inverse=True)
        column_of_pair = np.fromiter((self._column[videos[code // width], code % width] for code in pairs.tolist()),
                                     dtype=np.int64, count=pairs.size)
        column = column_of_pair[pair_of_label]
        return label_contrast(self._cumulative, self._first[column], self._length[column],
                              np.asarray(start, dtype=np.float64), np.asarray(end, dtype=np.float64))


def _codes(keys) -> tuple[np.ndarray, list]:
    """(N,) integer code of each key, and the distinct keys by code (in order of first appearance)."""
    index: dict = {}
    codes = np.fromiter((index.setdefault(key, len(index)) for key in keys), dtype=np.int64)
    return codes, list(index)
