"""The faster training loop (docs/training.md, "Speed of the training loop") computes what the loops it replaced
computed (tests/torch/loop_reference.py, the code of commit 73aa70b): attention, targets, background points and
losses equal up to float round-off or exactly, features kept on the device give the same batches and weights, the
EMA equals AveragedModel's, and a training step holds no operation that waits for a GPU."""
from __future__ import annotations

import subprocess

import numpy as np
import pytest
import torch

from admfit.grid import SnippetGrid
from admfit.levels import Pyramid
from admfit_torch.config import preset
from admfit_torch.data import VideoItem
from admfit_torch.losses import (
    background_loss,
    gaussian_imposition_loss,
    point_focal_loss,
    point_targets,
    select_background_gaps,
)
from admfit_torch.models.blocks import LocalSelfAttention, local_attention
from admfit_torch.train import Trainer

from ..helpers import REPO
from . import loop_reference as reference

GRID = SnippetGrid(fps=30.0, stride=4, num_frames=16)


def _random_mask(generator, batch, length):
    real = torch.randint(1, length + 1, (batch,), generator=generator)
    return torch.arange(length) < real.unsqueeze(1)


@pytest.mark.parametrize("window, length", [(1, 7), (3, 40), (9, 128), (19, 70), (19, 5), (33, 100)])
def test_banded_attention_equals_the_unfolded_window(window, length):
    generator = torch.Generator().manual_seed(window * 1000 + length)
    q, k, v = (torch.randn(3, 2, 8, length, generator=generator, requires_grad=True) for _ in range(3))
    mask = _random_mask(generator, 3, length)
    banded, unfolded = local_attention(q, k, v, mask, window), reference.unfolded_attention(q, k, v, mask, window)
    real = mask[:, None, None, :]  # padded queries are zeroed by the block; their outputs need not agree
    torch.testing.assert_close(banded * real, unfolded * real, rtol=1e-5, atol=1e-6)
    upstream = torch.randn(banded.shape, generator=generator) * real
    grads = [torch.autograd.grad((out * upstream).sum(), (q, k, v)) for out in (banded, unfolded)]
    for new, old in zip(*grads):
        torch.testing.assert_close(new, old)  # float32 defaults: rtol 1.3e-6, atol 1e-5


def test_attention_block_sizes_agree():
    """The block size is a choice of speed only: blocks of 8, 32 and 64 snippets give the same outputs."""
    generator = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 2, 4, 90, generator=generator) for _ in range(3))
    mask = _random_mask(generator, 2, 90)
    real = mask[:, None, None, :]
    outputs = [local_attention(q, k, v, mask, 9, block=block) * real for block in (8, 32, 64)]
    for other in outputs[1:]:
        torch.testing.assert_close(other, outputs[0], rtol=1e-5, atol=1e-6)


def test_attention_module_zeroes_padded_queries():
    torch.manual_seed(0)
    attention = LocalSelfAttention(dim=8, num_heads=2, window=5).eval()
    mask = torch.arange(40).unsqueeze(0) < 25
    out = attention(torch.randn(1, 8, 40), mask)
    assert torch.all(out[0, :, 25:] == 0) and torch.all(out[0, :, :25].abs().sum(dim=0) > 0)


def _points(rng, batch, length, classes):
    points = [torch.as_tensor(np.sort(rng.uniform(0, length - 1, int(rng.integers(0, 6))))) for _ in range(batch)]
    labels = [torch.as_tensor(rng.integers(0, classes, len(p))) for p in points]
    # Intervals around their points (start up to 8 snippets before, end up to 8 after, some missing the point):
    # never wholly more than a snippet before the sample, where the old loop marked too much (see the test below).
    intervals = [torch.as_tensor(np.stack([p.numpy() - rng.uniform(-2, 8, len(p)),
                                           np.maximum(p.numpy() + rng.uniform(-2, 8, len(p)), -0.5)], axis=1))
                 for p in points]
    return points, labels, intervals


