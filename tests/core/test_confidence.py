"""The labels' confidence (admfit.fit.confidence) on hand-made signals whose right interval is known, and its batch
kernel against the numpy reference."""
import numpy as np
import pytest

from admfit import ADMConfig, fit_instances
from admfit.fit._kernels.confidence import run_agreements
from admfit.fit.confidence import CONFIDENCE_LENGTH, actionness, label_confidence, length_factor, run_agreement

LENGTH = 200
BOX = (80, 119)  # snippets, inclusive: the one action instance


def _box(level_in=0.9, level_out=0.05, box=BOX):
    """(class column, background probabilities): both heads agree on the box."""
    column = np.full(LENGTH, level_out)
    column[box[0]:box[1] + 1] = level_in
    return column, 1.0 - column


def _agreement(start, end, **levels):
    return run_agreement(actionness(*_box(**levels)), start, end)


def test_the_true_interval_agrees_with_the_half_height_run():
    assert _agreement(*BOX) == 1.0


@pytest.mark.parametrize("interval, expected", [
    ((90, 109), 20 / 40),   # stops short on both sides: 20 of the run's 40 snippets
    ((100, 119), 20 / 40),  # misses the first half
    ((60, 139), 40 / 80),   # runs into background on both sides
    ((80, 139), 40 / 60),   # runs past the end
])
def test_a_short_long_or_shifted_interval_agrees_by_its_iou_with_the_run(interval, expected):
    assert _agreement(*interval) == pytest.approx(expected)


def test_an_interval_on_nothing_but_noise_free_background_has_no_agreement():
    flat = actionness(np.full(LENGTH, 0.1), np.full(LENGTH, 0.9))
    assert run_agreement(flat, 10, 30) == 0.0


def test_the_length_factor_prefers_the_longer_of_two_equally_agreeing_labels():
    short, long = length_factor(np.array([0.0, 0.0]), np.array([8.0, 40.0]))
    assert short == pytest.approx(0.5) and long == pytest.approx(40 / (40 + CONFIDENCE_LENGTH))
    values = actionness(*_box())
    other = actionness(*_box(box=(20, 27)))
    both = np.concatenate([values, other])
    confidence = label_confidence(both, np.array([0, LENGTH]), np.array([LENGTH, LENGTH]), np.array([80.0, 20.0]),
                                  np.array([119.0, 27.0]))
    assert confidence[1] < confidence[0]


def test_the_kernel_gives_the_reference_to_the_bit():
    rng = np.random.default_rng(7)
    columns, starts, ends, values = [], [], [], []
    for _ in range(300):
        length = int(rng.integers(1, 120))
        column = actionness(rng.random(length), rng.random(length))
        a, b = np.sort(rng.uniform(-5, length + 5, 2))
        if rng.random() < 0.05:
            a = np.nan  # a fit that failed: no confidence
        columns.append(column)
        starts.append(a)
        ends.append(b)
    lengths = np.array([c.size for c in columns], dtype=np.int64)
    first = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    found = run_agreements(np.concatenate(columns), first, lengths, np.array(starts), np.array(ends))
    expected = np.array([run_agreement(c, s, e) for c, s, e in zip(columns, starts, ends)])
    assert found.tobytes() == expected.tobytes()
    assert np.all((found >= 0) & (found <= 1))


def test_a_label_cut_short_by_a_false_background_call_is_trusted_less_than_the_clean_one():
    # The same instance twice; in the second video the background head calls two snippets inside the action
    # background, which cuts the fit's bracket there (without background agreement). Averaged with the strong
    # class signal and smoothed, the two snippets do not break the half-height run: the label disagrees with it.
    column, bg = _box()
    false_call = bg.copy()
    false_call[88:90] = 0.95
    probs = {"clean": column[:, None], "cut": column[:, None]}
    labels = fit_instances(probs, {"clean": [[100, 0]], "cut": [[100, 0]]},
                           bg_probs={"clean": bg, "cut": false_call}, config=ADMConfig(bg_agreement=0.0))
    clean, cut = labels
    assert cut.start > clean.start + 5  # the premise: the false call did cut the label
    assert 0.0 <= cut.confidence < clean.confidence < 1.0
    # Not the length factor alone: the run agreement (confidence / length factor) says which label is wrong.
    agreement = [label.confidence / length_factor(label.start, label.end) for label in labels]
    assert agreement[0] > 0.95 and agreement[1] < 0.85
