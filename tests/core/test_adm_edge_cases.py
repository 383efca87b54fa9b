"""The docs/spec.md section 1 corner cases, each worked out by hand."""
from __future__ import annotations

import numpy as np
import pytest

from admfit import (
    ADMConfig,
    InputError,
    background_mask,
    find_bracket,
    find_peak,
    fit_gaussian,
    fit_instances,
    fit_uniform,
    prepare_signal,
    upsample_signal,
)


def mask(length, *indices):
    out = np.zeros(length, dtype=bool)
    out[list(indices)] = True
    return out


def test_bracket_is_strict_and_defaults_to_video_ends():
    bg = mask(10, 2, 7)
    assert find_bracket(bg, 5) == (2, 7)
    # A point on a background snippet keeps its neighbours' bracket (strict inequalities).
    assert find_bracket(bg, 2) == (0, 7)
    assert find_bracket(bg, 7) == (2, 9)
    assert find_bracket(np.zeros(6, bool), 3) == (0, 5)


def test_peak_window_rounds_outward_and_breaks_ties_to_the_smallest_index():
    s = np.array([0.9, 0.1, 0.2, 0.5, 0.5, 0.1, 0.1, 0.1, 0.1, 0.9])
    # beta = [0, 9], d = 9, delta = 0.25: window [floor(4 - 2.25), ceil(4 + 2.25)] = [1, 7]:
    # the 0.9 at both ends stays outside; the tie 0.5/0.5 at 3 and 4 goes to 3.
    assert find_peak(s, 4, 0, 9, delta=0.25) == 3
    # delta = 0.5: window [floor(-0.5), ceil(8.5)] clipped to [0, 9]: the first 0.9 wins.
    assert find_peak(s, 4, 0, 9, delta=0.5) == 0


def test_zero_width_bracket_returns_the_lower_bound():
    fit = fit_instances({"v": np.array([[0.7]])}, {"v": [[0, 0]]}, background={"v": mask(1)},
                        config=ADMConfig(tuning="off", smoothing_sigma=0, locate_sigma=0, despike=False))[0]
    # T = 1: b_s = b_e = t* = 0, ub = max(0, 0) floored at 1e-6 = lb, so both fits return lb.
    assert (fit.b_s, fit.b_e, fit.t_star) == (0, 0, 0)
    assert fit.sigma == fit.omega == 1e-6
    assert fit.start == fit.end == 0.0


def test_exact_uniform_finds_a_plateau_and_prefers_the_smallest_width():
    s = np.zeros(21)
    s[7:14] = 0.8  # plateau of half-width 3 around t* = 10
    fit = fit_uniform(s, 10, 0, 20, solver="exact")
    assert fit.x == 3.0 and fit.fun == pytest.approx(0.0)
    # Outside beta nothing changes: widths 10..20 all cover [0, 20]; ties go to the smallest.
    flat = np.full(21, 0.5)
    assert fit_uniform(flat, 10, 0, 20, solver="exact").x == 10.0


def test_gaussian_fit_recovers_a_gaussian():
    t = np.arange(101)
    s = 0.9 * np.exp(-0.5 * ((t - 50) / 7.5) ** 2)
    fit = fit_gaussian(s, 50, 0, 100)
    assert fit.success and fit.x == pytest.approx(7.5, abs=1e-4)
    assert 1e-6 == fit.lower and fit.upper == 50


def test_interval_uses_g1_g2_and_is_clipped_to_the_video():
    t = np.arange(40)
    s = 0.9 * np.exp(-0.5 * ((t - 3) / 4.0) ** 2)
    config = ADMConfig(tuning="off", g1=2.0, g2=0.0, smoothing_sigma=0, locate_sigma=0, despike=False,
                       interval="symmetric", combine="sum")
    fit = fit_instances({"v": s[:, None]}, {"v": [[3, 0]]}, background={"v": np.zeros(40, bool)},
                        config=config)[0]
    assert fit.sigma == pytest.approx(4.0, abs=1e-4)
    assert fit.start == 0.0  # 3 - 2 * 4 < 0
    assert fit.end == pytest.approx(3 + 2 * fit.sigma)
    wide = fit_instances({"v": s[:, None]}, {"v": [[3, 0]]}, background={"v": np.zeros(40, bool)},
                         config=config.model_copy(update={"g1": 100.0}))[0]
    assert wide.end == 39.0


