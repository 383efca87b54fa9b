"""Boundary contrast (admfit.fit.contrast) on hand-made signals whose best interval is known: a box of action on
a flat background, with both heads agreeing."""
import numpy as np
import pytest

from admfit.fit.contrast import CONTRAST_MARGIN, ContrastTable, actionness, label_contrast, running_sums

LENGTH = 200
BOX = (80, 119)  # snippets, inclusive: the one action instance
CLASSES = 3
LABEL = 1


def _box_video(level_in=0.9, level_out=0.05):
    probs = np.full((LENGTH, CLASSES), level_out)
    probs[BOX[0]:BOX[1] + 1, LABEL] = level_in
    bg_probs = np.full(LENGTH, 1.0 - level_out)
    bg_probs[BOX[0]:BOX[1] + 1] = 1.0 - level_in
    return probs, bg_probs


def _table(**levels):
    probs, bg_probs = _box_video(**levels)
    return ContrastTable({"v": probs}, {"v": np.array([[100, LABEL]])}, {"v": bg_probs})


def _contrast(table, start, end):
    return float(table.contrast(["v"], [LABEL], [start], [end])[0])


def test_the_true_interval_scores_higher_than_shorter_longer_or_shifted_ones():
    table = _table()
    exact = _contrast(table, *BOX)
    for start, end in [(90, 109), (95, 104), (60, 139), (40, 160), (70, 109), (90, 129), (0, 50)]:
        assert _contrast(table, start, end) < exact, (start, end)


def test_contrast_grows_with_the_gap_between_action_and_background():
    assert _contrast(_table(level_in=0.6), *BOX) < _contrast(_table(level_in=0.9), *BOX)


def test_an_interval_over_flat_signal_has_no_contrast():
    sums, first = running_sums([np.full(LENGTH, 0.5)])
    value = label_contrast(sums, first, np.array([LENGTH]), np.array([50.0]), np.array([70.0]))
    assert value[0] == pytest.approx(0.0, abs=1e-12)


def test_the_contrast_is_read_on_the_smoothed_actionness():
    """label_contrast's weighted sums equal the means of ``actionness`` (the Gaussian-filtered column) itself."""
    probs, bg_probs = _box_video()
    probs = probs + np.random.default_rng(0).uniform(0, 0.05, probs.shape)
    smoothed = actionness(probs, LENGTH, np.array([LABEL]), bg_probs)[:, 0]
    table = ContrastTable({"v": probs}, {"v": np.array([[100, LABEL]])}, {"v": bg_probs})
    for start, end in [(80, 119), (0, 30), (150, 199), (3, 5)]:
        margin = int(np.ceil(CONTRAST_MARGIN * (end - start + 1)))
        flanks = np.r_[smoothed[max(0, start - margin):start], smoothed[end + 1:end + 1 + margin]]
        expected = smoothed[start:end + 1].mean() - flanks.mean()
        assert _contrast(table, start, end) == pytest.approx(expected, abs=1e-12)


def test_the_whole_video_has_no_flanks_and_scores_zero():
    assert _contrast(_table(), 0, LENGTH - 1) == 0.0


def test_flanks_are_a_quarter_of_the_length_and_clipped_to_the_video():
    # A step from 0 to 1 at snippet 10 of a 0..19 column, unsmoothed: [10, 17] (8 snippets, flanks of 2)
    # has mean 1 inside; its left flank [8, 9] is 0, its right flank [18, 19] is 1: contrast 1 - 0.5.
    sums, first = running_sums([np.r_[np.zeros(10), np.ones(10)]], radius=0)
    unsmoothed = np.array([1.0])
    assert CONTRAST_MARGIN == 0.25
    value = label_contrast(sums, first, np.array([20]), np.array([10.0]), np.array([17.0]), unsmoothed)
    assert value[0] == pytest.approx(0.5)
    # At the video's end only the left flank exists: [12, 19], flank [10, 11] of ones: contrast 0.
    at_end = label_contrast(sums, first, np.array([20]), np.array([12.0]), np.array([19.0]), unsmoothed)
    assert at_end[0] == pytest.approx(0.0)


def test_actionness_averages_the_class_and_one_minus_the_background():
    probs, bg_probs = _box_video()
    both = actionness(probs, LENGTH, np.array([LABEL]), bg_probs)[:, 0]
    alone = actionness(probs, LENGTH, np.array([LABEL]), None)[:, 0]
    np.testing.assert_allclose(both, alone)  # the two heads agree here
    other_bg = np.full(LENGTH, 0.5)
    mixed = actionness(probs, LENGTH, np.array([LABEL]), other_bg)[:, 0]
    np.testing.assert_allclose(mixed, 0.5 * (alone + 0.5), atol=1e-12)


def test_a_coarse_signal_is_upsampled_to_the_background_grid():
    probs, bg_probs = _box_video()
    coarse = probs.reshape(LENGTH // 4, 4, CLASSES).mean(axis=1)  # a level 4 times coarser
    table = ContrastTable({"v": coarse}, {"v": np.array([[100, LABEL]])}, {"v": bg_probs})
    assert _contrast(table, *BOX) > _contrast(table, 90, 109)


def test_labels_of_several_videos_and_classes_are_scored_each_on_its_own_column():
    probs, bg_probs = _box_video()
    flat = np.full((LENGTH, CLASSES), 0.05)
    table = ContrastTable({"a": probs, "b": flat}, {"a": np.array([[100, LABEL], [20, 0]]), "b": np.array([[100, 2]])},
                          {"a": bg_probs, "b": np.full(LENGTH, 0.95)})
    found = table.contrast(["a", "b", "a"], [LABEL, 2, 0], [80, 80, 80], [119, 119, 119])
    alone = _contrast(_table(), *BOX)
    assert found[0] == pytest.approx(alone)
    assert found[1] == pytest.approx(0.0, abs=1e-9)  # flat signal
    # class 0 of video a: flat class signal, but the background head shows the box: half the contrast
    assert found[2] == pytest.approx(alone / 2, rel=1e-6)
