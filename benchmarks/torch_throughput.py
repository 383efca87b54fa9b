"""admfit_torch throughput: training videos/s and inference time per video, naming the device.

Two sizes: ``thumos14`` (the paper's THUMOS'14 setting: T = 2304 snippets, D = 2048, batch 3, 512 channels,
L = 4, window 19, 20 classes) and ``cpu`` (the cpu-small preset: T = 128, D = 64, batch 4). Inputs are
random features with random points (throughput does not depend on the values). On CUDA the THUMOS'14 size
runs in float32 and with AMP (bfloat16 autocast), and the AMP speed-up is reported as a ratio measured in
the same run; post-processing is reported as a share of inference time (it must not dominate).

    python -m benchmarks torch_throughput -- [--quick] [--size thumos14|cpu|both] [--json OUT.json]
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from admfit.grid import SnippetGrid
from admfit_torch.config import DetectorConfig, preset
from admfit_torch.data import VideoItem
from admfit_torch.ddp import DistContext, device_name, select_device
from admfit_torch.inference import InferenceTiming, detect
from admfit_torch.train import Trainer

SIZES = {"thumos14": dict(preset="thumos14", length=2304, classes=20, batch=3),
         "cpu": dict(preset="cpu-small", length=128, classes=5, batch=4)}


def random_items(count: int, length: int, dim: int, classes: int, seed: int) -> list[VideoItem]:
    """``count`` videos of ``length`` snippets, 3-10 points each, on a 30 fps / stride 4 grid."""
    rng = np.random.default_rng(seed)
    grid = SnippetGrid(fps=30.0, stride=4, num_frames=16)
    items = []
    for v in range(count):
        n = int(rng.integers(3, 11))
        items.append(VideoItem(f"v{v}", rng.standard_normal((length, dim), dtype=np.float32), grid,
                               np.sort(rng.uniform(0, length - 1, n)), rng.integers(0, classes, n)))
    return items


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train_rate(cfg: DetectorConfig, items: list[VideoItem], classes: int, device: torch.device, warmup: int,
               steps: int) -> float:
    """Videos per second over ``steps`` optimizer steps (after ``warmup`` untimed ones), EMA included."""
    names = [f"c{c}" for c in range(classes)]
    trainer = Trainer(items, names, cfg, tempfile.gettempdir(), DistContext(0, 1, 0, device))  # never saves
    trainer.dataset.set_epoch(0)
    batches = iter(trainer.loader)
    for _ in range(warmup):
        trainer.step(next(batches))
    _sync(device)
    started = time.perf_counter()
    for _ in range(steps):
        trainer.step(next(batches))
    _sync(device)
    return steps * cfg.optim.batch_size / (time.perf_counter() - started)


def inference_times(cfg: DetectorConfig, items: list[VideoItem], classes: int, device: torch.device) -> InferenceTiming:
    from admfit_torch.models import PointDetector

    torch.manual_seed(0)
    model = PointDetector(cfg.model, classes).to(device)
    names = [f"c{c}" for c in range(classes)]
    detect(model, items[:1], names, cfg, device)  # warm-up (CUDA context, kernels)
    timing = InferenceTiming()
    _sync(device)
    detect(model, items, names, cfg, device, timing)
    return timing


def busy_post_processing_s(length: int, classes: int, kept: int, repeats: int) -> float:
    """Seconds per video of post-processing alone on busy signals: smooth random scores with many runs at
    every threshold, ``kept`` classes above the class threshold, 4 levels (a harder case than a trained
    model's mostly flat scores)."""
    from scipy.ndimage import gaussian_filter1d

    from admfit.levels import Pyramid
    from admfit_torch.config import InferenceConfig
    from admfit_torch.inference import LevelScores, post_process

    rng = np.random.default_rng(0)
    fused, background = [], []
    for level in range(4):
        steps = length // 2 ** level
        scores = gaussian_filter1d(rng.uniform(size=(steps, classes)), sigma=4, axis=0)
        scores = (scores - scores.min()) / (scores.max() - scores.min())
        scores[:, kept:] *= 0.2  # only the first `kept` classes pass the class threshold
        fused.append(scores)
        background.append(1.0 - scores.max(axis=1))
    levels = LevelScores(fused, background, time_axis=Pyramid(theta=2))
    cfg = InferenceConfig(class_threshold=0.3)
    started = time.perf_counter()
    for _ in range(repeats):
        post_process(levels, cfg)
    return (time.perf_counter() - started) / repeats


def run_size(name: str, device: torch.device, amp: bool, quick: bool) -> dict:
    spec = SIZES[name]
    cfg = preset(spec["preset"], amp=amp, optim={"batch_size": spec["batch"]},
                 data={"input_length": spec["length"]})
    heavy = name == "thumos14" and device.type == "cpu"
    warmup, steps = (1, 1) if quick or heavy else (3, 10)
    videos = 2 if quick or heavy else 6
    items = random_items(max(videos, spec["batch"] * (warmup + steps)), spec["length"], cfg.model.input_dim,
                         spec["classes"], seed=0)
    rate = train_rate(cfg, items, spec["classes"], device, warmup, steps)
    timing = inference_times(cfg, items[:videos], spec["classes"], device)
    per_video = (timing.forward_s + timing.post_s) / timing.videos
    return {"size": name, "device": device_name(device), "amp": bool(amp and device.type == "cuda"),
            "T": spec["length"], "D": cfg.model.input_dim, "batch": spec["batch"], "train_videos_per_s": rate,
            "infer_s_per_video": per_video, "forward_s_per_video": timing.forward_s / timing.videos,
            "post_s_per_video": timing.post_s / timing.videos,
            "post_share": timing.post_s / (timing.forward_s + timing.post_s)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="torch_throughput", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: few steps and videos")
    parser.add_argument("--size", choices=["thumos14", "cpu", "both"], default="both")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    device = select_device(args.device)
    print(f"device: {device_name(device)}; torch {torch.__version__}", flush=True)
    rows = []
    for name in (["thumos14", "cpu"] if args.size == "both" else [args.size]):
        for amp in ([False, True] if device.type == "cuda" else [False]):
            row = run_size(name, device, amp, args.quick)
            rows.append(row)
            print(f"{name:9s} T={row['T']:5d} D={row['D']:5d} batch={row['batch']} amp={str(row['amp']):5s} "
                  f"train {row['train_videos_per_s']:8.2f} videos/s | infer {1e3 * row['infer_s_per_video']:9.1f} "
                  f"ms/video (forward {1e3 * row['forward_s_per_video']:.1f}, post-processing "
                  f"{1e3 * row['post_s_per_video']:.1f} = {100 * row['post_share']:.0f}%)", flush=True)
        pair = [r for r in rows if r["size"] == name]
        if len(pair) == 2:
            print(f"{name:9s} AMP / float32 ratio: train {pair[1]['train_videos_per_s'] / pair[0]['train_videos_per_s']:.2f}x, "
                  f"inference {pair[0]['infer_s_per_video'] / pair[1]['infer_s_per_video']:.2f}x", flush=True)
    busy = busy_post_processing_s(2304, 20, kept=3, repeats=2 if args.quick else 5)
    print(f"post-processing alone on busy THUMOS'14-size signals (T=2304, 20 classes, 3 kept, 4 levels): "
          f"{1e3 * busy:.1f} ms/video", flush=True)
    rows.append({"size": "busy_post_processing", "post_s_per_video": busy})
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=1), encoding="utf-8")
