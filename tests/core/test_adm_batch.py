"""The vectorised preparation (admfit.batch) gives bitwise the labels of the per-video path it replaced
(tests/core/per_video_fit.py), on realistic random inputs: many videos, classes, neighbouring and repeated
points, coarse signals, float32 and float64, masks and bg_probs, short videos, grids; ADMConfig() and the paper's."""
from __future__ import annotations

import numpy as np
import pytest

from admfit import ADMConfig, SnippetGrid, fit_instances
from admfit.api import fit_prepared
from admfit.batch import neighbours, prepare_instances
from admfit.errors import InputError
from admfit.levels import StepCentres

from .per_video_fit import fit_per_video


def _signal(rng, steps: int, classes: int, dtype) -> np.ndarray:
    """Bumps on a floor, white noise from none to heavy (so 'auto' picks 0, mid and capped sigmas), impulses."""
    times = np.arange(steps)[:, None, None]
    centres = rng.uniform(0, steps, (classes, 3))
    widths = rng.uniform(1, max(2, steps / 6), (classes, 3))
    bumps = (rng.uniform(0.3, 1.0, (classes, 3)) * np.exp(-0.5 * ((times - centres) / widths) ** 2)).sum(-1)
    noise = rng.choice([0.0, 0.005, 0.03, 0.1, 0.3], size=classes) * rng.standard_normal((steps, classes))
    values = np.clip(bumps + noise + 0.02, 0, 1)
    spikes = rng.random((steps, classes)) < 0.02
    values[spikes] = rng.random(spikes.sum())
    if rng.random() < 0.2:
        values = np.round(values, 1)  # plateaus and exact ties
    return values.astype(dtype)