def test_background_from_probabilities_excludes_points_radius():
    bg = np.array([0.9, 0.9, 0.9, 0.9, 0.9, 0.1])
    assert background_mask(bg, 0.5, [2], radius=1).tolist() == [True, False, False, False, True, False]
    assert background_mask(bg, 0.95).tolist() == [False] * 6


def test_upsampling_keeps_window_centres():
    coarse = np.array([[0.0], [1.0]])
    # length 4: positions (i + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25 -> clamped 0, 0.25, 0.75, 1.
    assert upsample_signal(coarse, 4)[:, 0].tolist() == [0.0, 0.25, 0.75, 1.0]
    assert prepare_signal(coarse, 2, 0.0).tolist() == coarse.tolist()


def test_upsampling_matches_torch_linear_interpolation():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    coarse = rng.random((37, 3))
    ours = upsample_signal(coarse, 296)
    theirs = torch.nn.functional.interpolate(torch.from_numpy(coarse.T[None]), size=296, mode="linear",
                                             align_corners=False)[0].numpy().T
    np.testing.assert_allclose(ours, theirs, atol=1e-12)


def test_coarse_signal_is_upsampled_to_the_background_length():
    coarse = np.zeros((10, 1))
    coarse[4:6, 0] = 0.9
    fits = fit_instances({"v": coarse}, {"v": [[40, 0]]}, background={"v": np.zeros(80, bool)},
                         config=ADMConfig(tuning="off", smoothing_sigma=0, locate_sigma=0, despike=False))
    # Coarse steps 4 and 5 cover first-level snippets 32..47; the peak lies there.
    assert 32 <= fits[0].t_star <= 47


@pytest.mark.parametrize("probs,points,field", [
    (np.array([[np.nan], [0.5]]), [[0, 0]], "probs"),
    (np.array([[1.5], [0.5]]), [[0, 0]], "probs"),
    (np.array([[0.5], [0.5]]), [[2, 0]], "points"),
    (np.array([[0.5], [0.5]]), [[-1, 0]], "points"),
    (np.array([[0.5], [0.5]]), [[0, 1]], "points"),
    (np.array([[0.5], [0.5]]), [[0.5, 0]], "points"),
    (np.zeros((0, 1)), [[0, 0]], "probs"),
    (np.array([0.5, 0.5]), [[0, 0]], "probs"),
])
def test_bad_input_names_video_and_field(probs, points, field):
    with pytest.raises(InputError) as error:
        fit_instances({"vid": probs}, {"vid": points}, background={"vid": np.zeros(2, bool)})
    assert error.value.video == "vid" and error.value.field == field
    assert "vid" in str(error.value) and "\n" not in str(error.value)


def test_missing_background_and_unknown_video_are_errors():
    probs = {"a": np.full((3, 1), 0.5)}
    with pytest.raises(InputError, match="background"):
        fit_instances(probs, {"a": [[0, 0]]})
    with pytest.raises(InputError, match="no probs"):
        fit_instances(probs, {"b": [[0, 0]]}, background={"a": np.zeros(3, bool)})
    with pytest.raises(InputError, match="classes"):
        fit_instances({"a": np.full((3, 1), 0.5), "b": np.full((3, 2), 0.5)}, {"a": [[0, 0]], "b": [[0, 0]]},
                      background={"a": np.zeros(3, bool), "b": np.zeros(3, bool)})


