"""admfit.synthetic: determinism, shapes, the real counts, and instances where the annotation puts them."""
from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from admfit.datasets import Instance, VideoAnnotation, class_names, thumos14
from admfit.errors import InputError
from admfit.synthetic import (
    DIFFICULTIES,
    FEATURE_DIFFICULTIES,
    SignalDifficulty,
    anet12_grid,
    make_features,
    make_signals,
    thumos14_grid,
)

CLASSES = ["Jump", "Throw"]


@pytest.fixture(scope="module")
def train():
    return thumos14("train")


@pytest.fixture(scope="module")
def classes():
    return class_names(thumos14())


def _video(name="v", duration_s=10.0, fps=30.0, instances=((3.0, 6.0, "Jump"),)):
    return VideoAnnotation(video=name, subset="train", duration_s=duration_s, fps=fps, instances=[
        Instance(label=label, label_id=CLASSES.index(label), start_s=start, end_s=end)
        for start, end, label in instances])


def _inside_mask(segments, num_snippets):
    """(T,) bool: snippets whose index lies within some [start, end] (fractional snippets)."""
    index = np.arange(num_snippets)
    return ((index[:, None] >= segments[:, 0]) & (index[:, None] <= segments[:, 1])).any(axis=1)


def _some(videos, count):
    keys = sorted(videos)[::max(1, len(videos) // count)][:count]
    return {key: videos[key] for key in keys}


# ----- grids -------------------------------------------------------------------------------

def test_thumos_grid_counts_snippets_like_actionformer():
    grid, num_snippets = thumos14_grid(_video(duration_s=10.0, fps=30.0))
    # 10 s at 30 fps = 300 frames; 16-frame windows every 4 frames: (300 - 16) // 4 + 1 = 72.
    assert num_snippets == 72
    assert (grid.fps, grid.stride, grid.num_frames) == (30.0, 4, 16)


def test_anet_grid_spreads_192_steps_over_the_video():
    grid, num_snippets = anet12_grid(_video(duration_s=96.0, fps=30.0))
    assert num_snippets == 192
    # Step i is centred at (i + 0.5) * 96 / 192 s: 0.25 s for the first, 95.75 s for the last.
    np.testing.assert_allclose(grid.snippet_to_seconds([0, 191]), [0.25, 95.75])


@pytest.mark.parametrize("field, video", [("duration", _video(duration_s=None)), ("fps", _video(fps=None))])
def test_grid_needs_duration_and_fps(field, video):
    with pytest.raises(InputError) as error:
        thumos14_grid(video)
    assert error.value.field == field and error.value.video == "v"


# ----- signals -----------------------------------------------------------------------------

def test_signals_have_the_real_counts_shapes_and_ranges(train, classes):
    signals = make_signals(train, classes, difficulty="medium", seed=0)
    assert set(signals) == set(train) and len(signals) == 200
    assert sum(len(s.class_ids) for s in signals.values()) == sum(len(v.instances) for v in train.values()) == 3007
    for key, made in signals.items():
        assert made.num_snippets == thumos14_grid(train[key])[1]
        assert made.probs.shape == (made.num_snippets, 20) and made.probs.dtype == np.float32
        assert made.bg_probs.shape == (made.num_snippets,) and made.bg_probs.dtype == np.float32
        assert made.probs.min() >= 0 and made.probs.max() <= 1
        assert made.bg_probs.min() >= 0 and made.bg_probs.max() <= 1
        labels = [classes[c] for c in made.class_ids]
        assert labels == [instance.label for instance in train[key].instances]


def test_signals_are_deterministic_per_video(train, classes):
    few = _some(train, 4)
    first = make_signals(few, classes, difficulty="hard", seed=3)
    again = make_signals(few, classes, difficulty="hard", seed=3)
    alone = make_signals({key: few[key] for key in list(few)[-1:]}, classes, difficulty="hard", seed=3)
    other = make_signals(few, classes, difficulty="hard", seed=4)
    for key in few:
        assert first[key].probs.tobytes() == again[key].probs.tobytes()
        assert first[key].bg_probs.tobytes() == again[key].bg_probs.tobytes()
        assert not np.array_equal(first[key].probs, other[key].probs)
    last = list(few)[-1]
    # A video's signals do not depend on the other videos generated with it.
    assert first[last].probs.tobytes() == alone[last].probs.tobytes()


def _contrast(signals):
    """Mean (class prob inside its instances - outside all instances), and the same for background."""
    inside, outside, bg_in, bg_out = [], [], [], []
    for made in signals.values():
        mask = _inside_mask(made.segments_snippets, made.num_snippets)
        for (start, end), column in zip(made.segments_snippets, made.class_ids):
            index = np.arange(max(0, int(np.ceil(start))), min(made.num_snippets - 1, int(np.floor(end))) + 1)
            if index.size:
                inside.append(made.probs[index, column].mean())
        outside.append(made.probs[~mask].mean())
        bg_in.append(made.bg_probs[mask].mean())
        bg_out.append(made.bg_probs[~mask].mean())
    return np.mean(inside) - np.mean(outside), np.mean(bg_out) - np.mean(bg_in), np.mean(inside), np.mean(outside)


def test_clean_signals_put_instances_where_the_annotation_says(train, classes):
    class_gap, bg_gap, inside, outside = _contrast(make_signals(_some(train, 40), classes, difficulty="clean", seed=0))
    assert inside > 0.6 and outside < 0.1
    assert bg_gap > 0.6


def test_difficulty_weakens_the_evidence(train, classes):
    few = _some(train, 40)
    gaps = [_contrast(make_signals(few, classes, difficulty=name, seed=0))[:2] for name in ("clean", "medium", "hard")]
    class_gaps, bg_gaps = zip(*gaps)
    assert class_gaps[0] > class_gaps[1] > class_gaps[2] > 0.1
    assert bg_gaps[0] > bg_gaps[1] > bg_gaps[2] > 0.1


def test_plateau_sits_on_the_annotated_seconds():
    plateau_only = DIFFICULTIES["clean"].model_copy(update={"bell_fraction": 0.0})
    made = make_signals({"v": _video()}, CLASSES, difficulty=plateau_only, seed=0)["v"]
    # 3.0 s and 6.0 s at 30 fps, stride 4, 16-frame windows: 3 * 30 / 4 - 2 = 20.5 and 6 * 30 / 4 - 2 = 43.
    np.testing.assert_allclose(made.segments_snippets, [[20.5, 43.0]])
    jump = made.probs[:, 0]
    assert jump[22:42].min() > 0.5
    assert jump[:18].max() < 0.3 and jump[46:].max() < 0.3
    assert made.bg_probs[22:42].max() < 0.5 and made.bg_probs[:18].min() > 0.5 and made.bg_probs[46:].min() > 0.5


def test_signal_errors_name_video_and_field(classes):
    with pytest.raises(InputError) as error:
        make_signals({"v": _video()}, ["Throw"], difficulty="clean", seed=0)
    assert (error.value.video, error.value.field) == ("v", "label")
    with pytest.raises(InputError) as error:
        make_signals({"v": _video()}, CLASSES, difficulty="extreme", seed=0)
    assert error.value.field == "difficulty"
    with pytest.raises(InputError) as error:
        make_signals({"v": _video()}, CLASSES, difficulty="clean", seed=-1)
    assert error.value.field == "seed"
    for classes_given in ([], ["Jump", "Jump"]):
        for make in (make_signals, lambda *a, **k: make_features(*a, dim=4, **k)):
            with pytest.raises(InputError) as error:
                make({"v": _video(instances=())}, classes_given, difficulty="clean", seed=0)
            assert error.value.field == "classes"


def test_difficulty_ranges_are_validated():
    with pytest.raises(ValidationError):
        SignalDifficulty.model_validate({**DIFFICULTIES["clean"].model_dump(), "peak_range": (0.9, 0.5)})
    with pytest.raises(ValidationError):
        SignalDifficulty.model_validate({**DIFFICULTIES["hard"].model_dump(), "bell_fraction": 1.5})


# ----- features ----------------------------------------------------------------------------

def test_features_shapes_determinism_and_seed(train, classes):
    few = _some(train, 3)
    first = make_features(few, classes, dim=16, difficulty="medium", seed=1)
    again = make_features(few, classes, dim=16, difficulty="medium", seed=1)
    other = make_features(few, classes, dim=16, difficulty="medium", seed=2)
    for key, made in first.items():
        assert made.features.shape == (thumos14_grid(few[key])[1], 16) and made.features.dtype == np.float32
        assert np.isfinite(made.features).all()
        assert made.features.tobytes() == again[key].features.tobytes()
        assert not np.array_equal(made.features, other[key].features)


def _snippet_labels(made, background):
    labels = np.full(made.features.shape[0], background)
    index = np.arange(labels.shape[0])
    for (start, end), column in zip(made.segments_snippets, made.class_ids):
        labels[(index >= start) & (index <= end)] = column
    return labels


def _nearest_centroid_accuracy(train, classes, difficulty):
    """Balanced snippet accuracy of a nearest-centroid classifier (classes + background), fitted on
    one video per class and tested on another video of the same classes."""
    by_class: dict[int, list[str]] = {}
    for key in sorted(train):
        names = {instance.label for instance in train[key].instances}
        if len(names) == 1:
            by_class.setdefault(classes.index(names.pop()), []).append(key)
    chosen = [column for column, keys in sorted(by_class.items()) if len(keys) >= 2][:4]
    fit_keys = [by_class[c][0] for c in chosen]
    test_keys = [by_class[c][1] for c in chosen]
    made = make_features({k: train[k] for k in fit_keys + test_keys}, classes, dim=32, difficulty=difficulty, seed=0)
    background = len(classes)

    def stack(keys):
        return (np.concatenate([made[k].features for k in keys]),
                np.concatenate([_snippet_labels(made[k], background) for k in keys]))

    fit_x, fit_y = stack(fit_keys)
    test_x, test_y = stack(test_keys)
    labels = np.unique(fit_y)
    centroids = np.stack([fit_x[fit_y == label].mean(axis=0) for label in labels])
    distances = (test_x ** 2).sum(1)[:, None] - 2 * test_x @ centroids.T + (centroids ** 2).sum(1)[None]
    predicted = labels[np.argmin(distances, axis=1)]
    return np.mean([np.mean(predicted[test_y == label] == label) for label in np.unique(test_y)]), labels.size


def test_features_are_learnable_but_not_trivial(train, classes):
    accuracy, num_labels = _nearest_centroid_accuracy(train, classes, "medium")
    chance = 1.0 / num_labels
    assert accuracy > chance + 0.3
    assert accuracy < 0.97
    hard, _ = _nearest_centroid_accuracy(train, classes, "hard")
    assert chance < hard < accuracy


def test_feature_difficulties_validate_and_dim_is_checked(classes):
    with pytest.raises(ValidationError):
        FEATURE_DIFFICULTIES["hard"].model_validate({**FEATURE_DIFFICULTIES["hard"].model_dump(),
                                                     "background_prototypes": 0})
    with pytest.raises(InputError) as error:
        make_features({"v": _video()}, CLASSES, dim=1, difficulty="clean", seed=0)
    assert error.value.field == "dim"


def test_correlated_noise_has_the_requested_std():
    from admfit.synthetic.noise import correlated_noise

    # Gaussian smoothing of unit white noise leaves variance sum(w_k^2) ~ 1 / (2 sqrt(pi) sigma): the gain undoes it.
    for sigma in (1.5, 3.0, 10.0):
        noise = correlated_noise(np.random.default_rng(0), (200_000,), 0.1, sigma)
        assert noise.std() == pytest.approx(0.1, rel=0.05)
        # ...and neighbours are correlated (white noise would give about 0).
        assert np.corrcoef(noise[:-1], noise[1:])[0, 1] > 0.5


def test_video_rng_salt_gives_a_video_more_streams_seeded_as_documented():
    """One seeding for every synthetic generator (signals, features, simulated points, the benchmark families):
    [seed, crc32(key), crc32(salt)...], so that the families' salted streams stay what they were."""
    import zlib

    from admfit.synthetic.noise import video_rng

    for salt in ((), ("class",), ("degrade", "noise")):
        words = [3, zlib.crc32(b"video_test_0000004")] + [zlib.crc32(word.encode()) for word in salt]
        expected = np.random.default_rng(np.random.SeedSequence(words)).random(4)
        assert np.array_equal(video_rng(3, "video_test_0000004", *salt).random(4), expected)
    assert not np.array_equal(video_rng(3, "v", "class").random(4), video_rng(3, "v", "background").random(4))


def test_points_pair_with_their_instance_and_outliers_are_counted():
    from admfit.datasets import PointLabel
    from admfit.synthetic.output import select_points

    video = _video(instances=((0.01, 0.02, "Jump"), (3.0, 6.0, "Jump"), (7.0, 8.0, "Throw")))
    points = [PointLabel(video="v", label="Jump", label_id=0, time_s=0.0),     # as in the ANet file: just before
              PointLabel(video="v", label="Jump", label_id=0, time_s=4.0),
              PointLabel(video="other", label="Jump", label_id=0, time_s=1.0)]  # not a selected video
    pairs, outside = select_points({"v": video}, points, simulate_missing=False, seed=0, point_type=PointLabel)
    assert [(p.time_s, i.start_s) for p, i in pairs] == [(0.0, 0.01), (4.0, 3.0)]
    assert outside == 1
    pairs, _ = select_points({"v": video}, points, simulate_missing=True, seed=0, point_type=PointLabel)
    simulated = pairs[2:]
    assert [(p.label, i.start_s) for p, i in simulated] == [("Throw", 7.0)]
    assert 7.0 <= simulated[0][0].time_s <= 8.0
    with pytest.raises(InputError) as error:
        select_points({"v": video}, [PointLabel(video="v", label="Dive", label_id=2, time_s=4.0)],
                      simulate_missing=False, seed=0, point_type=PointLabel)
    assert (error.value.video, error.value.field) == ("v", "points")


# ----- instance shapes ---------------------------------------------------------------------

def test_spans_concatenate_the_windows():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from admfit.synthetic.shapes import spans

    @settings(max_examples=50, deadline=None)
    @given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 20)), max_size=8))
    def check(windows):
        lo = np.array([start for start, _ in windows], dtype=np.int64)
        hi = lo + np.array([width for _, width in windows], dtype=np.int64)
        positions, owner = spans(lo, hi)
        expected = [(t, i) for i, (a, b) in enumerate(zip(lo, hi)) for t in range(a, b)]
        assert list(zip(positions.tolist(), owner.tolist())) == expected

    check()


