"""CUDA checks of admfit_torch (skipped without a GPU): AMP forward agrees with float32, a mixed-precision
training step is finite and moves the weights, a CUDA checkpoint loads on CPU, CUDA inference agrees with CPU."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from admfit.grid import SnippetGrid
from admfit_torch.checkpoint import load_point_detector
from admfit_torch.config import preset
from admfit_torch.data import VideoItem, inference_sample
from admfit_torch.ddp import DistContext
from admfit_torch.inference import detect, predict_levels
from admfit_torch.models import PointDetector
from admfit_torch.train import Trainer

pytestmark = [pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]

GRID = SnippetGrid(fps=30.0, stride=4, num_frames=16)


def _items(count=4, length=256, dim=64, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return [VideoItem(f"v{i}", rng.standard_normal((length, dim), dtype=np.float32), GRID,
                      np.array([40.0, 120.0, 200.0]), rng.integers(0, classes, 3)) for i in range(count)]


def test_amp_forward_close_to_float32():
    cfg = preset("cpu-small")
    torch.manual_seed(0)
    model = PointDetector(cfg.model, 3).cuda().eval()
    x, mask = torch.randn(2, 64, 256, device="cuda"), torch.ones(2, 256, dtype=torch.bool, device="cuda")
    with torch.no_grad():
        full = [p for p in model(x, mask).fused()]
        with torch.autocast("cuda", dtype=torch.bfloat16):
            mixed = [p for p in model(x, mask).fused()]
    for a, b in zip(full, mixed):
        assert torch.isfinite(b).all()
        assert (a - b).abs().max().item() < 0.02  # bfloat16 keeps ~3 significant digits; probabilities are in [0, 1]


@pytest.mark.parametrize("amp_dtype", ["bfloat16", "float16"])
def test_mixed_precision_steps_train_and_checkpoint_loads_on_cpu(tmp_path, amp_dtype):
    cfg = preset("cpu-small", amp=True, amp_dtype=amp_dtype, optim={"epochs": 2, "warmup_epochs": 0})
    trainer = Trainer(_items(), ["a", "b", "c"], cfg, tmp_path, DistContext(0, 1, 0, torch.device("cuda")))
    before = [p.detach().clone() for p in trainer.model.parameters()]
    result = trainer.fit(show_progress=False)
    assert np.isfinite(result.last_metrics["loss_total"])
    moved = sum(float((a - b.detach()).abs().sum()) for a, b in zip(before, trainer.model.parameters()))
    assert moved > 0
    model, loaded_cfg, classes = load_point_detector(result.checkpoint)
    assert classes == ["a", "b", "c"] and next(model.parameters()).device.type == "cpu"


@pytest.fixture
def no_tf32():
    """Exact float32 on the GPU: Hopper convolutions default to TF32 (10-bit mantissa)."""
    before = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = before


def test_cuda_inference_matches_cpu_in_float32(no_tf32):
    cfg = preset("cpu-small", amp=False)
    torch.manual_seed(0)
    model = PointDetector(cfg.model, 3).eval()
    for item in _items(count=2):
        sample = inference_sample(item, cfg.data, cfg.model.total_stride)
        on_cpu = predict_levels(model, sample, torch.device("cpu"))
        on_gpu = predict_levels(model.cuda(), sample, torch.device("cuda"))
        model.cpu()
        for a, b in zip(on_cpu.fused + on_cpu.background, on_gpu.fused + on_gpu.background):
            np.testing.assert_allclose(a, b, atol=1e-5)
    detections = detect(model, _items(count=1), ["a", "b", "c"], cfg, torch.device("cuda"))
    assert detections["results"]["v0"]


@pytest.mark.parametrize("amp_dtype", ["bfloat16", "float16"])
def test_main_model_mixed_precision_steps_train_the_sigma_head(tmp_path, amp_dtype):
    cfg = preset("cpu-small", amp=True, amp_dtype=amp_dtype, optim={"epochs": 2, "warmup_epochs": 0},
                 main={"sigma_samples": 8})
    items = [VideoItem(i.video, i.features, i.grid, i.positions, i.labels, np.stack([i.positions - 6, i.positions + 9], 1),
                       np.array([3.0, 4.0, 5.0])) for i in _items()]
    trainer = Trainer(items, ["a", "b", "c"], cfg, tmp_path, DistContext(0, 1, 0, torch.device("cuda")), stage="main",
                      sigma_scale=5.0)
    head = trainer.model.sigma_head
    before = [p.detach().clone() for p in head.parameters()]
    result = trainer.fit(show_progress=False)
    assert all(np.isfinite(result.last_metrics[f"loss_{k}"]) for k in ("total", "gauss", "sigma"))
    assert result.last_metrics["loss_sigma"] > 0 and result.last_metrics["loss_gauss"] > 0
    assert sum(float((a - b.detach()).abs().sum()) for a, b in zip(before, head.parameters())) > 0
    model, _, _ = load_point_detector(result.checkpoint)
    assert model.sigma_head is not None and float(model.sigma_head.sigma_scale) == 5.0


@pytest.mark.parametrize("stage", ["base", "main"])
def test_a_training_step_never_waits_for_the_device(tmp_path, stage):
    """The sped-up loop (docs/training.md, "Speed of the training loop"): drawing a batch (features resident on the
    GPU) and a whole step (targets, background points, losses, fused Adam, EMA) hold no operation that makes the host
    wait for the GPU; set_sync_debug_mode('error') raises at the first one (bfloat16 AMP: float16's GradScaler reads
    its inf check)."""
    cfg = preset("cpu-small", amp=True, optim={"batch_size": 2}, main={"sigma_samples": 8})
    items = [VideoItem(i.video, i.features, i.grid, i.positions, i.labels, np.stack([i.positions - 6, i.positions + 9], 1),
                       np.array([3.0, 4.0, 5.0])) for i in _items()]
    trainer = Trainer(items, ["a", "b", "c"], cfg, tmp_path, DistContext(0, 1, 0, torch.device("cuda")), stage=stage,
                      sigma_scale=5.0)
    assert trainer.bank is not None
    batches = iter(trainer.loader)
    trainer.step(next(batches))  # warm-up (cuDNN's algorithm search may synchronise)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        losses = trainer.step(next(batches))
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert torch.isfinite(losses["total"]).item()
