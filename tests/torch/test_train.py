"""Training: data sampling, schedule, determinism, resume equals an uninterrupted run (CPU, bit for bit)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from admfit.grid import SnippetGrid
from admfit_torch.checkpoint import load_checkpoint
from admfit_torch.config import preset
from admfit_torch.data import TrainingSet, VideoItem, collate, inference_sample, training_sample
from admfit_torch.train import Trainer, lr_factor, train_base, train_stage

GRID = SnippetGrid(fps=30.0, stride=4, num_frames=16)
CLASSES = ["a", "b", "c"]


def _items(count=6, dim=64, seed=0, lengths=(200, 90)):
    rng = np.random.default_rng(seed)
    items = []
    for i in range(count):
        length = lengths[i % len(lengths)]
        positions = np.sort(rng.uniform(5, length - 5, 3))
        items.append(VideoItem(f"v{i}", rng.standard_normal((length, dim), dtype=np.float32), GRID, positions,
                               rng.integers(0, 3, 3)))
    return items


def _cfg(**optim):
    return preset("cpu-small", optim={"epochs": 4, "warmup_epochs": 1, "batch_size": 2, **optim})


def test_lr_schedule():
    # warm-up over 4 steps: 1/4, 2/4, 3/4, 1; then constant, or cosine down to 0 at step 10
    assert [lr_factor(s, 4, 10, "constant") for s in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    assert lr_factor(4, 4, 10, "cosine") == pytest.approx(1.0)
    assert lr_factor(7, 4, 10, "cosine") == pytest.approx(0.5)
    assert lr_factor(10, 4, 10, "cosine") == pytest.approx(0.0)


def test_long_video_crops_keep_most_points():
    cfg = preset("cpu-small").data  # input 128 snippets, 70% of the points kept
    item = VideoItem("v", np.zeros((1000, 64), np.float32), GRID, np.array([100.0, 120.0, 140.0, 900.0]),
                     np.array([0, 1, 2, 0]))
    for seed in range(20):
        sample = training_sample(item, cfg, np.random.default_rng(seed), multiple=4)
        assert sample.features.shape == (64, 128) and bool(sample.mask.all())
        # 3 of 4 points fit one 128-snippet window (100..140), the 4th is 760 snippets away
        assert len(sample.positions) == 3
        np.testing.assert_allclose(sample.positions.numpy() + sample.offset, [100.0, 120.0, 140.0])


def test_short_video_is_cropped_to_90_percent_or_more_then_padded():
    cfg = preset("cpu-small").data
    item = VideoItem("v", np.ones((100, 64), np.float32), GRID, np.array([50.0]), np.array([1]))
    sizes = set()
    for seed in range(30):
        sample = training_sample(item, cfg, np.random.default_rng(seed), multiple=4)
        size = int(sample.mask.sum())
        sizes.add(size)
        assert 90 <= size <= 100 and sample.features.shape == (64, 128)
        assert float(sample.features[:, size:].abs().sum()) == 0.0  # padding is zero and masked
    assert len(sizes) > 1


def test_resize_mode_interpolates_features_and_points():
    cfg = preset("anet12", model={"input_dim": 4}).data
    item = VideoItem("v", np.tile(np.arange(384, dtype=np.float32)[:, None], (1, 4)), GRID, np.array([191.5]),
                     np.array([0]))
    sample = training_sample(item, cfg, np.random.default_rng(0), multiple=8)
    assert sample.features.shape == (4, 192) and sample.scale == 2.0
    # video snippet p sits at input position (p + 0.5) / 2 - 0.5: 191.5 -> 95.5; features average pairs
    assert sample.positions.tolist() == [95.5]
    assert sample.features[0, :3].tolist() == [0.5, 2.5, 4.5]


def test_inference_sample_pads_to_the_total_stride():
    cfg = preset("cpu-small")  # 3 levels, theta 2 -> multiple of 4
    sample = inference_sample(_items(1, lengths=(201,))[0], cfg.data, cfg.model.total_stride)
    assert sample.features.shape[1] == 204 and int(sample.mask.sum()) == 201


def test_epoch_samples_do_not_depend_on_history():
    data = TrainingSet(_items(), preset("cpu-small").data, 4, seed=3)
    data.set_epoch(2)
    first = [data[i].offset for i in range(len(data))]
    data.set_epoch(0)
    _ = [data[i] for i in range(len(data))]
    data.set_epoch(2)
    assert [data[i].offset for i in range(len(data))] == first


def _weights(path):
    state = load_checkpoint(path)
    return {k: v for k, v in state["model"].items()}, {k: v for k, v in state["ema"].items()}


def test_same_seed_same_model_and_other_seed_differs(tmp_path):
    items = _items()
    train_base(items, CLASSES, _cfg(), tmp_path / "a", show_progress=False)
    train_base(items, CLASSES, _cfg(), tmp_path / "b", show_progress=False)
    train_base(items, CLASSES, preset("cpu-small", seed=1, optim={"epochs": 4, "warmup_epochs": 1,
                                                                  "batch_size": 2}), tmp_path / "c", show_progress=False)
    a, b, c = (_weights(tmp_path / name / "checkpoint.pt")[0] for name in "abc")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_resume_equals_uninterrupted(tmp_path):
    items = _items()
    full = train_base(items, CLASSES, _cfg(), tmp_path / "full", show_progress=False)
    # the same run stopped after epoch 1 (its checkpoint written), then resumed to the end
    interrupted = tmp_path / "interrupted"
    trainer = Trainer(items, CLASSES, _cfg(), interrupted)
    for epoch in range(2):
        trainer.run_epoch(epoch)
        trainer.save(epoch)
    resumed = train_base(items, CLASSES, _cfg(), interrupted, resume=True, show_progress=False)
    assert resumed.epochs_run == 2
    (m1, e1), (m2, e2) = _weights(full.checkpoint), _weights(resumed.checkpoint)
    assert all(torch.equal(m1[k], m2[k]) for k in m1) and all(torch.equal(e1[k], e2[k]) for k in e1)
    assert load_checkpoint(full.checkpoint)["optimizer"]["state"].keys() == \
        load_checkpoint(resumed.checkpoint)["optimizer"]["state"].keys()


def test_metrics_are_json_lines_per_epoch(tmp_path):
    train_base(_items(), CLASSES, _cfg(epochs=3), tmp_path, show_progress=False)
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [0, 1, 2]
    assert all(np.isfinite(r["loss_total"]) and r["loss_total"] > 0 for r in records)


def test_training_reduces_the_loss(tmp_path):
    result = train_base(_items(), CLASSES, _cfg(epochs=8, batch_size=3), tmp_path, show_progress=False)
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert result.last_metrics["loss_total"] < 0.8 * records[0]["loss_total"]


def test_collate_pads_to_the_longest():
    cfg = preset("cpu-small")
    samples = [inference_sample(item, cfg.data, 4) for item in _items(2, lengths=(200, 90))]
    batch = collate(samples)
    assert batch.features.shape == (2, 64, 200) and batch.masks.sum(dim=1).tolist() == [200, 90]


def test_ema_update_with_and_without_warmup():
    from admfit_torch.train import ema_update

    ema, current = [torch.tensor([0.0])], [torch.tensor([1.0])]
    # after 1 update with warm-up: d = min(0.999, 2 / 11) -> ema = 0 + (1 - 2/11) * 1 = 9/11
    ema_update(0.999, warmup=True)(ema, current, torch.tensor(1))
    torch.testing.assert_close(ema[0], torch.tensor([9 / 11]))
    plain = [torch.tensor([0.0])]
    ema_update(0.999, warmup=False)(plain, current, torch.tensor(1))
    torch.testing.assert_close(plain[0], torch.tensor([0.001]))


# ---- the main stage (sigma head, pseudo-labels): same seed, same model; resume equals an uninterrupted run ----

def _main_items(count=4, points=24, length=120, seed=0):
    """Videos crowded with pseudo-labelled points, so that a batch's sigma-head samples (points x K x D) pass the
    32768 elements above which torch's CPU index_put accumulates in parallel."""
    rng = np.random.default_rng(seed)
    items = []
    for i in range(count):
        positions = np.sort(rng.uniform(4, length - 4, points))
        intervals = np.stack([positions - rng.uniform(1, 6, points), positions + rng.uniform(1, 6, points)], axis=1)
        items.append(VideoItem(f"v{i}", rng.standard_normal((length, 64), dtype=np.float32), GRID, positions,
                               rng.integers(0, 3, points), intervals, rng.uniform(0.5, 4.0, points)))
    return items