@pytest.mark.parametrize("radius, with_intervals", [(2.0, False), (0.0, False), (1.5, True), (None, True)])
@pytest.mark.parametrize("axis", [Pyramid(theta=2), Pyramid(theta=2, shift=0.5)])
def test_point_targets_equal_the_loop_over_points(radius, with_intervals, axis):
    rng = np.random.default_rng(int(10 * (radius or 9)) + with_intervals)
    for _ in range(20):
        batch, classes, length = int(rng.integers(1, 5)), int(rng.integers(1, 6)), int(rng.choice([16, 40, 64]))
        lengths = [length // 2 ** level for level in range(3)]
        points, labels, intervals = _points(rng, batch, length, classes)
        if rng.uniform() < 0.3:  # points on half snippets: rounding half to even on every level
            points = [torch.round(p * 2) / 2 for p in points]
        spans = intervals if with_intervals else None
        new = point_targets(points, labels, lengths, axis, radius, classes, spans)
        masks, targets, video = reference.point_targets(points, labels, lengths, axis, radius, classes, spans)
        assert all(torch.equal(a, b) for a, b in zip(new.point_targets, targets))
        assert all(torch.equal(a, b) for a, b in zip(new.point_masks, masks))
        assert torch.equal(new.video_labels, video)


def test_an_interval_wholly_before_the_sample_adds_no_positives():
    """The old loop sliced target[lo:hi + 1] with hi + 1 < 0, which counts from the end: an interval ending before
    snippet -1 marked most of the level positive. Now only the point's own snippet is."""
    targets = point_targets([torch.tensor([3.0])], [torch.tensor([0])], [16], Pyramid(theta=2), 2.0, 2,
                            [torch.tensor([[-9.0, -4.0]])])
    assert targets.point_masks[0][0].nonzero().flatten().tolist() == [3]
    old, _, _ = reference.point_targets([torch.tensor([3.0])], [torch.tensor([0])], [16], Pyramid(theta=2), 2.0, 2,
                                        [torch.tensor([[-9.0, -4.0]])])
    assert old[0][0].sum() > 1  # what the loop did


def test_gap_selection_equals_the_loop_over_stretches():
    generator = torch.Generator().manual_seed(0)
    for trial in range(300):
        batch = int(torch.randint(1, 5, (1,), generator=generator))
        length = int(torch.randint(1, 40, (1,), generator=generator))
        bg = torch.rand(batch, length, generator=generator)
        if trial % 4 == 0:
            bg = (bg * 4).round() / 4  # ties: the first most background-like snippet
        mask = _random_mask(generator, batch, length) if trial % 5 else torch.zeros(batch, length, dtype=torch.bool)
        at_points = torch.rand(batch, length, generator=generator) < 0.4 * float(torch.rand(1, generator=generator))
        threshold = 0.5 + 0.5 * float(torch.rand(1, generator=generator))
        assert torch.equal(select_background_gaps(bg, mask, at_points, threshold),
                           reference.select_background_gaps(bg, mask, at_points, threshold)), trial


@pytest.mark.parametrize("selection", ["gaps", "threshold"])
def test_masked_loss_sums_equal_the_indexed_ones(selection):
    from admfit_torch.losses import select_background

    generator = torch.Generator().manual_seed(1)
    fused = [torch.rand(3, 32 // 2 ** level, 4, generator=generator) for level in range(3)]
    bg = [torch.rand(3, 32 // 2 ** level, generator=generator) ** 0.2 for level in range(3)]
    masks = [_random_mask(generator, 3, 32 // 2 ** level) for level in range(3)]
    at_points = [torch.rand(3, 32 // 2 ** level, generator=generator) < 0.2 for level in range(3)]
    targets = [(torch.rand(f.shape, generator=generator) < 0.3).float() for f in fused]
    select = select_background_gaps if selection == "gaps" else select_background
    assert background_loss(fused, bg, masks, at_points, 0.9, 2.0, selection).item() == pytest.approx(
        reference.background_loss(fused, bg, masks, at_points, 0.9, 2.0, select).item(), rel=1e-6)
    assert point_focal_loss(fused, at_points, targets, 2.0).item() == pytest.approx(
        reference.point_focal_loss(fused, at_points, targets, 2.0).item(), rel=1e-6)


def test_gaussian_imposition_equals_the_loop_over_samples():
    generator = torch.Generator().manual_seed(2)
    fused = torch.rand(4, 50, 3, generator=generator)
    mask = _random_mask(generator, 4, 50)
    counts = [3, 0, 5, 1]  # a sample without points does not count in the mean
    points = [torch.rand(n, generator=generator).double() * 40 for n in counts]
    labels = [torch.randint(0, 3, (n,), generator=generator) for n in counts]
    sigmas = [torch.rand(n, generator=generator) * 4 + 0.5 for n in counts]
    assert gaussian_imposition_loss(fused, mask, points, labels, sigmas).item() == pytest.approx(
        reference.gaussian_imposition_loss(fused, mask, points, labels, sigmas).item(), rel=1e-6)
    none = [torch.zeros(0)] * 4
    assert gaussian_imposition_loss(fused, mask, none, [torch.zeros(0, dtype=torch.long)] * 4, none).item() == 0.0


def _items(lengths=(200, 90, 130, 60), seed=0):
    rng = np.random.default_rng(seed)
    items = []
    for i, length in enumerate(lengths):
        positions = np.sort(rng.uniform(5, length - 5, 3))
        items.append(VideoItem(f"v{i}", rng.standard_normal((length, 64), dtype=np.float32), GRID, positions,
                               rng.integers(0, 3, 3)))
    return items


@pytest.mark.parametrize("mode", ["crop", "resize"])
def test_features_on_the_device_give_the_same_batches_and_weights(tmp_path, mode):
    cfg = preset("cpu-small", optim={"epochs": 1, "warmup_epochs": 1, "batch_size": 2}, data={"length_mode": mode})
    runs = []
    for on_device in (False, True):
        trainer = Trainer(_items(), ["a", "b", "c"], cfg, tmp_path / str(on_device), features_on_device=on_device)
        assert (trainer.bank is not None) == on_device
        trainer.sampler.set_epoch(0)
        trainer.dataset.set_epoch(0)
        batches = [batch.features for batch in trainer.loader]
        trainer.run_epoch(0)
        runs.append((batches, trainer.model.state_dict()))
    (host, host_weights), (bank, bank_weights) = runs
    assert all(torch.equal(a, b) for a, b in zip(host, bank))
    assert all(torch.equal(host_weights[key], bank_weights[key]) for key in host_weights)


def test_ema_equals_averaged_models_update_and_counts_on_the_host(tmp_path):
    from torch.optim.swa_utils import AveragedModel

    from admfit_torch.train import ema_update

    trainer = Trainer(_items(), ["a", "b", "c"], preset("cpu-small", optim={"batch_size": 2}), tmp_path)
    model = trainer.model
    plain = AveragedModel(model, multi_avg_fn=ema_update(0.999, True), use_buffers=True)
    for _ in range(4):
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.add_(torch.randn_like(parameter))
        trainer.ema.update()
        plain.update_parameters(model)
    ours = trainer.ema.state_dict()
    assert all(torch.equal(ours[key], value) for key, value in plain.state_dict().items())
    assert trainer.ema.updates == 4 and int(ours["n_averaged"]) == 4
    trainer.ema.load_state_dict(plain.state_dict())
    assert trainer.ema.updates == 4


def test_a_training_step_holds_no_operation_that_waits_for_a_gpu(tmp_path):
    """No nonzero (boolean indexing) and no item (int(), float()) outside the optimizer: on CUDA each waits for the
    device. The old loop had dozens per step (the per-video loops of the targets and background gaps)."""
    from torch.profiler import ProfilerActivity, profile

    from benchmarks.torch_throughput import WOULD_SYNC, _in_optimizer

    items = [VideoItem(item.video, item.features, item.grid, item.positions, item.labels,
                       np.stack([item.positions - 2, item.positions + 3], axis=1), np.full(3, 1.5))
             for item in _items()]
    for stage in ("base", "main"):
        cfg = preset("cpu-small", optim={"batch_size": 2}, main={"sigma_samples": 4})
        trainer = Trainer(items, ["a", "b", "c"], cfg, tmp_path / stage, stage=stage, sigma_scale=3.0)
        batch = next(iter(trainer.loader))
        trainer.step(batch)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            losses = trainer.step(batch)
        waits = [event.name for event in prof.events() if event.name in WOULD_SYNC and not _in_optimizer(event)]
        assert waits == [], stage
        assert all(isinstance(value, torch.Tensor) for value in losses.values())


def test_optimizer_is_fused_on_cpu():
    from admfit_torch.models import PointDetector
    from admfit_torch.train import make_optimizer

    cfg = preset("cpu-small")
    optimizer = make_optimizer(PointDetector(cfg.model, 3), cfg.optim, torch.device("cpu"))
    assert optimizer.defaults["fused"] is True


def test_benchmark_checks_the_baseline_out_and_reports_ratios_against_the_target(capsys):
    """--baseline's parts (the whole comparison runs two worker processes, too slow for the suite): the revision
    checked out into a temporary worktree and removed after, the best round of each side, ratios and the target."""
    from benchmarks import torch_throughput as bench

    if subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True).returncode != 0:
        pytest.skip("not a git checkout")
    with bench.checkout("HEAD") as (folder, name):
        assert (folder / "admfit_torch" / "train.py").is_file() and name.startswith("commit ")
    assert not folder.exists()
    with bench.checkout(str(REPO)) as (folder, name):
        assert folder == REPO.resolve() and name.startswith("folder")

    def row(rate, infer):
        return {"T": 128, "D": 64, "batch": 4, "amp": False, "train_videos_per_s": rate, "infer_s_per_video": infer,
                "forward_s_per_video": infer, "post_s_per_video": 0.0, "post_share": 0.0, "host_syncs_per_step": 0}

    best = bench._best([row(10.0, 0.03), row(12.0, 0.05), row(11.0, 0.02)])
    assert (best["train_videos_per_s"], best["infer_s_per_video"]) == (12.0, 0.02)
    met = bench._report("cpu", {"baseline": row(10.0, 0.09), "current": row(31.0, 0.03)})
    unmet = bench._report("cpu", {"baseline": row(10.0, 0.09), "current": row(31.0, 0.05)})
    assert met["target_met"] and met["train_speedup"] == pytest.approx(3.1) and not unmet["target_met"]
    assert "inference 1.80x; target >= 3x: unmet" in capsys.readouterr().out
