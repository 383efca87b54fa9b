"""Invariants of fit_instances on arbitrary inputs (hypothesis)."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from admfit import ADMConfig, fit_instances

RAW = ADMConfig(tuning="off", smoothing_sigma=0.0, locate_sigma=0.0, despike=False)


@st.composite
def videos(draw, num_classes=None):
    length = draw(st.integers(1, 120))
    num_classes = num_classes or draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    probs = rng.random((length, num_classes)) ** draw(st.sampled_from([0.5, 1.0, 3.0]))
    background = rng.random(length) < draw(st.floats(0.0, 0.5))
    num_points = draw(st.integers(1, 6))
    points = np.stack([rng.integers(0, length, num_points), rng.integers(0, num_classes, num_points)], axis=1)
    delta = draw(st.floats(0.05, 1.0))
    return probs, background, points, delta


@settings(max_examples=150, deadline=None)
@given(videos(), st.sampled_from(["exact", "brent"]))
def test_fit_invariants(video, solver):
    probs, background, points, delta = video
    config = RAW.model_copy(update={"delta": delta, "uniform_solver": solver})
    fits = fit_instances({"v": probs}, {"v": points}, background={"v": background}, config=config)
    length = probs.shape[0]
    assert len(fits) == len(points)
    for (t, c), fit in zip(points, fits):
        assert (fit.point, fit.label) == (t, c)
        assert fit.b_s <= fit.t_star <= fit.b_e
        d = fit.b_e - fit.b_s
        assert np.floor(t - delta * d) <= fit.t_star <= np.ceil(t + delta * d)
        upper = max(fit.t_star - fit.b_s, fit.b_e - fit.t_star, 1e-6)
        assert 1e-6 <= fit.sigma <= upper and 0 <= fit.omega <= upper
        assert 0.0 <= fit.start <= fit.t_star <= fit.end <= length - 1
        assert fit.score == probs[fit.t_star, c]


@settings(max_examples=60, deadline=None)
@given(st.lists(videos(num_classes=2), min_size=1, max_size=4), st.randoms(use_true_random=False))
def test_permuting_inputs_permutes_outputs(video_list, shuffler):
    probs = {f"v{i}": v[0] for i, v in enumerate(video_list)}
    masks = {f"v{i}": v[1] for i, v in enumerate(video_list)}
    points = {f"v{i}": v[2] for i, v in enumerate(video_list)}
    fits = fit_instances(probs, points, background=masks, config=RAW)
    order = list(points)
    shuffler.shuffle(order)
    rows = {key: list(range(len(points[key]))) for key in order}
    for key in order:
        shuffler.shuffle(rows[key])
    shuffled = fit_instances(probs, {key: points[key][rows[key]] for key in order}, background=masks, config=RAW)
    by_key = {}
    start = 0
    for key in points:
        by_key[key] = fits[start:start + len(points[key])]
        start += len(points[key])
    expected = [by_key[key][row] for key in order for row in rows[key]]
    assert shuffled == expected


@settings(max_examples=60, deadline=None)
@given(videos())
def test_float32_and_float64_agree(video):
    probs, background, points, _ = video
    probs32 = probs.astype(np.float32)
    fits32 = fit_instances({"v": probs32}, {"v": points}, background={"v": background}, config=RAW)
    fits64 = fit_instances({"v": probs32.astype(np.float64)}, {"v": points}, background={"v": background},
                           config=RAW)
    assert fits32 == fits64


def test_threads_do_not_change_results():
    rng = np.random.default_rng(5)
    probs = {f"v{i}": rng.random((200, 2)) for i in range(8)}
    bg = {key: rng.random(200) for key in probs}
    points = {key: np.stack([rng.integers(0, 200, 5), rng.integers(0, 2, 5)], 1) for key in probs}
    one = fit_instances(probs, points, bg_probs=bg, num_threads=1)
    many = fit_instances(probs, points, bg_probs=bg, num_threads=2)
    assert one == many