def _main_cfg():
    return preset("cpu-small", optim={"epochs": 3, "warmup_epochs": 1, "batch_size": 4}, main={"sigma_samples": 32})


def _train_main(items, out, **kwargs):
    return train_stage(items, CLASSES, _main_cfg(), out, stage="main", sigma_scale=4.0, show_progress=False, **kwargs)


def _same_weights(a, b) -> bool:
    (m1, e1), (m2, e2) = _weights(a), _weights(b)
    return all(torch.equal(m1[k], m2[k]) for k in m1) and all(torch.equal(e1[k], e2[k]) for k in e1)


def test_main_stage_resume_equals_uninterrupted(tmp_path):
    items = _main_items()
    full = _train_main(items, tmp_path / "full")
    interrupted = tmp_path / "interrupted"
    trainer = Trainer(items, CLASSES, _main_cfg(), interrupted, stage="main", sigma_scale=4.0)
    for epoch in range(2):
        trainer.run_epoch(epoch)
        trainer.save(epoch)
    resumed = _train_main(items, interrupted, resume=True)
    assert resumed.epochs_run == 1
    assert any(key.startswith("sigma_head.") for key in _weights(full.checkpoint)[0])
    assert _same_weights(full.checkpoint, resumed.checkpoint)


@pytest.fixture
def two_torch_threads():
    """Runs that use every core: the nondeterminism fixed at commit d3be28b only shows with 2+ intra-op threads."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def test_sigma_head_gradients_are_bit_reproducible_on_several_threads(two_torch_threads):
    from admfit_torch.models import sample_intervals

    generator = torch.Generator().manual_seed(0)
    features = torch.randn(4, 32, 128, generator=generator)
    rows, samples = 512, 32  # 512 x 32 x 32 sampled elements, many sharing a snippet across the two threads
    starts = torch.rand(rows, generator=generator) * 100
    intervals = torch.stack([torch.randint(0, 4, (rows,), generator=generator).float(), starts, starts + 20], dim=1)
    upstream = torch.randn(rows, 32, samples, generator=generator)
    gradients = set()
    for _ in range(20):
        leaf = features.clone().requires_grad_(True)
        (sample_intervals(leaf, torch.full((4,), 128), intervals, samples) * upstream).sum().backward()
        gradients.add(leaf.grad.numpy().tobytes())
    assert len(gradients) == 1


def test_main_stage_is_bit_reproducible_on_several_threads(tmp_path, two_torch_threads):
    items = _main_items()
    first, second = _train_main(items, tmp_path / "a"), _train_main(items, tmp_path / "b")
    assert _same_weights(first.checkpoint, second.checkpoint)
