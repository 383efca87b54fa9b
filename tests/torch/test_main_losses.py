"""The main model's additions (paper 3.4.2) on hand-computed cases: pseudo-label sampling, the sigma head's
interval sampling, eq. 14, eqs. 15-17 and the weighted total of eq. 18."""
from __future__ import annotations

import math

import pytest
import torch

from admfit.levels import Pyramid
from admfit_torch.config import LossConfig, MainConfig
from admfit_torch.losses import (
    PseudoInstances,
    augmented_targets,
    base_model_loss,
    class_kernels,
    gaussian_imposition_loss,
    main_model_loss,
    sampled_targets,
    sigma_loss,
)
from admfit_torch.models import PyramidOutput, sample_intervals

AXIS = Pyramid(theta=2)  # admfit_torch's pyramid: level-l step j on level-0 position j 2^l


def _positives(targets, level, c=0):
    return torch.nonzero(targets.point_targets[level][0, :, c]).flatten().tolist()


def test_sampling_keeps_the_radius_inside_the_interval_on_every_level():
    # point 10 (level 0), interval [9, 20]; level 1 sees t = 5, interval [4.5, 10]
    targets = sampled_targets([torch.tensor([10.0])], [torch.tensor([0])], [torch.tensor([[9.0, 20.0]])], [32, 16],
                              AXIS, 2.0, 1)
    assert _positives(targets, 0) == [9, 10, 11, 12]  # [8, 12] cut at 9
    assert _positives(targets, 1) == [5, 6, 7]  # [3, 7] cut at 4.5


def test_infinite_radius_takes_the_whole_interval():
    targets = sampled_targets([torch.tensor([10.0])], [torch.tensor([0])], [torch.tensor([[9.0, 20.0]])], [32, 16],
                              AXIS, None, 1)
    assert _positives(targets, 0) == list(range(9, 21))
    assert _positives(targets, 1) == list(range(5, 11))


def test_the_point_stays_positive_when_the_interval_misses_it():
    targets = sampled_targets([torch.tensor([10.0])], [torch.tensor([0])], [torch.tensor([[14.0, 18.0]])], [32], AXIS,
                              2.0, 1)
    assert _positives(targets, 0) == [10]  # [8, 12] and [14, 18] do not meet: only the annotated snippet
    targets = sampled_targets([torch.tensor([10.0])], [torch.tensor([0])], [torch.tensor([[12.0, 18.0]])], [32], AXIS,
                              None, 1)
    assert _positives(targets, 0) == [10, *range(12, 19)]  # no bridge over 11, outside the interval


def test_points_only_radius_zero_marks_the_nearest_snippet():
    targets = augmented_targets([torch.tensor([3.4, 7.0])], [torch.tensor([1, 0])], [16, 8], AXIS, 0.0, 2)
    assert _positives(targets, 0, 1) == [3] and _positives(targets, 0, 0) == [7]
    assert _positives(targets, 1, 1) == [2] and _positives(targets, 1, 0) == [4]  # 1.7 -> 2, 3.5 -> 4


def test_sample_intervals_interpolates_linearly_and_clamps_to_real_snippets():
    t = torch.arange(6, dtype=torch.float32)
    features = torch.stack([t, 10 * t]).unsqueeze(0)  # (1, 2, 6): channel d holds (1, 10)[d] * t
    rows = torch.tensor([[0.0, 1.0, 3.0], [0.0, 0.5, 1.5], [0.0, 2.0, 9.0]])
    sampled = sample_intervals(features, torch.tensor([4]), rows, 3)
    assert torch.allclose(sampled[0], torch.tensor([[1.0, 2.0, 3.0], [10.0, 20.0, 30.0]]))
    assert torch.allclose(sampled[1, 0], torch.tensor([0.5, 1.0, 1.5]))
    assert torch.allclose(sampled[2, 0], torch.tensor([2.0, 3.0, 3.0]))  # 5.5 and 9 clamp to the last real snippet 3


