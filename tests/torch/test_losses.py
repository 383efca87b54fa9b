"""Base-model losses (paper eqs. 2-7) on small hand-computed cases."""
from __future__ import annotations

import math

import pytest
import torch

from admfit.levels import Pyramid
from admfit_torch.config import LossConfig
from admfit_torch.losses import (
    augmented_targets,
    background_loss,
    base_model_loss,
    binary_focal,
    mil_loss,
    point_focal_loss,
    select_background,
    topk_video_scores,
)
from admfit_torch.models import PyramidOutput


def test_augmented_targets_per_level():
    targets = augmented_targets([torch.tensor([10.0])], [torch.tensor([1])], lengths=[32, 16, 8], time_axis=Pyramid(theta=2),
                                radius=2.0, num_classes=3)
    # level 0: 10 +- 2 -> 8..12; level 1: 5 +- 2 -> 3..7; level 2: 2.5 +- 2 -> [0.5, 4.5] -> 1..4
    expected = [[8, 9, 10, 11, 12], [3, 4, 5, 6, 7], [1, 2, 3, 4]]
    for mask, target, positions in zip(targets.point_masks, targets.point_targets, expected):
        assert mask[0].nonzero().flatten().tolist() == positions
        assert target[0, positions, 1].eq(1).all() and target[0, :, [0, 2]].eq(0).all()
    assert targets.video_labels.tolist() == [[0.0, 1.0, 0.0]]


def test_augmented_targets_clip_at_the_video_ends_and_merge_classes():
    targets = augmented_targets([torch.tensor([0.0, 1.0])], [torch.tensor([0, 2])], lengths=[8], time_axis=Pyramid(theta=2),
                                radius=1.0, num_classes=3)
    # point 0 covers -1..1 -> 0..1 (class 0); point 1 covers 0..2 (class 2); overlaps are multi-hot
    assert targets.point_targets[0][0, :3].tolist() == [[1, 0, 1], [1, 0, 1], [0, 0, 1]]


def test_binary_focal_hand_values():
    p = torch.tensor([0.5, 0.9, 0.2])
    y = torch.tensor([1.0, 1.0, 0.0])
    # -log(0.5) * 0.5^2; -log(0.9) * 0.1^2; -log(0.8) * 0.2^2
    expected = torch.tensor([math.log(2) * 0.25, -math.log(0.9) * 0.01, -math.log(0.8) * 0.04])
    torch.testing.assert_close(binary_focal(p, y, gamma=2.0), expected)
    # gamma 0 is plain binary cross-entropy
    torch.testing.assert_close(binary_focal(p, y, gamma=0.0), torch.nn.functional.binary_cross_entropy(p, y,
                                                                                                       reduction="none"))


def test_topk_video_scores_ignore_padding():
    fused = torch.tensor([[0.1, 0.9, 0.3, 0.7, 0.2, 0.99, 0.99, 0.99]]).unsqueeze(-1)  # (1, 8, 1)
    mask = torch.tensor([[True] * 5 + [False] * 3])
    # 5 real snippets, divisor 2 -> k = 2: mean(0.9, 0.7) = 0.8 (the padded 0.99s do not count)
    torch.testing.assert_close(topk_video_scores(fused, mask, divisor=2), torch.tensor([[0.8]]))


def test_mil_loss_hand_value():
    fused = [torch.tensor([[[0.8, 0.1], [0.6, 0.3], [0.2, 0.2], [0.0, 0.1]]])]  # (1, 4, 2)
    mask = [torch.ones(1, 4, dtype=torch.bool)]
    # divisor 2 -> k = 2: class 0 mean(0.8, 0.6) = 0.7, class 1 mean(0.3, 0.2) = 0.25
    # label [1, 0]: -log(0.7) - log(1 - 0.25), summed over classes
    loss = mil_loss(fused, mask, torch.tensor([[1.0, 0.0]]), divisor=2)
    assert loss.item() == pytest.approx(-math.log(0.7) - math.log(0.75), rel=1e-6)
    # two identical levels: the 1/L average leaves the value unchanged
    assert mil_loss(fused * 2, mask * 2, torch.tensor([[1.0, 0.0]]), divisor=2).item() == pytest.approx(loss.item())


def test_point_focal_loss_normalises_by_positions():
    fused = [torch.tensor([[[0.5], [0.9], [0.5]]])]  # (1, 3, 1)
    at_points = [torch.tensor([[True, True, False]])]
    targets = [torch.tensor([[[1.0], [1.0], [0.0]]])]
    # positions 0 and 1: (log 2 * 0.25 - log 0.9 * 0.01) / 2; position 2 is not a point
    expected = (math.log(2) * 0.25 - math.log(0.9) * 0.01) / 2
    assert point_focal_loss(fused, at_points, targets, gamma=2.0).item() == pytest.approx(expected, rel=1e-6)


