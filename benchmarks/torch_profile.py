"""Where a training step of the detector spends its time: per phase (drawing the batch, forward and losses,
backward, optimizer, EMA) in ms/step, the top operators by self time (torch.profiler) and the top Python functions
of admfit_torch by own time (cProfile); and an inference forward's top operators. Same sizes and inputs as
``torch_throughput``.

The code profiled is whichever admfit_torch comes first on the import path, so the same file profiles another
revision: ``PYTHONPATH=FOLDER python benchmarks/torch_profile.py`` with FOLDER a checkout of it.

    python -m benchmarks torch_profile -- [--quick] [--size cpu|thumos14] [--steps N] [--threads N] [--rows N]
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile, record_function

if __package__ in (None, ""):  # run as a file: the benchmarks package sits beside this file
    sys.path.append(str(Path(__file__).resolve().parent.parent))
from admfit_torch.config import preset  # noqa: E402
from admfit_torch.ddp import DistContext, device_name, select_device  # noqa: E402
from admfit_torch.train import Trainer  # noqa: E402
from benchmarks.torch_throughput import SIZES, random_items  # noqa: E402

PHASES = ("data", "forward+losses", "backward", "optimizer", "ema")


def _ema_update(trainer):
    """The EMA update of either code: ModelEMA.update (since the loop's speed-up) or AveragedModel.update_parameters
    (the code of commit 73aa70b)."""
    ema = trainer.ema
    if hasattr(ema, "update_parameters"):
        return lambda: ema.update_parameters(trainer.model)
    return ema.update


def step_in_phases(trainer, batches, device) -> None:
    """One optimizer step as Trainer.step takes it, each phase under its own profiler label."""
    with record_function("## data"):
        batch = next(batches)
    with record_function("## forward+losses"):
        losses = trainer.objective(trainer.model, batch, device)
    with record_function("## backward"):
        trainer.optimizer.zero_grad(set_to_none=True)
        losses["total"].backward()
    with record_function("## optimizer"):
        trainer.optimizer.step()
        trainer.scheduler.step()
    with record_function("## ema"):
        _ema_update(trainer)()
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="torch_profile", description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="cpu")
    parser.add_argument("--steps", type=int, help="profiled steps (default 10; 1 for thumos14 on CPU and with --quick)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: one profiled step")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--rows", type=int, default=12, help="operators and functions listed")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = select_device(args.device)
    spec = SIZES[args.size]
    cfg = preset(spec["preset"], optim={"batch_size": spec["batch"]}, data={"input_length": spec["length"]})
    steps = args.steps or (1 if args.quick or (args.size == "thumos14" and device.type == "cpu") else 10)
    items = random_items(spec["batch"] * (steps + 2), spec["length"], cfg.model.input_dim, spec["classes"], 0)
    trainer = Trainer(items, [f"c{c}" for c in range(spec["classes"])], cfg, tempfile.gettempdir(),
                      DistContext(0, 1, 0, device))
    trainer.dataset.set_epoch(0)
    batches = iter(trainer.loader)
    trainer.model.train()
    step_in_phases(trainer, batches, device)  # warm-up
    import admfit_torch

    print(f"device: {device_name(device)}; torch {torch.__version__}; code: {Path(admfit_torch.__file__).parent}; "
          f"size {args.size}, {steps} steps", flush=True)
    python = cProfile.Profile()
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    started = time.perf_counter()
    with profile(activities=activities) as prof:
        python.enable()
        for _ in range(steps):
            step_in_phases(trainer, batches, device)
        python.disable()
    print(f"step: {1e3 * (time.perf_counter() - started) / steps:.1f} ms (profiled)")
    events = prof.key_averages()
    by_name = {event.key: event for event in events}
    total = sum(by_name[f"## {phase}"].cpu_time_total for phase in PHASES if f"## {phase}" in by_name)
    for phase in PHASES:
        event = by_name.get(f"## {phase}")
        if event is not None:
            share = 100 * event.cpu_time_total / total
            print(f"  {phase:15s} {event.cpu_time_total / 1e3 / steps:9.1f} ms/step  {share:5.1f}%")
    print("top operators by self CPU time:")
    print(events.table(sort_by="self_cpu_time_total", row_limit=args.rows))
    print("top admfit_torch functions by own time (cProfile):")
    stats = pstats.Stats(python)
    own = sorted(((value[2], key) for key, value in stats.stats.items() if "admfit_torch" in key[0]), reverse=True)
    for seconds, (file, line, name) in own[:args.rows]:
        print(f"  {1e3 * seconds / steps:8.2f} ms/step  {Path(file).parent.name}/{Path(file).name}:{line} {name}")
    profile_inference(trainer.model, cfg, items[0], device, args.rows)


def profile_inference(model, cfg, item, device, rows: int) -> None:
    from admfit_torch.data import collate, inference_sample

    batch = collate([inference_sample(item, cfg.data, cfg.model.total_stride)])
    model.eval()
    with torch.no_grad():
        model(batch.features.to(device), batch.masks.to(device))
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            started = time.perf_counter()
            model(batch.features.to(device), batch.masks.to(device))
    print(f"inference forward of one video (T={item.num_snippets}): {1e3 * (time.perf_counter() - started):.1f} ms "
          "(profiled); top operators:")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=rows))


if __name__ == "__main__":
    main(sys.argv[1:])
