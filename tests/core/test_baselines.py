"""The thresholding baseline, on signals small enough to check by eye."""
import numpy as np

from admfit.fit.baselines import run_containing, runs_above, threshold_all_runs, threshold_per_point

SIGNAL = np.array([0.1, 0.6, 0.7, 0.2, 0.5, 0.5, 0.5, 0.1])


def test_runs_above_are_maximal_and_inclusive():
    starts, ends = runs_above(SIGNAL, 0.5)
    # >= 0.5 at 1, 2 and at 4, 5, 6.
    assert starts.tolist() == [1, 4] and ends.tolist() == [2, 6]
    assert runs_above(SIGNAL, 0.9)[0].size == 0


def test_run_containing_point_or_zero_length():
    assert run_containing(SIGNAL, 5, 0.5) == (4, 6)
    assert run_containing(SIGNAL, 3, 0.5) == (3, 3)  # 0.2 < 0.5: the point alone


def test_per_point_and_all_runs():
    probs = {"v": np.stack([SIGNAL, 1 - SIGNAL], axis=1)}
    points = {"v": np.array([[1, 0], [5, 0]])}
    per_point = threshold_per_point(probs, points, 0.5)
    assert [(s.start, s.end) for s in per_point] == [(1, 2), (4, 6)]
    assert per_point[0].score == np.mean([0.6, 0.7])
    every = threshold_all_runs(probs, points, 0.5)
    # Only class 0 has points: its two runs, once each, though two points share the video.
    assert [(s.label, s.start, s.end) for s in every] == [(0, 1, 2), (0, 4, 6)]


def test_per_point_runs_split_at_neighbouring_points():
    signal = np.array([0.1, 0.8, 0.9, 0.7, 0.8, 0.9, 0.1])
    probs = {"v": signal[:, None]}
    points = {"v": np.array([[1, 0], [5, 0]])}
    whole = threshold_per_point(probs, points, 0.5)
    assert [(s.start, s.end) for s in whole] == [(1, 5), (1, 5)]
    # The lowest snippet between the points (3, at 0.7) ends both runs.
    split = threshold_per_point(probs, points, 0.5, split_at_points=True)
    assert [(s.start, s.end) for s in split] == [(1, 2), (4, 5)]