def test_background_selection_and_loss():
    bg = torch.tensor([[0.99, 0.96, 0.5, 0.97]])
    mask = torch.tensor([[True, True, True, False]])
    at_points = torch.tensor([[False, True, False, False]])
    chosen = select_background(bg, mask, at_points, threshold=0.95)
    assert chosen.tolist() == [[True, False, False, False]]  # 1: a point, 2: below threshold, 3: padding
    fused = [torch.tensor([[[0.1], [0.5], [0.5], [0.5]]])]
    # only snippet 0: -(0.1^2 log(0.9) + 0.01^2 log(0.99)), M_bg = 1
    expected = -(0.01 * math.log(0.9) + 1e-4 * math.log(0.99))
    loss = background_loss(fused, [bg], [mask], [at_points], threshold=0.95, gamma=2.0)
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def test_background_loss_is_zero_without_background_points():
    fused = [torch.full((1, 4, 2), 0.5)]
    assert background_loss(fused, [torch.full((1, 4), 0.5)], [torch.ones(1, 4, dtype=torch.bool)],
                           [torch.zeros(1, 4, dtype=torch.bool)]).item() == 0.0


def test_total_is_the_weighted_sum_and_has_gradients():
    torch.manual_seed(0)
    logits = [torch.randn(2, 16, 4, requires_grad=True), torch.randn(2, 8, 4, requires_grad=True)]
    logits[0].data[:, :, -1] = 4.0  # high background everywhere, so L_BG has points
    masks = [torch.ones(2, 16, dtype=torch.bool), torch.ones(2, 8, dtype=torch.bool)]
    targets = augmented_targets([torch.tensor([3.0]), torch.tensor([9.0, 12.0])],
                                [torch.tensor([0]), torch.tensor([1, 2])], [16, 8], Pyramid(theta=2), 1.0, 3)
    cfg = LossConfig(lambda_mil=0.5, lambda_act=2.0, lambda_bg=3.0)
    parts = base_model_loss(PyramidOutput(logits, masks), targets, cfg)
    assert parts["bg"].item() > 0
    expected = 0.5 * parts["mil"] + 2.0 * parts["act"] + 3.0 * parts["bg"]
    assert parts["total"].item() == pytest.approx(expected.item(), rel=1e-6)
    parts["total"].backward()
    assert all(torch.isfinite(z.grad).all() and z.grad.abs().sum() > 0 for z in logits)


def test_gap_selection_guarantees_background_between_points():
    from admfit_torch.losses import select_background_gaps

    #                    0    1    2    3    4    5    6    7    8    9   10   11  (12, 13 padding)
    bg = torch.tensor([[0.2, 0.6, 0.3, 0.1, 0.4, 0.7, 0.5, 0.1, 0.96, 0.2, 0.97, 0.3, 0.99, 0.99]])
    at_points = torch.zeros(1, 14, dtype=torch.bool)
    at_points[0, [3, 7]] = True
    mask = torch.arange(14).unsqueeze(0) < 12
    chosen = select_background_gaps(bg, mask, at_points, threshold=0.95)[0].nonzero().flatten().tolist()
    # head [0, 3): nothing >= 0.95 -> up to its most background-like snippet 1; gap (3, 7): none -> its argmax 5;
    # tail (7, 12): 8 and 10 pass -> from the first of them to the end; padding never counts
    assert chosen == [0, 1, 5, 8, 9, 10, 11]
    gap_two = torch.tensor([[0.1, 0.96, 0.2, 0.97, 0.1]])
    two_points = torch.tensor([[True, False, False, False, True]])
    chosen = select_background_gaps(gap_two, torch.ones(1, 5, dtype=torch.bool), two_points, 0.95)
    assert chosen[0].nonzero().flatten().tolist() == [1, 2, 3]  # first to last passing snippet of the gap
    no_points = select_background_gaps(gap_two, torch.ones(1, 5, dtype=torch.bool), torch.zeros(1, 5, dtype=torch.bool),
                                       0.95)
    assert no_points[0].nonzero().flatten().tolist() == [1, 3]  # the threshold rule


def test_background_loss_selection_is_validated():
    fused = [torch.full((1, 4, 2), 0.3)]
    with pytest.raises(ValueError, match="selection"):
        background_loss(fused, [torch.full((1, 4), 0.5)], [torch.ones(1, 4, dtype=torch.bool)],
                        [torch.zeros(1, 4, dtype=torch.bool)], selection="nearest")
