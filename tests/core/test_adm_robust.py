"""The rules that make ADM hold on signals it was not tuned on (docs/adm.md, "Robust rules"), each on a
constructed signal where the rule's effect is known, and the confidence and convergence of every label."""
from __future__ import annotations

import numpy as np
import pytest

from admfit import ADMConfig, fit_instances
from admfit.fit.signal import auto_smoothing, despike, noise_level, prepare_background

LENGTH = 120
RAW = dict(locate_sigma=0.0, split_min_dip=0.0, bg_agreement=0.0)


def _plateau(start: int, end: int, height: float = 0.9, base: float = 0.05) -> np.ndarray:
    signal = np.full(LENGTH, base)
    signal[start:end + 1] = height
    return signal


def _fit(signal, points, bg=None, **config):
    """The fixed defaults (tuning off) with ``config`` changed: what each robustness option does on its own."""
    bg = 1.0 - signal if bg is None else bg
    rows = [[p, 0] for p in points]
    return fit_instances({"v": signal[:, None]}, {"v": rows}, bg_probs={"v": bg},
                         config=ADMConfig(**{"tuning": "off", **config}))


def test_an_impulse_does_not_take_the_peak_or_move_the_interval():
    clean = _plateau(40, 70, height=0.6)
    spiked = clean.copy()
    spiked[48] = 0.98  # one snippet, inside the bracket, within the peak window of the point at 55
    reference = _fit(clean, [55], **RAW)[0]
    robust = _fit(spiked, [55], **RAW)[0]
    naive = _fit(spiked, [55], despike=False, **RAW)[0]
    assert naive.t_star == 48  # without the rule the spike is the peak
    assert (robust.t_star, robust.b_s, robust.b_e) == (reference.t_star, reference.b_s, reference.b_e)
    assert (robust.start, robust.end) == pytest.approx((reference.start, reference.end))


def test_a_one_snippet_background_call_inside_an_action_does_not_cut_the_bracket():
    signal = _plateau(40, 70)
    bg = 1.0 - signal
    bg[50] = 0.95  # a stray background snippet inside the action
    robust = _fit(signal, [60], bg=bg, **RAW)[0]
    naive = _fit(signal, [60], bg=bg, despike=False, **RAW)[0]
    assert naive.b_s == 50
    assert robust.b_s < 40 and robust.start <= 41


def test_despike_keeps_steps_and_the_top_of_a_bell():
    steps = _plateau(40, 70)
    assert np.array_equal(despike(steps), steps)
    t = np.arange(LENGTH)
    bell = 0.9 * np.exp(-0.5 * ((t - 60) / 5.0) ** 2)
    assert np.array_equal(despike(bell), bell)
    assert np.argmax(despike(bell)) == 60


def test_a_real_dip_between_two_touching_instances_still_splits_there():
    t = np.arange(LENGTH)
    signal = _plateau(30, 89) - 0.45 * np.exp(-0.5 * ((t - 59) / 3.0) ** 2)
    bg = np.where((t >= 30) & (t <= 89), 0.1, 0.9)  # no background between the two instances
    first, second = _fit(signal, [45, 75], bg=bg, split_min_dip=2.0)
    assert first.b_e == 59 and second.b_s == 59


def test_without_a_dip_the_split_is_the_midpoint_not_the_lowest_noise():
    rng = np.random.default_rng(0)
    signal = np.clip(_plateau(30, 89) + rng.normal(0, 0.03, LENGTH), 0, 1)
    lowest = 46 + int(np.argmin(signal[46:75]))
    first, second = _fit(signal, [45, 75], split_min_dip=2.0, locate_sigma=0.0)
    assert first.b_e == 60 and second.b_s == 60  # midpoint of 45 and 75 (rounded towards each point)
    naive = _fit(signal, [45, 75], split_min_dip=0.0, locate_sigma=0.0)
    assert naive[0].b_e == lowest


def test_noise_level_measures_white_noise_and_ignores_steps():
    rng = np.random.default_rng(1)
    noisy = _plateau(40, 70)[:, None] + rng.normal(0, 0.1, (LENGTH, 1))
    assert noise_level(noisy)[0] == pytest.approx(0.1, rel=0.25)
    assert noise_level(_plateau(40, 70)[:, None])[0] == 0.0


def test_auto_smoothing_leaves_clean_signals_and_smooths_noisy_ones():
    sigma = auto_smoothing(np.array([0.0, 0.01, 0.05, 1.0]), target=0.02, cap=4.0)
    assert sigma[0] == 0.0 and sigma[1] == 0.0
    assert 0.0 < sigma[2] < 4.0 and sigma[3] == 4.0


def test_locating_on_the_smoothed_signal_keeps_the_peak_on_the_action_in_noise():
    errors = {"auto": [], "none": []}
    for seed in range(10):
        rng = np.random.default_rng(seed)
        truth = _plateau(40, 70, height=0.5, base=0.1)
        noisy = np.clip(truth + rng.normal(0, 0.15, LENGTH), 0, 1)
        bg = np.where(truth > 0.3, 0.1, 0.9)
        bg[20:90] = 0.1  # the background head misses the boundaries: only the class signal can place t*
        for name, sigma in (("auto", "auto"), ("none", 0.0)):
            label = _fit(noisy, [55], bg=bg, locate_sigma=sigma, split_min_dip=0.0)[0]
            errors[name].append(abs(label.t_star - 55))
    assert np.mean(errors["auto"]) < np.mean(errors["none"])


def test_background_agreement_ignores_background_where_the_class_is_strong():
    signal = _plateau(40, 70)
    bg = np.where(signal > 0.5, 0.1, 0.9)
    bg[44:47] = 0.9  # the background head calls three snippets of the action background
    naive = _fit(signal, [60], bg=bg, **RAW)[0]
    agreeing = _fit(signal, [60], bg=bg, **{**RAW, "bg_agreement": 0.5})[0]
    assert naive.b_s == 46
    assert agreeing.b_s == 39


def test_confidence_ranks_a_clean_label_above_a_weak_noisy_one():
    rng = np.random.default_rng(3)
    strong = _plateau(40, 70, height=0.9)
    weak = np.clip(_plateau(40, 70, height=0.35, base=0.2) + rng.normal(0, 0.08, LENGTH), 0, 1)
    bg = np.where(strong > 0.5, 0.1, 0.9)
    good = _fit(strong, [55], bg=bg)[0]
    poor = _fit(weak, [55], bg=bg)[0]
    assert 0.0 <= poor.confidence < good.confidence <= 1.0
    assert good.converged and poor.converged


def test_a_fit_stopped_by_maxiter_is_reported_not_converged():
    t = np.arange(LENGTH)
    bell = 0.9 * np.exp(-0.5 * ((t - 60) / 7.0) ** 2)
    stopped = _fit(bell, [60], maxiter=2, uniform_solver="brent")[0]
    finished = _fit(bell, [60], uniform_solver="brent")[0]
    assert not stopped.converged and finished.converged


def test_background_preparation_follows_the_despike_option():
    bg = np.full(LENGTH, 0.1)
    bg[30] = 0.9
    assert not prepare_background(bg, ADMConfig(tuning="off"))[30]
    assert prepare_background(bg, ADMConfig(tuning="off", despike=False))[30]


def test_paper_config_switches_every_new_rule_off():
    paper = ADMConfig.paper()
    assert (paper.despike, paper.split_at_points, paper.bg_agreement) == (False, False, 0.0)
    assert paper.smoothing_sigma == paper.locate_sigma == 1.0 and paper.interval == "symmetric" and paper.combine == "sum"