def test_config_rejects_out_of_range_values():
    from pydantic import ValidationError
    for bad in ({"delta": 0.0}, {"delta": 1.5}, {"g1": -1}, {"xatol": 0}, {"smoothing_sigma": -1},
                {"uniform_solver": "newton"}, {"bg_threshold": 2}, {"unknown": 1}, {"despike": 2}, {"despike": "sometimes"},
                {"smoothing_sigma": "big"}, {"smoothing_sigma": float("nan")}, {"noise_target": 0},
                {"split_min_dip": -1}, {"max_smoothing_sigma": -1}, {"locate_sigma": -1}, {"bg_agreement": 1.0}):
        with pytest.raises(ValidationError):
            ADMConfig(**bad)


def test_building_blocks_validate_arguments():
    s = np.linspace(0, 1, 10)
    with pytest.raises(ValueError):
        find_peak(s, 12, 0, 9)
    with pytest.raises(ValueError):
        fit_gaussian(s, 5, 6, 9)
    with pytest.raises(ValueError):
        fit_uniform(s, 5, 0, 9, solver="newton")
    with pytest.raises(ValueError):
        fit_gaussian(np.array([np.nan, 1.0]), 0, 0, 1)


def test_two_sided_interval_follows_an_asymmetric_plateau():
    s = np.zeros(41)
    s[10:31] = 0.8
    s[12] = 0.9  # the peak sits near the plateau's left end
    config = ADMConfig(tuning="off", g1=0.0, g2=1.0, smoothing_sigma=0, locate_sigma=0, despike=False,
                       interval="symmetric", combine="sum")
    background = np.zeros(41, bool)
    symmetric = fit_instances({"v": s[:, None]}, {"v": [[20, 0]]}, background={"v": background}, config=config)[0]
    two_sided = fit_instances({"v": s[:, None]}, {"v": [[20, 0]]}, background={"v": background},
                              config=config.model_copy(update={"interval": "two_sided"}))[0]
    assert symmetric.t_star == two_sided.t_star == 12
    # Symmetric: one omega (18, reaching snippet 30) on both sides overshoots the start to 12 - 18 < 10.
    assert symmetric.omega == 18.0 and symmetric.start == 0.0
    # Two-sided: omega_left = 2 (snippets 10..12), omega_right = 18 (12..30): exactly the plateau.
    assert (two_sided.start, two_sided.end) == (10.0, 30.0)
    assert two_sided.sigma == symmetric.sigma and two_sided.omega == symmetric.omega


def test_select_takes_the_better_fitting_model_alone():
    t = np.arange(61)
    bell = 0.9 * np.exp(-0.5 * ((t - 30) / 5.0) ** 2)
    plateau = np.where(np.abs(t - 30) <= 8, 0.9, 0.0)
    plateau[30] = 0.95
    config = ADMConfig(tuning="off", g1=2.0, g2=1.0, smoothing_sigma=0, locate_sigma=0, despike=False,
                       interval="symmetric", combine="select")
    probs = np.stack([bell, plateau], axis=1)
    fits = fit_instances({"v": probs}, {"v": [[30, 0], [30, 1]]}, background={"v": np.zeros(61, bool)},
                         config=config)
    # The bell is a Gaussian (sigma 5): Delta = 2 sigma = 10. The plateau is a box (omega 8): Delta = omega.
    assert fits[0].end - fits[0].t_star == pytest.approx(2 * fits[0].sigma) and fits[0].sigma == pytest.approx(5, abs=1e-3)
    assert fits[1].end - fits[1].t_star == fits[1].omega == 8.0


def test_lists_are_videos_in_order_and_arrays_are_not_lists():
    a, b = np.full((5, 1), 0.5), np.full((6, 1), 0.5)
    fits = fit_instances([a, b], [[[1, 0]], [[4, 0]]], background=[np.zeros(5, bool), np.zeros(6, bool)])
    assert [(f.video, f.point) for f in fits] == [("0", 1), ("1", 4)]
    with pytest.raises(InputError, match="2 entries for 1 videos"):
        fit_instances([a], [[[1, 0]], [[4, 0]]], background=[np.zeros(5, bool)])
    with pytest.raises(InputError, match="dict keyed by video"):
        fit_instances(a, {"0": [[1, 0]]}, background=[np.zeros(5, bool)])


