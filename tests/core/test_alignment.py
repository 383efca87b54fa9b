"""The head-alignment check (admfit.fit.alignment) on hand-made heads whose shift is known."""
import numpy as np
import pytest

from admfit.fit import alignment
from admfit.levels import StepCentres

LENGTH = 200


def _box(start: int, end: int) -> np.ndarray:
    values = np.full(LENGTH, 0.05)
    values[start:end] = 0.9
    return values


def _action_evidence() -> np.ndarray:
    return np.maximum(_box(40, 60), _box(120, 130))


@pytest.mark.parametrize("shift", [-6, -3, -1, 0, 2, 5])
def test_the_best_lag_is_the_shift_of_the_background_head(shift):
    evidence = _action_evidence()
    assert alignment.best_lag(evidence, np.roll(evidence, shift)) == shift


def test_a_flat_head_or_a_video_too_short_for_any_lag_is_in_step():
    assert alignment.best_lag(_action_evidence(), np.full(LENGTH, 0.3)) == 0
    assert alignment.best_lag(np.arange(5.0), np.arange(5.0)[::-1]) == 0


def test_lags_read_the_point_classes_upsampled_from_their_own_steps():
    # Class 1 on a grid of 4 snippets a step holds the action at snippets 40-59 (steps 10-14); class 0, not
    # clicked, peaks elsewhere and must not count.
    coarse = np.full((LENGTH // 4, 2), 0.05)
    coarse[10:15, 1] = 0.9
    coarse[30:35, 0] = 0.9
    background = 1.0 - _box(40 + 3, 60 + 3)
    points = {"v": np.array([[50, 1]])}
    found = alignment.lags({"v": coarse}, points, {"v": background},
                           {"v": StepCentres.window_aligned(LENGTH // 4, LENGTH)})
    assert found == {"v": 3}
    # A boolean mask is a background head too; a video without points has no lag.
    mask = {"v": background > 0.5, "w": background > 0.5}
    assert alignment.lags({"v": coarse, "w": coarse}, {**points, "w": np.zeros((0, 2))}, mask,
                          {"v": StepCentres.window_aligned(LENGTH // 4, LENGTH), "w": None}) == {"v": 3}


def test_the_share_out_of_step_counts_lags_of_two_snippets_or_more_either_way():
    assert alignment.share_out_of_step({"a": 0, "b": 1, "c": -1, "d": 2, "e": -5}) == 2 / 5
    assert alignment.share_out_of_step({}) == 0.0
