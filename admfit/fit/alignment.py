"""Whether a detector's two heads are in step: the lag, in first-level snippets, at which a video's class evidence
best matches its background head (docs/adm.md, "Self-tuning", the head-alignment check).

Per video, the class evidence is the highest probability over the classes of its points (upsampled to the first
level as the fit reads it) and the background evidence one minus the background probability (or mask). Both
lose their mean; the lag is the shift in [-MAX_LAG_SNIPPETS, MAX_LAG_SNIPPETS] with the highest Pearson
correlation over the snippets the two overlap on (positive: the background head is late). A head built on the
same features as the class head peaks at 0 or 1 snippet; one shifted in time peaks where it was shifted to.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from admfit.fit.signal import upsample_signal

MAX_LAG_SNIPPETS = 10  # first-level snippets each way
OFF_STEP_SNIPPETS = 2  # a video whose best lag is at least this far from 0 has its heads out of step
MIN_OVERLAP_SNIPPETS = 8  # a lag is tried only where the two overlap on at least this many snippets
FLAT = 1e-24  # product of the two stretches' energies at or below which one of them is flat (rounding of the mean)

_LAGS = sorted(range(-MAX_LAG_SNIPPETS, MAX_LAG_SNIPPETS + 1), key=lambda lag: (abs(lag), lag))  # ties: nearest 0


def best_lag(class_evidence: np.ndarray, background_evidence: np.ndarray) -> int:
    """The shift (snippets, positive: later) of ``background_evidence`` against ``class_evidence`` (both (T,))
    with the highest correlation; 0 when neither varies. Ties go to the smallest shift, then to the earlier."""
    a = np.asarray(class_evidence, dtype=np.float64)
    b = np.asarray(background_evidence, dtype=np.float64)
    a, b = a - a.mean(), b - b.mean()
    best, found = -np.inf, 0
    for lag in _LAGS:
        # Positive: background snippet t + lag pairs with class snippet t (the background head is late).
        x, y = (a[:a.size - lag], b[lag:]) if lag >= 0 else (a[-lag:], b[:b.size + lag])
        energies = np.dot(x, x) * np.dot(y, y)
        if x.size < MIN_OVERLAP_SNIPPETS or energies <= FLAT:  # a flat stretch has no lag to tell
            continue
        correlation = np.dot(x, y) / np.sqrt(energies)
        if correlation > best:
            best, found = correlation, lag
    return found


def lags(probs: Mapping, points: Mapping, background: Mapping, centres: Mapping | None = None) -> dict[str, int]:
    """{video: best_lag} of every video with points. ``probs``: (T_l, C) class probabilities; ``points``: (N, 2)
    rows (first-level snippet, class); ``background``: (T,) background probabilities or mask on the first level;
    ``centres``: each video's StepCentres (or None), as the fit takes them."""
    found = {}
    for video, rows in points.items():
        rows = np.asarray(rows, dtype=np.int64).reshape(-1, 2)
        if rows.shape[0] == 0:
            continue
        classes = np.unique(rows[:, 1])
        behind = 1.0 - np.asarray(background[video], dtype=np.float64)
        steps = None if centres is None else centres.get(video)
        evidence = upsample_signal(np.asarray(probs[video])[:, classes], behind.size, steps).max(axis=1)
        found[video] = best_lag(evidence, behind)
    return found


def share_out_of_step(video_lags: Mapping[str, int]) -> float:
    """The share of the videos whose best lag is OFF_STEP_SNIPPETS or more from 0 (0 with no videos)."""
    values = np.abs(np.fromiter(video_lags.values(), dtype=np.int64, count=len(video_lags)))
    return float((values >= OFF_STEP_SNIPPETS).mean()) if values.size else 0.0