def test_class_kernels_mix_instances_by_their_maximum():
    kernels = class_kernels(torch.tensor([2.0, 6.0, 4.0]), torch.tensor([1.0, 2.0, 0.5]), torch.tensor([0, 0, 2]), 9, 3)
    for t in range(9):
        expected = max(math.exp(-0.5 * (t - 2) ** 2), math.exp(-0.5 * ((t - 6) / 2) ** 2))
        assert kernels[t, 0].item() == pytest.approx(expected, rel=1e-6)
        assert kernels[t, 2].item() == pytest.approx(math.exp(-0.5 * ((t - 4) / 0.5) ** 2), rel=1e-6, abs=1e-12)
    assert torch.all(kernels[:, 1] == 0)


def test_gaussian_imposition_loss_by_hand():
    fused = torch.full((2, 4, 2), 0.5)
    fused[:, :, 1] = torch.rand(2, 4)  # class 1 has no point: it must not count
    mask = torch.tensor([[True, True, True, False], [True, True, True, True]])
    loss = gaussian_imposition_loss(fused, mask, [torch.tensor([1.0]), torch.zeros(0)],
                                    [torch.tensor([0]), torch.zeros(0, dtype=torch.long)],
                                    [torch.tensor([1.0]), torch.zeros(0)])
    g = math.exp(-0.5)  # G_0 on t = 0, 1, 2 is (e^-0.5, 1, e^-0.5); the padded snippet 3 is left out
    expected = (2 * (g - 0.5) ** 2 + 0.5 ** 2) / (3 * 1)  # T_1 = 3 real snippets, |S_c| = 1; sample 2 has no point
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_gaussian_imposition_averages_over_present_classes():
    fused = torch.zeros(1, 3, 2)
    loss = gaussian_imposition_loss(fused, torch.ones(1, 3, dtype=torch.bool), [torch.tensor([0.0, 2.0])],
                                    [torch.tensor([0, 1])], [torch.tensor([1.0, 1.0])])
    per_class = 1 + math.exp(-0.5) ** 2 + math.exp(-2.0) ** 2  # squares of G on t = 0, 1, 2 (same for both)
    assert loss.item() == pytest.approx(2 * per_class / (3 * 2), rel=1e-6)


def test_sigma_loss_by_hand():
    assert sigma_loss(torch.tensor([0.5, 1.0]), torch.tensor([2.0, 4.0]), 4.0).item() == pytest.approx(0.0)
    assert sigma_loss(torch.tensor([0.25, 0.0]), torch.tensor([2.0, 1.0]), 4.0).item() == pytest.approx(
        ((0.5 - 0.25) ** 2 + 0.25 ** 2) / 2)
    empty = torch.zeros(0, requires_grad=True)
    value = sigma_loss(empty, torch.zeros(0), 4.0)
    assert value.item() == 0.0 and value.requires_grad


def _instances():
    return PseudoInstances(sample=torch.tensor([0]), points=torch.tensor([3.0], dtype=torch.float64),
                           labels=torch.tensor([1]), intervals=torch.tensor([[1.0, 5.0]], dtype=torch.float64),
                           sigmas=torch.tensor([2.0], dtype=torch.float64), batch_size=1)


def _output(sigma=None):
    torch.manual_seed(0)
    logits = [torch.randn(1, 8, 3, requires_grad=True), torch.randn(1, 4, 3, requires_grad=True)]
    return PyramidOutput(logits, [torch.ones(1, 8, dtype=torch.bool), torch.ones(1, 4, dtype=torch.bool)], sigma)


def test_main_loss_is_the_weighted_sum_of_eq_18_with_pseudo_sigmas_without_a_head():
    instances, output = _instances(), _output()
    targets = sampled_targets([instances.points], [instances.labels], [instances.intervals], [8, 4], AXIS, 2.0, 2)
    main = MainConfig(lambda_gauss=0.7, lambda_sigma=0.3)
    parts = main_model_loss(output, targets, instances, LossConfig(), main, 4.0)
    base = base_model_loss(output, targets, LossConfig())
    gauss = gaussian_imposition_loss(output.fused()[0], output.masks[0], [instances.points], [instances.labels],
                                     [instances.sigmas])
    assert parts["gauss"].item() == pytest.approx(gauss.item(), rel=1e-6) and parts["sigma"].item() == 0.0
    assert parts["total"].item() == pytest.approx(base["total"].item() + 0.7 * gauss.item(), rel=1e-6)


