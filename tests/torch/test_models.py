"""Backbone, head and masks of the admfit_torch detector; config validation and presets."""
from __future__ import annotations

import pytest
import torch

from admfit.errors import InputError
from admfit_torch.config import PRESETS, load_config, preset, with_overrides
from admfit_torch.models import PointDetector, fuse
from admfit_torch.models.blocks import LocalSelfAttention
from admfit_torch.models.head import ClassificationHead

from ..helpers import REPO

CONFIGS = REPO / "configs"


def _model(**model):
    cfg = preset("cpu-small", model=model)
    torch.manual_seed(0)
    return PointDetector(cfg.model, num_classes=5).eval(), cfg


def test_pyramid_shapes_and_masks():
    model, cfg = _model()
    x, mask = torch.randn(2, 64, 128), torch.ones(2, 128, dtype=torch.bool)
    mask[1, 100:] = False
    out = model(x, mask)
    assert len(out.logits) == cfg.model.levels == 3
    for level, (logits, m) in enumerate(zip(out.logits, out.masks)):
        assert logits.shape == (2, 128 // 2 ** level, 6)  # C + 1 outputs, T_l = T / theta^l
        assert m.shape == (2, 128 // 2 ** level)
    # the valid length of level l is ceil(100 / 2^l): 100, 50, 25
    assert [int(m[1].sum()) for m in out.masks] == [100, 50, 25]


def test_padding_does_not_change_real_snippets():
    model, _ = _model()
    torch.manual_seed(1)
    x = torch.randn(1, 64, 96)
    alone = model(torch.nn.functional.pad(x, (0, 32)), torch.arange(128).unsqueeze(0) < 96)
    garbage = torch.cat([x, 100 * torch.randn(1, 64, 160)], dim=2)  # junk where the mask is False
    padded = model(garbage, torch.arange(256).unsqueeze(0) < 96)
    for level, (a, b, m) in enumerate(zip(alone.logits, padded.logits, alone.masks)):
        n = int(m.sum())
        torch.testing.assert_close(a[0, :n], b[0, :n], atol=1e-5, rtol=1e-5, msg=f"level {level}")


def test_local_attention_sees_only_its_window():
    torch.manual_seed(0)
    attention = LocalSelfAttention(dim=8, num_heads=2, window=5).eval()
    x = torch.randn(1, 8, 40)
    mask = torch.ones(1, 40, dtype=torch.bool)
    changed = x.clone()
    changed[:, :, 30] += 10.0
    before, after = attention(x, mask), attention(changed, mask)
    # window 5: position 30 is visible from 28..32 only
    differs = (before - after).abs().amax(dim=1)[0] > 1e-6
    assert differs.nonzero().flatten().tolist() == [28, 29, 30, 31, 32]


def test_fused_score_is_eq1():
    probs = torch.tensor([[0.8, 0.5, 0.25]])  # two classes, background 0.25
    torch.testing.assert_close(fuse(probs), torch.tensor([[0.8 * 0.75, 0.5 * 0.75]]))


def test_head_bias_sets_the_priors():
    cfg = preset("cpu-small")
    head = ClassificationHead(cfg.model, num_classes=5)
    # zero features: the hidden convs have no bias and LayerNorm maps 0 to 0, so only the output bias remains
    probs = torch.sigmoid(head(torch.zeros(1, cfg.model.embed_dim, 8), torch.ones(1, 8, dtype=torch.bool)))[0, 3]
    torch.testing.assert_close(probs[:5], torch.full((5,), cfg.model.class_prior))
    torch.testing.assert_close(probs[5], torch.tensor(cfg.model.background_prior))


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_files_match_the_code(name):
    assert load_config(CONFIGS / f"{name}.yaml") == preset(name)


def test_paper_defaults_in_the_thumos14_preset():
    cfg = preset("thumos14")
    assert (cfg.model.levels, cfg.model.theta, cfg.model.window, cfg.data.input_length) == (4, 2, 19, 2304)
    assert (cfg.optim.lr, cfg.optim.epochs, cfg.optim.warmup_epochs, cfg.optim.batch_size) == (1e-4, 100, 10, 3)
    assert (cfg.loss.augment_radius, cfg.loss.focal_gamma, cfg.optim.ema_decay) == (2.0, 2.0, 0.999)
    anet = preset("anet12")
    assert (anet.model.window, anet.data.input_length, anet.optim.epochs, anet.optim.batch_size) == (7, 192, 50, 64)


@pytest.mark.parametrize("override, field", [
    (["model.window=18"], "model"),          # even window
    (["optim.lr=-1"], "optim.lr"),
    (["model.nonsense=3"], "model.nonsense"),
    (["loss.background_threshold=1.5"], "loss.background_threshold"),
    (["optim.warmup_epochs=200"], "optim"),
    (["no_equals_sign"], "--set"),
])
def test_bad_config_values_raise_input_error(override, field):
    with pytest.raises(InputError) as caught:
        with_overrides(preset("cpu-small"), override)
    assert caught.value.field == field


def test_yaml_config_with_preset_base(tmp_path):
    path = tmp_path / "cfg.yaml"
    path.write_text("preset: cpu-small\noptim:\n  epochs: 7\n")
    cfg = load_config(path)
    assert cfg.optim.epochs == 7 and cfg.model.embed_dim == preset("cpu-small").model.embed_dim
    path.write_text("model:\n  levels: [1\n")
    with pytest.raises(InputError, match="YAML"):
        load_config(path)


def test_adm_paper_by_name_in_a_detector_config(tmp_path):
    from pydantic import ValidationError

    from admfit import ADMConfig
    from admfit_torch.config import DetectorConfig

    assert DetectorConfig(adm="paper").adm == ADMConfig.paper()
    assert DetectorConfig().adm == ADMConfig()
    config = tmp_path / "paper.yaml"
    config.write_text("preset: cpu-small\nadm: paper\n")
    assert load_config(config).adm == ADMConfig.paper()
    with pytest.raises(ValidationError):
        DetectorConfig(adm="papers")
