"""The confidence of a pseudo-label: how well its interval agrees with where its signals put the action, without
ground truth (docs/adm.md, "Confidence").

The actionness of a snippet is the mean of the label's class probability (as the fit's preparation cleaned it:
despiked when ``ADMConfig.despike``, upsampled, not smoothed) and one minus the background probability as given (the
two heads, as ``admfit.fit.contrast`` reads them; a background mask counts as probabilities 0 and 1), smoothed by a
Gaussian of ``CONFIDENCE_SIGMA`` first-level snippets (scipy's ``gaussian_filter1d``, reflected at the video's
ends). Around a label [start, end] (snippets, rounded to the nearest):

- its peak is the highest actionness inside the interval, its floor the lowest within one interval length on each
  side; the half-height run is the snippets around the peak whose actionness is at least halfway from floor to peak;
- its run agreement is the IoU of the interval with that run (0 when nothing stands above the floor);
- its confidence is the run agreement times L / (L + ``CONFIDENCE_LENGTH``), L = end - start (snippets): an error of
  a few snippets at a boundary costs a short interval more tIoU than a long one.

A label whose boundaries sit where the actionness rises and falls scores near its length factor; one that stops
short of the run, or runs past it into background, scores lower. Every quantity is on the first-level snippet grid.
"""
from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d

from admfit.fit._kernels.confidence import run_agreements

CONFIDENCE_SIGMA = 2.0  # first-level snippets
CONFIDENCE_LENGTH = 8.0  # interval length (snippets) at which the length factor is one half


def actionness(class_column: np.ndarray, background: np.ndarray) -> np.ndarray:
    """(T,) the actionness the confidence reads, of one class column and the background probabilities (or mask),
    both on the video's T first-level snippets (the reference of ``admfit.fit.prepare``'s batch computation)."""
    values = 0.5 * (np.asarray(class_column, dtype=np.float64) + (1.0 - np.asarray(background, dtype=np.float64)))
    return gaussian_filter1d(values, CONFIDENCE_SIGMA)


def run_agreement(values: np.ndarray, start: float, end: float, level: float = 0.5, reach: float = 1.0) -> float:
    """The run agreement of one label [start, end] (snippets) on its (T,) actionness (module docstring): numpy,
    the reference of the batch kernel, which is this at the shipped ``level`` (of the way from floor to peak) and
    ``reach`` (of the floor, in interval lengths each side); others are for benchmarks/confidence_measures.py."""
    if not (np.isfinite(start) and np.isfinite(end)):
        return 0.0
    last = values.size - 1
    lo = int(min(max(np.rint(start), 0.0), last))
    hi = int(min(max(np.rint(end), lo), last))
    peak_at = lo + int(np.argmax(values[lo:hi + 1]))
    span = max(1, int(np.ceil(reach * (hi - lo + 1))))
    floor = min(values[peak_at], float(values[max(0, lo - span):min(last, hi + span) + 1].min()))
    if not values[peak_at] > floor:
        return 0.0
    threshold = floor + level * (values[peak_at] - floor)
    below = np.flatnonzero(values < threshold)
    left = int(below[below < peak_at].max(initial=-1)) + 1
    right = int(below[below > peak_at].min(initial=last + 1)) - 1
    return (min(hi, right) - max(lo, left) + 1) / (max(hi, right) - min(lo, left) + 1)


def length_factor(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """L / (L + CONFIDENCE_LENGTH), L = max(end - start, 0) snippets."""
    length = np.maximum(np.asarray(end, dtype=np.float64) - np.asarray(start, dtype=np.float64), 0.0)
    return length / (length + CONFIDENCE_LENGTH)


def label_confidence(actionness_values: np.ndarray, column_start: np.ndarray, length: np.ndarray, start: np.ndarray,
                     end: np.ndarray) -> np.ndarray:
    """(N,) in [0, 1): the confidence of N labels [start, end] (snippets), each on its column of the concatenated
    ``actionness_values`` (``length`` values from ``column_start``: a prepared batch's layout)."""
    start, end = np.asarray(start, dtype=np.float64), np.asarray(end, dtype=np.float64)
    agreement = run_agreements(actionness_values, column_start, length, start, end)
    return np.nan_to_num(agreement * length_factor(start, end), nan=0.0)
