"""The vectorised preparation (admfit.fit.prepare) gives bitwise the labels of the per-video path it replaced
(tests/core/per_video_fit.py), on realistic random inputs: many videos, classes, neighbouring and repeated
points, coarse signals, float32 and float64, masks and bg_probs, short videos, grids; the fixed
defaults (ADMConfig(tuning="off")) and the paper's."""
from __future__ import annotations

import numpy as np
import pytest

from admfit import ADMConfig, SnippetGrid, fit_instances
from admfit.errors import InputError
from admfit.fit.api import fit_prepared
from admfit.fit.prepare import neighbours, prepare_instances
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
    "default": ADMConfig(tuning="off"),
    "paper": ADMConfig.paper(),
    "smoothed-fit": ADMConfig(tuning="off", smoothing_sigma="auto", dip_cut=0.3, bg_agreement=0.5),
    "no-despike": ADMConfig(tuning="off", despike=False, locate_sigma=1.5, split_min_dip=0.0),
    "paper-agreeing": ADMConfig.paper(bg_agreement=0.3),
    "agreeing-auto": ADMConfig(tuning="off", bg_agreement=0.9, locate_sigma="auto", smoothing_sigma=0.5),
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


def test_the_preparation_alone_keeps_numba_off_openmp():
    """prepare_instances runs parallel kernels: importing it (without the fit's kernels) must already keep numba's
    pool off OpenMP, whose start would reset torch's thread count (admfit/threads.py)."""
    import json
    import os
    import subprocess
    import sys

    env = {key: value for key, value in os.environ.items() if not key.startswith("NUMBA_THREADING_LAYER")}
    probe = "import json, admfit.fit.prepare, numba; print(json.dumps(numba.config.THREADING_LAYER_PRIORITY))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)[-1] == "omp"


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


def _layouts(probs: dict, bgs: dict, points: dict):
    """The same inputs in the other forms a user may hand over (each read through its own path of admfit.fit.prepare):
    non-contiguous views, read-only arrays, other float dtypes, swapped byte order, nested lists, integral floats
    and other integer types as points, empty points of other shapes."""
    keys = list(probs)
    new_probs, new_bgs, new_points = {}, {}, {}
    for index, key in enumerate(keys):
        signal, background, rows = probs[key], bgs[key], points[key]
        kind = index % 6
        if kind == 0:  # a transposed copy's transpose: Fortran order, not C-contiguous
            signal = np.asfortranarray(signal)
            background = np.repeat(background, 2)[::2]  # a strided view
        elif kind == 1:
            signal, background = signal.copy(), background.copy()
            signal.flags.writeable = background.flags.writeable = False
        elif kind == 2:  # byte-swapped float64: read as float64
            signal = signal.astype(np.float64).astype(">f8")
            background = background.astype(np.float64).astype(">f8")
        elif kind == 3:  # nested lists of Python floats (float64), points as lists too
            signal, background, rows = signal.astype(np.float64).tolist(), background.astype(np.float64).tolist(), \
                np.asarray(rows).tolist()
        elif kind == 4:  # a float dtype equal to numpy's but another instance of it
            signal = signal.view(np.dtype(signal.dtype.str, metadata={"source": "test"}))
            background = background.view(np.dtype(background.dtype.str, metadata={"source": "test"}))
            rows = np.asarray(rows).astype(np.float64)  # integral floats as points
        else:
            rows = np.asarray(rows).astype(np.uint16) if len(rows) else np.empty((0,), np.int64)
        new_probs[key], new_bgs[key], new_points[key] = signal, background, rows
    return new_probs, new_bgs, new_points


@pytest.mark.parametrize("name", ["default", "paper"])
def test_every_input_layout_gives_the_same_labels(name):
    probs, points, masks, bgs, _ = _videos(7)
    for background in ("bg_probs", "background"):
        given = bgs if background == "bg_probs" else masks
        plain = fit_instances(probs, points, config=CONFIGS[name], **{background: given})
        other_probs, other_given, other_points = _layouts(probs, given, points)
        if background == "background":
            other_given = {key: np.asarray(value) > 0.5 if not isinstance(value, np.ndarray) or value.dtype != bool
                           else value for key, value in other_given.items()}
        other = fit_instances(other_probs, other_points, config=CONFIGS[name], **{background: other_given})
        assert _bits(other) == _bits(plain)


def test_threads_give_the_same_labels():
    probs, points, masks, bgs, _ = _videos(8, count=60)
    for name in ("default", "paper", "smoothed-fit"):
        one = fit_instances(probs, points, bg_probs=bgs, config=CONFIGS[name], num_threads=1)
        two = fit_instances(probs, points, bg_probs=bgs, config=CONFIGS[name], num_threads=2)
        assert _bits(one) == _bits(two)