def test_dip_cut_keeps_a_fit_from_spanning_two_instances():
    s = np.zeros(40)
    s[5:15] = 0.9
    s[15] = 0.3  # a dip between two instances of one class, and no background to separate them
    s[16:26] = 0.9
    background = np.zeros(40, bool)
    config = ADMConfig(tuning="off", g1=0.0, g2=1.0, smoothing_sigma=0, locate_sigma=0, despike=False,
                       interval="two_sided", combine="sum")
    spans = fit_instances({"v": s[:, None]}, {"v": [[10, 0]]}, background={"v": background}, config=config)[0]
    cut = fit_instances({"v": s[:, None]}, {"v": [[10, 0]]}, background={"v": background},
                        config=config.model_copy(update={"dip_cut": 0.5}))[0]
    # Without the cut, the right uniform fit crosses the dip (gain 10 x 0.9^2 - loss 0.9^2) to snippet 25.
    assert spans.end == 25.0
    # With it, 0.3 < 0.5 * 0.9 ends the bracket at the dip: the instance is snippets 5..14.
    assert (cut.b_s, cut.b_e) == (4, 15) and (cut.start, cut.end) == (5.0, 14.0)


def test_paper_preset_is_the_literal_method():
    paper = ADMConfig.paper()
    assert (paper.interval, paper.combine, paper.uniform_solver, paper.g1, paper.g2) == ("symmetric", "sum", "brent",
                                                                                         1.0, 0.5)
    assert not paper.split_at_points and paper.dip_cut == 0.0
    assert ADMConfig.paper(g1=2.0).g1 == 2.0


def test_select_margin_needs_the_gaussian_to_fit_clearly_better():
    t = np.arange(61)
    # A plateau with soft shoulders: both models fit it about equally well.
    soft = 0.9 / (1 + np.exp((np.abs(t - 30) - 8) / 1.5))
    base = ADMConfig(tuning="off", g1=2.0, g2=1.0, smoothing_sigma=0, locate_sigma=0, despike=False,
                     interval="symmetric", combine="select")
    background = {"v": np.zeros(61, bool)}
    plain = fit_instances({"v": soft[:, None]}, {"v": [[30, 0]]}, background=background,
                          config=base.model_copy(update={"select_margin": 1.0}))[0]
    strict = fit_instances({"v": soft[:, None]}, {"v": [[30, 0]]}, background=background,
                           config=base.model_copy(update={"select_margin": 0.01}))[0]
    # A margin of 0.01 asks the Gaussian for a 100-fold smaller error: the uniform's omega is used.
    assert strict.end - strict.t_star == strict.omega
    assert plain.end - plain.t_star in (pytest.approx(2 * plain.sigma), plain.omega)


def test_split_at_points_ends_the_bracket_at_the_dip_between_two_instances():
    s = np.zeros(40)
    s[5:15] = 0.9
    s[15] = 0.3  # a dip between two instances of one class, and no background between them
    s[16:26] = 0.8
    config = ADMConfig(tuning="off", g1=0.0, g2=1.0, smoothing_sigma=0, locate_sigma=0, despike=False,
                       interval="two_sided", combine="sum")
    background = {"v": np.zeros(40, bool)}
    points = {"v": [[10, 0], [20, 0]]}
    merged = fit_instances({"v": s[:, None]}, points, background=background,
                           config=config.model_copy(update={"split_at_points": False}))
    split = fit_instances({"v": s[:, None]}, points, background=background, config=config)
    # One bracket [0, 39] for both points: the first fit runs over the dip to snippet 25.
    assert merged[0].end == 25.0
    # The lowest snippet between points 10 and 20 is 15: it ends both brackets.
    assert (split[0].b_s, split[0].b_e, split[1].b_s) == (0, 15, 15)
    assert (split[0].start, split[0].end) == (5.0, 14.0) and (split[1].start, split[1].end) == (16.0, 25.0)
    # Two points on one snippet mark one instance: no split between them.
    same = fit_instances({"v": s[:, None]}, {"v": [[10, 0], [10, 0]]}, background=background, config=config)
    assert same[0].b_e == 39
