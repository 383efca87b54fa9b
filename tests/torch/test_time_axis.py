"""One time axis: where level-l step j of the actual network sits on level 0, and that every consumer agrees.

An impulse (a single-snippet action) at level-0 position x goes through the real backbone with identity-like
weights: every layer linear in the impulse's height, the down-sampling convolutions a symmetric [0.5, 1, 0.5]
kernel (under which a response's centroid maps exactly from level to level). Each level's response centroid,
mapped to level 0 by the model's ``time_axis``, must be x; mapped by the window-aligned convention
(``interpolate(align_corners=False)``) it is x + (2^l - 1) / 2, so the test tells the two apart.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from admfit.fit.signal import upsample_signal
from admfit.levels import ConvLayer, Pyramid
from admfit_torch.config import preset
from admfit_torch.inference import upsample_to
from admfit_torch.models import PointDetector

LENGTH = 128
LEVELS = 4  # the last level's shift under the window-aligned convention: 3.5 level-0 snippets


def identity_like_backbone():
    """The real Backbone (cpu-small, 4 levels) in float64 with weights that keep an impulse an impulse: embedding
    convs pass channel c through their centre tap, transformer blocks add nothing to their residual, layer norms
    are linear (a huge eps: (x - mean) / sqrt(eps)), down-sampling convs the triangle [0.5, 1, 0.5]."""
    cfg = preset("cpu-small", model={"levels": LEVELS}).model
    model = PointDetector(cfg, num_classes=3).double().eval()
    backbone = model.backbone
    with torch.no_grad():
        for conv in backbone.embed.convs:
            conv.weight.zero_()
            for c in range(min(conv.in_channels, conv.out_channels)):
                conv.weight[c, c, conv.kernel_size[0] // 2] = 1.0
        for block in [*backbone.stem, *(b.block for b in backbone.pyramid)]:
            block.attn.proj.weight.zero_()
            block.attn.proj.bias.zero_()
            block.mlp[-2].weight.zero_()
            block.mlp[-2].bias.zero_()
        for b in backbone.pyramid:
            b.down.weight.copy_(torch.tensor([0.5, 1.0, 0.5], dtype=torch.float64).expand_as(b.down.weight))
            b.down.bias.zero_()
    for module in backbone.modules():
        if isinstance(module, torch.nn.LayerNorm):
            module.eps = 1e12
    return model


def level_responses(model, x: int) -> list[np.ndarray]:
    """Channel 0 of every level's features for an impulse at level-0 position x (channel 0 only)."""
    features = torch.zeros(1, model.cfg.input_dim, LENGTH, dtype=torch.float64)
    features[0, 0, x] = 1.0
    mask = torch.ones(1, LENGTH, dtype=torch.bool)
    with torch.no_grad():
        feats, _ = model.backbone(features, mask)
    return [f[0, 0].numpy() for f in feats]


def centroid(values: np.ndarray, positions: np.ndarray | None = None) -> float:
    positions = np.arange(values.shape[0]) if positions is None else positions
    return float(np.sum(positions * values) / np.sum(values))


@pytest.fixture(scope="module")
def model():
    return identity_like_backbone()


def test_time_axis_is_read_from_the_built_layers(model):
    down = model.backbone.pyramid[0].down
    assert (down.kernel_size[0], down.stride[0], down.padding[0]) == (3, 2, 1)
    assert model.time_axis == Pyramid.from_layers([ConvLayer(3, 2, 1)]) == Pyramid(theta=2, shift=0.0)


@pytest.mark.parametrize("x", [40, 41, 42, 43, 57, 70, 85])
def test_impulse_comes_back_at_x_on_every_level(model, x):
    responses = level_responses(model, x)
    assert len(responses) == LEVELS
    aligned = Pyramid.window_aligned(2)
    for level, response in enumerate(responses):
        assert response.min() >= 0 and response.max() > 0
        step = centroid(response)
        assert model.time_axis.level(level).to_level0(step) == pytest.approx(x, abs=1e-6)
        # The other convention puts the same step (2^l - 1) / 2 level-0 snippets later.
        assert aligned.level(level).to_level0(step) == pytest.approx(x + (2 ** level - 1) / 2, abs=1e-6)


@pytest.mark.parametrize("x", [40, 43, 70])
def test_upsampled_levels_come_back_at_x(model, x):
    """Inference (upsample_to) and the ADM preparation (upsample_signal) put every level's response back on x."""
    responses = level_responses(model, x)
    axis = model.time_axis
    for level, response in enumerate(responses):
        by_inference = upsample_to(response, axis.level(level), LENGTH)
        by_adm = upsample_signal(response[:, None], LENGTH, axis.level(level))[:, 0]
        np.testing.assert_allclose(by_adm, by_inference, rtol=1e-12, atol=0)
        assert centroid(by_inference) == pytest.approx(x, abs=1e-6)
        if level:
            legacy = upsample_signal(response[:, None], LENGTH)[:, 0]  # files that say nothing: window-aligned
            assert abs(centroid(legacy) - x) > 0.4