def test_values_of_every_video_and_class_are_checked():
    """A video without points and a class without points are read anyway: their values are still checked."""
    good = np.full((10, 2), 0.5)
    bad = good.copy()
    bad[4, 1] = 1.5
    background = {key: np.zeros(10, bool) for key in "ab"}
    for points in ({"a": [[1, 0]], "b": []}, {"a": [[1, 0]], "b": [[2, 0]]}):
        with pytest.raises(InputError) as error:
            fit_instances({"a": good, "b": bad}, points, background=background)
        assert str(error.value) == "video 'b', field 'probs': holds values outside [0, 1] (min 0.5, max 1.5)"
    bg = {"a": np.full(10, 0.2), "b": np.full(10, 0.2)}
    bg["b"][3] = np.nan
    with pytest.raises(InputError) as error:
        fit_instances({"a": good, "b": good}, {"a": [[1, 0]], "b": []}, bg_probs=bg)
    assert str(error.value) == "video 'b', field 'bg_probs': holds NaN or inf"


def test_smoothing_weights_are_scipys_to_the_bit():
    """The weights of all sigmas of one radius come from one numpy call: each row must still be scipy's
    gaussian_filter1d weights (its response to an impulse) bitwise."""
    from scipy.ndimage import gaussian_filter1d

    from admfit.fit.signal import smoothing_weights

    sigmas = np.concatenate([np.linspace(0.01, 4.0, 397), [0.0, 0.125, 0.375, 1.0, 2.0, 4.0, 1 / 3]])
    table, row, radius = smoothing_weights(sigmas)
    for sigma, weights, reach in zip(sigmas, table[row], radius):
        impulse = np.zeros(4 * reach + 3)
        impulse[2 * reach + 1] = 1.0
        expected = gaussian_filter1d(impulse, sigma)[2 * reach + 1:3 * reach + 2] if sigma > 0 else np.ones(1)
        assert reach == expected.size - 1
        assert weights[:reach + 1].tobytes() == expected.tobytes(), sigma
        assert not weights[reach + 1:].any()


def test_noise_levels_are_numpys_median_exactly():
    """The selection behind the noise level (sampled pivots, no sort) gives np.median's value to the bit on
    signals made to trouble it: plateaus and ties, lone impulses, values near zero, half zeros, ramps, two values."""
    from admfit.fit._kernels.signal import MEDIAN_SAMPLE, clean_segment
    from admfit.fit.signal import noise_level

    rng = np.random.default_rng(0)
    for index in range(1500):
        n = int(rng.integers(3, 300)) if index % 10 else int(rng.integers(300, 3000))
        kind = index % 7
        signal = [np.round(rng.random(n), 1), np.eye(1, n, int(rng.integers(0, n)))[0], rng.random(n) * 1e-300,
                  np.where(rng.random(n) < 0.5, 0.0, rng.random(n)), np.cumsum(rng.random(n)) / n,
                  rng.choice([0.0, 0.25], n), rng.random(n)][kind]
        scratch = [np.empty(n) for _ in range(3)]
        level = clean_segment(signal.copy(), True, False, *scratch, np.empty(MEDIAN_SAMPLE))
        assert level == noise_level(signal[:, None])[0], (index, kind)


def test_background_despiking_is_the_per_video_one_with_or_without_crossings():
    """The background's noise level is measured only when despiking could move a value across the threshold;
    either way the mask is prepare_background's."""
    from admfit.fit.signal import prepare_background

    rng = np.random.default_rng(3)
    config = ADMConfig(tuning="off")
    calm = 0.2 + 0.01 * rng.standard_normal(300)  # no value near the threshold: nothing can cross
    spiky = calm.copy()
    spiky[[40, 41, 150, 220]] = [0.9, 0.55, 0.95, 0.6]  # impulses across it (one two snippets wide)
    noisy = np.clip(0.5 + 0.1 * rng.standard_normal(300), 0, 1)  # crossings everywhere
    for bg in (calm, spiky, noisy):
        probs = np.full((300, 1), 0.5)
        batch = prepare_instances({"v": probs}, {"v": [[100, 0]]}, bg_probs={"v": bg}, config=config)
        assert np.array_equal(batch.background, prepare_background(bg, config, [100]))


def test_kth_smallest_is_numpys_partition_at_every_rank():
    """Any rank, not only the median: ranks far from the sampled pivots take the rounds that keep only the values
    below or above them (about one case in seven here), which must agree with np.partition to the bit."""
    from admfit.fit._kernels.signal import MEDIAN_SAMPLE, _kth_smallest

    rng = np.random.default_rng(1)
    for index in range(1000):
        n = int(rng.integers(MEDIAN_SAMPLE + 1, 4000))
        values = [rng.random(n), np.round(rng.random(n), 2), rng.standard_normal(n) ** 2,
                  rng.choice([0.0, 1.0, 2.0], n)][index % 4]
        rank = int(rng.integers(0, n))
        got = _kth_smallest(values.copy(), rank, np.empty(n), np.empty(MEDIAN_SAMPLE))
        assert got == np.partition(values, rank)[rank], (index, rank)