def test_main_loss_uses_predicted_sigmas_and_keeps_l_g_out_of_the_head():
    instances = _instances()
    predicted = torch.tensor([0.25], requires_grad=True)  # 0.25 * scale 4 = 1 snippet
    output = _output(predicted)
    targets = sampled_targets([instances.points], [instances.labels], [instances.intervals], [8, 4], AXIS, 2.0, 2)
    parts = main_model_loss(output, targets, instances, LossConfig(), MainConfig(lambda_sigma=0.0), 4.0)
    gauss = gaussian_imposition_loss(output.fused()[0], output.masks[0], [instances.points], [instances.labels],
                                     [torch.tensor([1.0])])
    assert parts["gauss"].item() == pytest.approx(gauss.item(), rel=1e-6)
    assert parts["sigma"].item() == pytest.approx((2.0 / 4.0 - 0.25) ** 2)
    parts["total"].backward()
    assert predicted.grad is None or torch.all(predicted.grad == 0)  # lambda_sigma = 0 and L_G treats G as a target


def test_sigmas_beyond_the_scale_are_clipped_to_it():
    instances = _instances()  # pseudo sigma 2 snippets
    predicted = torch.tensor([0.25])
    output = _output(predicted)
    targets = sampled_targets([instances.points], [instances.labels], [instances.intervals], [8, 4], AXIS, 2.0, 2)
    parts = main_model_loss(output, targets, instances, LossConfig(), MainConfig(), 1.5)  # scale below sigma 2
    assert parts["sigma"].item() == pytest.approx((1.0 - 0.25) ** 2)
    no_head = main_model_loss(_output(), targets, instances, LossConfig(), MainConfig(), 1.5)
    gauss = gaussian_imposition_loss(_output().fused()[0], torch.ones(1, 8, dtype=torch.bool), [instances.points],
                                     [instances.labels], [torch.tensor([1.5])])
    assert no_head["gauss"].item() == pytest.approx(gauss.item(), rel=1e-6)


def test_sigma_scale_is_a_quantile_of_the_pseudo_label_sigmas():
    import numpy as np

    from admfit.grid import SnippetGrid
    from admfit_torch.config import preset
    from admfit_torch.data import VideoItem
    from admfit_torch.pseudo import sigma_statistics

    sigmas = np.array([1.0, 2.0, 3.0, 4.0, 1000.0])
    item = VideoItem("v", np.zeros((50, 2), np.float32), SnippetGrid(fps=30, stride=4, num_frames=16),
                     np.arange(5.0) * 10, np.zeros(5, np.int64), np.stack([np.arange(5.0) * 10, np.arange(5.0) * 10 + 7], 1),
                     sigmas)
    data = preset("cpu-small").data
    assert sigma_statistics([item], data, 4, 1.0).sigma_scale == 1000.0
    stats = sigma_statistics([item], data, 4, 0.75)
    assert stats.sigma_scale == pytest.approx(4.0) and stats.sigma_max == 1000.0 and stats.median_length == 7.0
    assert stats.default_samples == 7


def test_background_is_never_chosen_where_the_caller_forbids_it():
    instances, output = _instances(), _output()
    targets = sampled_targets([instances.points], [instances.labels], [instances.intervals], [8, 4], AXIS, 2.0, 2)
    cfg = LossConfig(background_selection="threshold", background_threshold=0.0)  # every allowed position
    free = main_model_loss(output, targets, instances, cfg, MainConfig(), 4.0)
    assert free["bg"].item() > 0
    forbidden = [torch.ones(1, 8, dtype=torch.bool), torch.ones(1, 4, dtype=torch.bool)]
    assert main_model_loss(output, targets, instances, cfg, MainConfig(), 4.0, forbidden)["bg"].item() == 0.0
