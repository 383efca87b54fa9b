"""admfit.synthetic.families.independent_signals and .degradations on a few real THUMOS'14 training videos.

Shapes and ranges, determinism, a video's signals independent of the others, instance evidence where the
annotation puts it, noisy harder than clean, and each degradation doing what its name says (and nothing to
its input).
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import logit

from admfit.datasets import class_names, thumos14
from admfit.synthetic.families import FamilySignals
from admfit.synthetic.families.degradations import DEGRADATIONS, degrade
from admfit.synthetic.families.independent_signals import VARIANTS, confusion_matrix, make_family
from admfit.synthetic.layout import thumos14_grid

# Two-class videos (Cliff/Diving, Cricket), a 33 s instance (GolfSwing), many short ones (Billiards).
VIDEOS = ("video_validation_0000161", "video_validation_0000187", "video_validation_0000290",
          "video_validation_0000056")
SEED = 7


@pytest.fixture(scope="module")
def videos():
    train = thumos14("train")
    return {key: train[key] for key in VIDEOS}


@pytest.fixture(scope="module")
def classes():
    return class_names(thumos14("train"))


@pytest.fixture(scope="module")
def families(videos, classes):
    return {variant: make_family(videos, classes, variant, SEED) for variant in VARIANTS}


def _spans(video, grid, num_snippets, classes):
    """[(class column, bool mask of the snippets whose centre lies in the instance)] per instance."""
    index = np.arange(num_snippets)
    spans = []
    for inst in video.instances:
        start, end = grid.seconds_to_snippet([inst.start_s, inst.end_s])
        mask = (index >= np.floor(start)) & (index <= np.ceil(end))
        if mask.any():
            spans.append((classes.index(inst.label), mask))
    return spans


def _first_level(signals: FamilySignals) -> np.ndarray:
    """Class probabilities on the first-level grid (a coarse level repeated back out)."""
    factor = math.ceil(signals.num_snippets / signals.probs.shape[0])
    return np.repeat(signals.probs, factor, axis=0)[:signals.num_snippets]


def _contrast(signals, video, classes) -> float:
    """Mean over instances of (mean own-class probability inside) - (its median off every instance of the class)."""
    spans = _spans(video, signals.grid, signals.num_snippets, classes)
    probs = _first_level(signals)
    gaps = []
    for column, mask in spans:
        same_class = np.logical_or.reduce([m for c, m in spans if c == column])
        gaps.append(probs[mask, column].mean() - np.median(probs[~same_class, column]))
    return float(np.mean(gaps))


# --- the family -----------------------------------------------------------------------------------

@pytest.mark.parametrize("variant", VARIANTS)
def test_shapes_ranges_and_grid(families, videos, classes, variant):
    for key, signals in families[variant].items():
        grid, num_snippets = thumos14_grid(videos[key])
        assert signals.grid == grid
        assert signals.bg_probs.shape == (num_snippets,)
        expected_steps = math.ceil(num_snippets / 8) if variant == "coarse" else num_snippets
        assert signals.probs.shape == (expected_steps, len(classes))
        for values in (signals.probs, signals.bg_probs):
            assert values.dtype == np.float64
            assert np.isfinite(values).all() and values.min() >= 0.0 and values.max() <= 1.0


def test_same_seed_same_signals_other_seed_other_signals(families, videos, classes):
    again = make_family(videos, classes, "medium", SEED)
    other = make_family(videos, classes, "medium", SEED + 1)
    for key, signals in families["medium"].items():
        np.testing.assert_array_equal(again[key].probs, signals.probs)
        np.testing.assert_array_equal(again[key].bg_probs, signals.bg_probs)
        assert not np.allclose(other[key].probs, signals.probs)
        assert not np.allclose(other[key].bg_probs, signals.bg_probs)


def test_a_video_does_not_depend_on_the_other_videos(families, videos, classes):
    key = VIDEOS[2]
    alone = make_family({key: videos[key]}, classes, "noisy", SEED)[key]
    reversed_order = make_family(dict(reversed(list(videos.items()))), classes, "noisy", SEED)[key]
    for signals in (alone, reversed_order):
        np.testing.assert_array_equal(signals.probs, families["noisy"][key].probs)
        np.testing.assert_array_equal(signals.bg_probs, families["noisy"][key].bg_probs)


def test_clean_instances_raise_their_own_class(families, videos, classes):
    for key, signals in families["clean"].items():
        spans = _spans(videos[key], signals.grid, signals.num_snippets, classes)
        assert spans
        for column, mask in spans:
            same_class = np.logical_or.reduce([m for c, m in spans if c == column])
            off_median = np.median(signals.probs[~same_class, column])
            assert signals.probs[mask, column].mean() > off_median, (key, column)
        # The background head agrees: lower inside the instances than outside all of them.
        inside = np.logical_or.reduce([m for _, m in spans])
        assert signals.bg_probs[inside].mean() < signals.bg_probs[~inside].mean()


def test_noisy_has_less_contrast_than_clean(families, videos, classes):
    def mean_contrast(variant):
        return np.mean([_contrast(signals, videos[key], classes) for key, signals in families[variant].items()])
    assert mean_contrast("noisy") < mean_contrast("medium") < mean_contrast("clean")


def test_confusion_matrix_links_each_class_to_one_or_two_others():
    matrix = confusion_matrix(20, SEED)
    assert np.all(np.diag(matrix) == 0)
    links = np.count_nonzero(matrix, axis=1)
    assert links.min() >= 1 and links.max() <= 2
    assert matrix.max() < 1.0  # a leak is weaker than the class's own evidence
    np.testing.assert_array_equal(confusion_matrix(20, SEED), matrix)
    assert not np.array_equal(confusion_matrix(20, SEED + 1), matrix)


def test_instances_leak_into_their_similar_classes(families, videos, classes):
    """In the noisy variant, a similar class (not itself in the video) is higher inside an instance
    than elsewhere in the video, on average over instances."""
    matrix = confusion_matrix(len(classes), SEED)
    gaps = []
    for key, signals in families["noisy"].items():
        spans = _spans(videos[key], signals.grid, signals.num_snippets, classes)
        own = {column for column, _ in spans}
        inside = np.logical_or.reduce([m for _, m in spans])
        for column, mask in spans:
            for similar in set(np.flatnonzero(matrix[column])) - own:
                gaps.append(signals.probs[mask, similar].mean() - signals.probs[~inside, similar].mean())
    assert len(gaps) >= 3 and np.mean(gaps) > 0


def test_unknown_variant_is_refused(videos, classes):
    with pytest.raises(ValueError, match="variant"):
        make_family(videos, classes, "impossible", SEED)


# --- degradations ---------------------------------------------------------------------------------

def _single_snippet_outliers(probs: np.ndarray, jump: float = 0.4) -> int:
    """Steps that differ from both neighbours by more than ``jump``, in the same direction."""
    before, here, after = probs[:-2], probs[1:-1], probs[2:]
    up = (here - before > jump) & (here - after > jump)
    down = (before - here > jump) & (after - here > jump)
    return int(np.count_nonzero(up | down))


def _action_centroid(bg_probs: np.ndarray) -> float:
    """Mean snippet position weighted by (1 - background): where the background head sees action."""
    weight = 1.0 - bg_probs
    return float((np.arange(bg_probs.size) * weight).sum() / weight.sum())


def _best_lag(reference: np.ndarray, moved: np.ndarray, max_lag: int = 10) -> int:
    """The shift (snippets) that best aligns ``moved`` with ``reference`` (moved[t] ~ reference[t - lag])."""
    errors = {lag: np.mean((np.roll(reference, lag) - moved)[max_lag:-max_lag] ** 2)
              for lag in range(-max_lag, max_lag + 1)}
    return min(errors, key=errors.get)


def _check_spikes(before: FamilySignals, after: FamilySignals):
    assert _single_snippet_outliers(after.probs) > _single_snippet_outliers(before.probs)
    changed = np.flatnonzero((after.probs != before.probs).any(axis=1))
    assert changed.size and np.isin(after.probs[after.probs != before.probs], (0.9, 0.05)).all()


def _check_ar_noise(before, after):
    residual = logit(np.clip(after.probs, 1e-6, 1 - 1e-6)) - logit(np.clip(before.probs, 1e-6, 1 - 1e-6))
    assert residual.std() > 0.5  # strong: a fair part of a logit unit
    lag_one = np.corrcoef(residual[:-1].ravel(), residual[1:].ravel())[0, 1]
    assert lag_one > 0.5  # correlated in time, unlike white noise


def _check_bg_shift(before, after):
    assert abs(_action_centroid(after.bg_probs) - _action_centroid(before.bg_probs)) >= 1.0
    assert 2 <= abs(_best_lag(before.bg_probs, after.bg_probs)) <= 8
    np.testing.assert_array_equal(after.probs, before.probs)


def _check_bg_many(before, after):
    assert np.mean(after.bg_probs > 0.5) > np.mean(before.bg_probs > 0.5)


def _check_bg_few(before, after):
    assert np.mean(after.bg_probs > 0.5) < np.mean(before.bg_probs > 0.5)


def _check_quantised(before, after):
    for values in (after.probs, after.bg_probs):
        assert np.allclose(values * 10, np.round(values * 10), atol=1e-9)
    assert not np.array_equal(after.probs, before.probs)


def _check_temperature(before, after):
    for old, new in ((before.probs, after.probs), (before.bg_probs, after.bg_probs)):
        assert np.abs(new - 0.5).mean() < np.abs(old - 0.5).mean()
        assert np.array_equal(new > 0.5, old > 0.5)  # flatter, never flipped


def _check_coarse(before, after):
    assert after.probs.shape == (math.ceil(before.num_snippets / 8), before.probs.shape[1])
    np.testing.assert_allclose(after.probs[0], before.probs[:8].mean(axis=0))
    np.testing.assert_array_equal(after.bg_probs, before.bg_probs)


CHECKS = {"spikes": _check_spikes, "ar_noise": _check_ar_noise, "bg_shift": _check_bg_shift,
          "bg_many": _check_bg_many, "bg_few": _check_bg_few, "quantised": _check_quantised,
          "temperature": _check_temperature, "coarse": _check_coarse}


def test_every_degradation_is_checked():
    assert set(CHECKS) == set(DEGRADATIONS)


@pytest.mark.parametrize("kind", DEGRADATIONS)
def test_degradation_does_what_it_says_and_leaves_inputs_alone(families, kind):
    signals = families["medium"]
    copies = {key: (s.probs.copy(), s.bg_probs.copy()) for key, s in signals.items()}
    degraded = degrade(signals, kind, SEED)
    assert set(degraded) == set(signals)
    for key, before in signals.items():
        np.testing.assert_array_equal(before.probs, copies[key][0])
        np.testing.assert_array_equal(before.bg_probs, copies[key][1])
        after = degraded[key]
        assert not np.shares_memory(after.probs, before.probs)
        assert not np.shares_memory(after.bg_probs, before.bg_probs)
        assert after.grid == before.grid and after.bg_probs.shape == before.bg_probs.shape
        for values in (after.probs, after.bg_probs):
            assert np.isfinite(values).all() and values.min() >= 0.0 and values.max() <= 1.0
        CHECKS[kind](before, after)


@pytest.mark.parametrize("kind", ["spikes", "ar_noise", "bg_shift"])
def test_degradation_is_deterministic_per_video(families, kind):
    signals = families["medium"]
    key = VIDEOS[1]
    together = degrade(signals, kind, SEED)[key]
    alone = degrade({key: signals[key]}, kind, SEED)[key]
    np.testing.assert_array_equal(alone.probs, together.probs)
    np.testing.assert_array_equal(alone.bg_probs, together.bg_probs)


def test_unknown_degradation_is_refused(families):
    with pytest.raises(ValueError, match="degradation"):
        degrade(families["clean"], "sunburn", SEED)