def _one_shape(is_bell, start=10.0, end=30.0, ramp=1.0, edge_k=2.0, peak=0.8):
    from admfit.synthetic.shapes import InstanceShapes

    def one(value):
        return np.array([value], dtype=np.float64)

    centre = (start + end) / 2
    return InstanceShapes(start=one(start), end=one(end), is_bell=np.array([is_bell]), peak=one(peak),
                          ramp_in=one(ramp), ramp_out=one(ramp), centre=one(centre),
                          sigma_in=one((centre - start) / edge_k), sigma_out=one((end - centre) / edge_k))


def test_plateau_is_half_peak_at_the_boundaries_and_bell_exp_minus_k2_over_2():
    from admfit.synthetic.shapes import evidence

    at = np.array([10, 20, 30])
    owner = np.zeros(3, dtype=np.int64)
    # Plateau, ramps 1, length 20: expit(0) * expit(20) / (expit(10) * expit(10)) = 0.5 (to 1e-4) at each end.
    np.testing.assert_allclose(evidence(_one_shape(False), at, owner), [0.4, 0.8, 0.4], atol=1e-4)
    # Bell with k = 2: the boundaries sit 2 widths from the top, exp(-2) of the peak.
    np.testing.assert_allclose(evidence(_one_shape(True), at, owner), [0.8 * np.exp(-2), 0.8, 0.8 * np.exp(-2)])


def test_drawn_shapes_stay_within_their_peak():
    from admfit.synthetic.shapes import draw_shapes, evidence, reach, spans

    rng = np.random.default_rng(0)
    start = rng.uniform(0, 500, 300)
    end = start + rng.lognormal(np.log(20), 1.0, 300)
    knobs = DIFFICULTIES["hard"]
    shapes = draw_shapes(rng, start, end, bell_fraction=0.5, peak_range=knobs.peak_range,
                         ramp_snippets=knobs.ramp_snippets, ramp_fraction_range=knobs.ramp_fraction_range,
                         bell_edge_range=knobs.bell_edge_range, bell_offset=knobs.bell_offset)
    positions, owner = spans(*reach(shapes, 700))
    values = evidence(shapes, positions, owner)
    assert values.min() >= 0 and (values <= shapes.peak[owner] + 1e-12).all()
    assert shapes.is_bell.any() and not shapes.is_bell.all()