def _videos(seed: int, count: int = 40, classes: int = 5):
    rng = np.random.default_rng(seed)
    probs, points, masks, bgs, grids = {}, {}, {}, {}, {}
    for index in range(count):
        key = f"v{index}"
        length = int(rng.choice([1, 2, 3, 4, 7, 40, 150, 400]))
        steps = length if rng.random() < 0.6 else max(1, length // int(rng.choice([2, 3, 4, 8])))
        probs[key] = _signal(rng, steps, classes, rng.choice([np.float32, np.float64]))
        bgs[key] = _signal(rng, length, 1, rng.choice([np.float32, np.float64]))[:, 0]
        masks[key] = rng.random(length) < 0.3
        grids[key] = SnippetGrid(fps=float(rng.choice([25.0, 30.0])), stride=4)
        count_points = int(rng.choice([0, 1, 2, 3, 6, 12]))
        snippets = rng.integers(0, length, count_points)
        if count_points > 2:
            snippets[1] = snippets[0]  # two points on one snippet: one instance
            snippets[2] = min(length - 1, snippets[0] + 1)  # a neighbour right next to it
        labels = rng.integers(0, rng.choice([1, 2, classes]), count_points)
        points[key] = np.stack([snippets, labels], axis=1).astype(rng.choice([np.int64, np.int32]))
    return probs, points, masks, bgs, grids


def _bits(labels) -> list[tuple]:
    """Fields with floats as their bit patterns: equal means bitwise equal (NaN, -0.0 included)."""
    return [tuple(np.float64(value).tobytes() if isinstance(value, float) else value for value in label)
            for label in labels]


CONFIGS = {
    "default": ADMConfig(),
    "paper": ADMConfig.paper(),
    "smoothed-fit": ADMConfig(smoothing_sigma="auto", dip_cut=0.3, bg_agreement=0.5),
    "no-despike": ADMConfig(despike=False, locate_sigma=1.5, split_min_dip=0.0),
    "paper-agreeing": ADMConfig.paper(bg_agreement=0.3),
    "agreeing-auto": ADMConfig(bg_agreement=0.9, locate_sigma="auto", smoothing_sigma=0.5),
}


def _centres(seed: int, probs: dict, masks: dict) -> dict:
    """Per video: None (window-aligned), the identity, a detector's level (j 2^l), the window-aligned centres as
    a StepCentres (the same reading by other operations), or an odd origin and spacing (clamped ends)."""
    rng = np.random.default_rng(100 + seed)
    centres = {}
    for key, signal in probs.items():
        steps, length = signal.shape[0], masks[key].shape[0]
        choice = int(rng.integers(0, 5))
        centres[key] = [None, StepCentres(), StepCentres(origin=0.0, spacing=length / steps if steps < length else 1.0),
                        StepCentres.window_aligned(steps, length),
                        StepCentres(origin=float(rng.uniform(-3, 3)), spacing=float(rng.uniform(0.5, 5)))][choice]
    return centres


@pytest.mark.parametrize("name", CONFIGS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_batch_preparation_matches_the_per_video_path(name, seed):
    config = CONFIGS[name]
    probs, points, masks, bgs, grids = _videos(seed)
    for background in ({"bg_probs": bgs}, {"background": masks}):
        grid = grids if seed % 2 else SnippetGrid(fps=30.0)
        new = fit_instances(probs, points, config=config, grid=grid, **background)
        old = fit_per_video(probs, points, config=config, grid=grid, **background)
        assert len(new) == sum(len(rows) for rows in points.values())
        assert _bits(new) == _bits(old)


@pytest.mark.parametrize("name", CONFIGS)
@pytest.mark.parametrize("seed", [0, 1])
def test_batch_preparation_matches_the_per_video_path_at_step_centres(name, seed):
    config = CONFIGS[name]
    probs, points, masks, bgs, grids = _videos(seed)
    centres = _centres(seed, probs, masks)
    assert {type(item) for item in centres.values()} == {type(None), StepCentres}
    for background in ({"bg_probs": bgs}, {"background": masks}):
        for given in (centres, StepCentres(origin=0.5, spacing=2.0), StepCentres(), None):
            new = fit_instances(probs, points, config=config, grid=grids, centres=given, **background)
            old = fit_per_video(probs, points, config=config, grid=grids, centres=given, **background)
            assert len(new) == sum(len(rows) for rows in points.values())
            assert _bits(new) == _bits(old)
    # Centres other than the window-aligned reading change the labels of coarse videos.
    placed = {key: StepCentres(origin=0.0, spacing=masks[key].shape[0] / probs[key].shape[0]) for key in probs}
    assert _bits(fit_instances(probs, points, config=config, bg_probs=bgs, centres=placed)) != \
        _bits(fit_instances(probs, points, config=config, bg_probs=bgs))


def test_a_dict_of_centres_must_name_every_video():
    probs, points, masks, bgs, _ = _videos(6, count=3)
    with pytest.raises(InputError) as error:
        fit_instances(probs, points, bg_probs=bgs, centres={"v0": None, "v1": StepCentres()})
    assert str(error.value) == "video 'v2', field 'centres': has no step centres (a dict of centres must name every video)"


def test_table_holds_the_labels_as_columns():
    probs, points, masks, bgs, grids = _videos(3)
    grids.pop("v5")
    grids["v6"] = None  # a video without timing: NaN in the table, None in the labels
    points["v5"] = np.empty((0, 2), np.int64)
    labels = fit_instances(probs, points, bg_probs=bgs, grid=grids)
    table = fit_instances(probs, points, bg_probs=bgs, grid=grids, as_table=True)
    assert list(table) == list(labels[0]._fields)
    assert all(column.shape == (len(labels),) for column in table.values())
    rows = [tuple(None if isinstance(value, float) and np.isnan(value) else value for value in row)
            for row in zip(*(column.tolist() for column in table.values()))]
    assert _bits(rows) == _bits(labels)
    assert table["converged"].dtype == bool and table["t_star"].dtype == np.int64


def test_prepared_batch_fits_like_fit_instances():
    probs, points, masks, bgs, _ = _videos(4)
    batch = prepare_instances(probs, points, bg_probs=bgs, config=ADMConfig.paper())
    assert batch.size == sum(len(rows) for rows in points.values())
    table = fit_prepared(batch, num_threads=1)
    expected = fit_instances(probs, points, bg_probs=bgs, config=ADMConfig.paper(), as_table=True)
    assert all(np.array_equal(table[name], expected[name], equal_nan=name.endswith("_s")) for name in table)


def test_neighbours_of_all_videos_at_once():
    video = np.array([0, 0, 0, 0, 1, 1, 0])
    snippets = np.array([5, 9, 5, 2, 5, 7, 9])
    labels = np.array([1, 1, 1, 1, 1, 1, 0])
    previous, following = neighbours(video, snippets, labels, np.array([20, 20, 20, 20, 8, 8, 20]))
    # Video 0, class 1: snippets 2, 5, 5, 9 (the two 5s one instance); class 0 alone; video 1 apart.
    assert previous.tolist() == [2, 5, 2, -1, -1, 5, -1]
    assert following.tolist() == [9, 20, 9, 5, 7, 8, 20]


def test_no_points_anywhere_gives_no_labels():
    probs, _, _, bgs, _ = _videos(5, count=3)
    assert fit_instances(probs, {key: [] for key in probs}, bg_probs=bgs) == []
    assert fit_instances({}, {}, bg_probs={}) == []
    assert all(column.size == 0 for column in fit_instances({}, {}, bg_probs={}, as_table=True).values())


def test_the_first_bad_video_is_reported_as_before():
    """The checks run over all videos at once; the error still names the first bad video in order, and within it
    the first bad field (probs, background, points)."""
    good = np.full((10, 2), 0.5)
    bad_probs = good.copy()
    bad_probs[3, 1] = np.nan
    background = {key: np.zeros(10, bool) for key in "abc"}
    with pytest.raises(Exception) as error:
        fit_instances({"a": good, "b": bad_probs, "c": good}, {"a": [[1, 0]], "b": [[1, 0]], "c": [[12, 0]]},
                      background=background)
    assert str(error.value) == "video 'b', field 'probs': holds NaN or inf"
    with pytest.raises(Exception) as error:
        fit_instances({"a": good, "b": good, "c": bad_probs}, {"a": [[1, 0]], "b": [[1, 5]], "c": [[1, 0]]},
                      background=background)
    assert str(error.value) == "video 'b', field 'points': class index 5 is outside [0, 1]"
