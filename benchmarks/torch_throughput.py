"""admfit_torch throughput: training videos/s and inference time per video, naming the device; with ``--baseline``,
the same measurements of another revision's code in the same run, and the speed-up.

Two sizes: ``thumos14`` (the paper's THUMOS'14 setting: T = 2304 snippets, D = 2048, batch 3, 512 channels,
L = 4, window 19, 20 classes) and ``cpu`` (the cpu-small preset: T = 128, D = 64, batch 4). Inputs are
random features with random points (throughput does not depend on the values). On CUDA each size runs in
float32 and with AMP (bfloat16 autocast) unless ``--precision`` says otherwise, and the AMP speed-up is
reported as a ratio measured in the same run; post-processing is reported as a share of inference time.

``--baseline [REV]`` (REV: a git revision, default ``BASELINE_COMMIT``, or a folder holding a checkout) runs
this same file's measurements on REV's code, checked out into a temporary git worktree, and on the working
tree, each in a process of its own, alternately (A B A B ..., ``--rounds`` each: the machine may be shared,
so neither side gets all the quiet minutes), and keeps each side's best round. It prints both, their ratios
and whether the target (``TARGET``x) is met. It also counts host syncs in one training step: on CUDA the
operations ``torch.cuda.set_sync_debug_mode`` reports; on CPU, where nothing waits, the operations that would
wait for a GPU (``nonzero``, which boolean indexing calls, and ``item``, which int() and float() call) outside
the optimizer (whose CPU kernels read their step count on the host, not on CUDA). Copies to the host
(``.cpu()``, ``.tolist()``) are no operations on CPU, so the CPU count is a lower bound.

    python -m benchmarks torch_throughput -- [--quick] [--size thumos14|cpu|both] [--device auto|cpu|cuda]
        [--precision float32|amp|both] [--threads N] [--json OUT.json] [--baseline [REV|DIR]] [--rounds N]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from admfit.grid import SnippetGrid
from admfit_torch.config import preset
from admfit_torch.data import VideoItem
from admfit_torch.ddp import DistContext, device_name, select_device
from admfit_torch.inference import InferenceTiming, detect
from admfit_torch.train import Trainer

from ._revisions import checkout, current_code

SIZES = {"thumos14": dict(preset="thumos14", length=2304, classes=20, batch=3),
         "cpu": dict(preset="cpu-small", length=128, classes=5, batch=4)}
# The default baseline: main before the training loop's speed-up (docs/training.md, "Speed of the training loop").
BASELINE_COMMIT = "73aa70bae067fc20204c7c2cc383e363e661d186"
TARGET = 3.0  # the speed-up asked of the training loop, training and inference (docs/training.md, same section)
REPO = Path(__file__).resolve().parent.parent
RESULT = "@@result "  # prefix of a worker's answer line on stdout
WOULD_SYNC = ("aten::nonzero", "aten::_local_scalar_dense")


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


class Workload:
    """One size and precision on one device: a Trainer and a model for inference, warmed up; ``measure`` times a
    round of training steps and of inference."""

    def __init__(self, name: str, device: torch.device, amp: bool, quick: bool):
        spec = SIZES[name]
        self.name, self.device, self.spec = name, device, spec
        self.cfg = preset(spec["preset"], amp=amp, optim={"batch_size": spec["batch"]},
                          data={"input_length": spec["length"]})
        heavy = name == "thumos14" and device.type == "cpu"
        warmup, self.steps = (1, 1) if quick or heavy else (3, 20 if device.type == "cuda" else 10)
        self.videos = 2 if quick or heavy else 6
        self.items = random_items(max(self.videos, spec["batch"] * (warmup + self.steps)), spec["length"],
                                  self.cfg.model.input_dim, spec["classes"], seed=0)
        self.names = [f"c{c}" for c in range(spec["classes"])]
        self.trainer = Trainer(self.items, self.names, self.cfg, tempfile.gettempdir(),
                               DistContext(0, 1, 0, device))  # never saves
        self.epoch, self.batches = -1, iter(())
        for _ in range(warmup):
            self.trainer.step(self.next_batch())
        self.model = self._inference_model()
        detect(self.model, self.items[:1], self.names, self.cfg, device)  # warm-up (CUDA context, kernels)
        _sync(device)

    def _inference_model(self):
        from admfit_torch.models import PointDetector

        torch.manual_seed(0)
        return PointDetector(self.cfg.model, self.spec["classes"]).to(self.device)

    def next_batch(self):
        """The next training batch, epoch after epoch."""
        batch = next(self.batches, None)
        if batch is None:
            self.epoch += 1
            self.trainer.sampler.set_epoch(self.epoch)
            self.trainer.dataset.set_epoch(self.epoch)
            self.batches = iter(self.trainer.loader)
            batch = next(self.batches)
        return batch

    def measure(self) -> dict:
        """Training videos/s over ``steps`` optimizer steps (EMA included), inference seconds per video."""
        _sync(self.device)
        started = time.perf_counter()
        for _ in range(self.steps):  # batches are drawn inside the timing, as a training epoch draws them
            self.trainer.step(self.next_batch())
        _sync(self.device)
        rate = self.steps * self.cfg.optim.batch_size / (time.perf_counter() - started)
        timing = InferenceTiming()
        detect(self.model, self.items[:self.videos], self.names, self.cfg, self.device, timing)
        return {"size": self.name, "device": device_name(self.device),
                "amp": bool(self.cfg.amp and self.device.type == "cuda"), "T": self.spec["length"],
                "D": self.cfg.model.input_dim, "batch": self.spec["batch"], "train_videos_per_s": rate,
                "infer_s_per_video": (timing.forward_s + timing.post_s) / timing.videos,
                "forward_s_per_video": timing.forward_s / timing.videos,
                "post_s_per_video": timing.post_s / timing.videos,
                "post_share": timing.post_s / (timing.forward_s + timing.post_s)}

    def host_syncs(self) -> int:
        """Host syncs in one training step (see the module doc for what is counted on CPU)."""
        batch = self.next_batch()
        if self.device.type == "cuda":
            torch.cuda.set_sync_debug_mode("warn")
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    self.trainer.step(batch)
            finally:
                torch.cuda.set_sync_debug_mode("default")
            _sync(self.device)
            return sum("synchroniz" in str(w.message) for w in caught)
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CPU]) as prof:
            self.trainer.step(batch)
        return sum(1 for event in prof.events() if event.name in WOULD_SYNC and not _in_optimizer(event))


def _in_optimizer(event) -> bool:
    parent = event.cpu_parent
    while parent is not None:
        if parent.name.startswith("Optimizer.step"):
            return True
        parent = parent.cpu_parent
    return False


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


def _row_line(label: str, row: dict) -> str:
    return (f"{label:9s} T={row['T']:5d} D={row['D']:5d} batch={row['batch']} amp={str(row['amp']):5s} "
            f"train {row['train_videos_per_s']:8.4g} videos/s | infer {1e3 * row['infer_s_per_video']:9.1f} "
            f"ms/video (forward {1e3 * row['forward_s_per_video']:.1f}, post-processing "
            f"{1e3 * row['post_s_per_video']:.1f} = {100 * row['post_share']:.0f}%)")


def _precisions(device: torch.device, precision: str) -> list[bool]:
    if device.type != "cuda":
        return [False]
    return {"float32": [False], "amp": [True], "both": [False, True]}[precision]


def _sizes(size: str) -> list[str]:
    return ["thumos14", "cpu"] if size == "both" else [size]


# ---- the worker: one size and precision of one code tree, measured round by round on request ----

def worker(args) -> None:
    """Answers each 'round' line on stdin with one RESULT line (a measured row, host syncs included)."""
    import admfit_torch

    code = Path(admfit_torch.__file__).resolve().parent.parent
    if args.code_root is not None and code != Path(args.code_root).resolve():
        raise SystemExit(f"error: admfit_torch was imported from {code}, not from {args.code_root}")
    device = select_device(args.device)
    workload = Workload(args.size, device, args.amp, args.quick)
    syncs = workload.host_syncs()
    print(RESULT + json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        if line.strip() != "round":
            break
        row = workload.measure()
        row["host_syncs_per_step"] = syncs
        print(RESULT + json.dumps(row), flush=True)


class Worker:
    """A worker process on the code at ``root`` (first on its import path; this file is the benchmark)."""

    def __init__(self, root: Path, size: str, amp: bool, args):
        command = [sys.executable, str(Path(__file__).resolve()), "--worker", "--size", size, "--device",
                   args.device, "--code-root", str(root)] + (["--amp"] if amp else []) + (
                   ["--quick"] if args.quick else []) + (["--threads", str(args.threads)] if args.threads else [])
        path = [str(root)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(path))
        self.process = subprocess.Popen(command, cwd=root, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True)  # it sets up (warm-up, host syncs) while the other one does

    def answer(self) -> dict:
        for line in self.process.stdout:
            if line.startswith(RESULT):
                return json.loads(line[len(RESULT):])
        raise SystemExit(f"error: a benchmark worker stopped (exit code {self.process.wait()})")

    def round(self) -> dict:
        self.process.stdin.write("round\n")
        self.process.stdin.flush()
        return self.answer()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            self.process.wait()


def _best(rows: list[dict]) -> dict:
    """The round with the highest training rate, and the lowest inference time of any round."""
    best = dict(max(rows, key=lambda r: r["train_videos_per_s"]))
    fastest = min(rows, key=lambda r: r["infer_s_per_video"])
    for key in ("infer_s_per_video", "forward_s_per_video", "post_s_per_video", "post_share"):
        best[key] = fastest[key]
    return best


def compare(args, device: torch.device) -> list[dict]:
    results = []
    with checkout(args.baseline) as (base_root, base_name):
        print(f"baseline: {base_name}; current: {current_code()}", flush=True)
        for name in _sizes(args.size):
            heavy = name == "thumos14" and device.type == "cpu"
            rounds = args.rounds or (2 if heavy or args.quick else 3)
            for amp in _precisions(device, args.precision):
                print(f"{name}: baseline (A) and current (B) in two processes, measured alternately A B A B, "
                      f"{rounds} rounds each, best round kept (the machine may be shared)", flush=True)
                sides = {"baseline": Worker(base_root, name, amp, args), "current": Worker(REPO, name, amp, args)}
                measured: dict[str, list[dict]] = {"baseline": [], "current": []}
                try:
                    for process in sides.values():
                        process.answer()  # ready
                    for _ in range(rounds):
                        for side, process in sides.items():
                            measured[side].append(process.round())
                finally:
                    for process in sides.values():
                        process.close()
                results.append(_report(name, {side: _best(rows) for side, rows in measured.items()}))
    return results


def _report(name: str, best: dict[str, dict]) -> dict:
    base, new = best["baseline"], best["current"]
    train = new["train_videos_per_s"] / base["train_videos_per_s"]
    infer = base["infer_s_per_video"] / new["infer_s_per_video"]
    for side in ("baseline", "current"):
        print(_row_line(side, best[side]) + f" | host syncs/step {best[side]['host_syncs_per_step']}", flush=True)
    met = "met" if min(train, infer) >= TARGET else "unmet"
    print(f"{name:9s} amp={str(new['amp']):5s} speed-up current / baseline: train {train:.2f}x, inference "
          f"{infer:.2f}x; target >= {TARGET:g}x: {met}", flush=True)
    return {"size": name, "amp": new["amp"], "baseline": base, "current": new, "train_speedup": train,
            "inference_speedup": infer, "target": TARGET, "target_met": met == "met"}


def single(args, device: torch.device) -> list[dict]:
    rows = []
    for name in _sizes(args.size):
        for amp in _precisions(device, args.precision):
            row = Workload(name, device, amp, args.quick).measure()
            rows.append(row)
            print(_row_line(name, row), flush=True)
        pair = [r for r in rows if r["size"] == name]
        if len(pair) == 2:
            print(f"{name:9s} AMP / float32 ratio: train {pair[1]['train_videos_per_s'] / pair[0]['train_videos_per_s']:.2f}x, "
                  f"inference {pair[0]['infer_s_per_video'] / pair[1]['infer_s_per_video']:.2f}x", flush=True)
    busy = busy_post_processing_s(2304, 20, kept=3, repeats=2 if args.quick else 5)
    print(f"post-processing alone on busy THUMOS'14-size signals (T=2304, 20 classes, 3 kept, 4 levels): "
          f"{1e3 * busy:.1f} ms/video", flush=True)
    rows.append({"size": "busy_post_processing", "post_s_per_video": busy})
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="torch_throughput", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: few steps and videos")
    parser.add_argument("--size", choices=["thumos14", "cpu", "both"], default="both")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda")
    parser.add_argument("--precision", choices=["float32", "amp", "both"], default="both",
                        help="on CUDA: float32, bfloat16 AMP or both (CPU runs float32)")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    parser.add_argument("--baseline", nargs="?", const=BASELINE_COMMIT, metavar="REV|DIR",
                        help=f"also measure this revision's code, interleaved (default {BASELINE_COMMIT[:10]})")
    parser.add_argument("--rounds", type=int, help="rounds per side with --baseline (default 3; 2 for thumos14 "
                        "on CPU and with --quick)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--amp", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--code-root", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if args.worker:
        worker(args)
        return
    device = select_device(args.device)
    print(f"device: {device_name(device)}; torch {torch.__version__}", flush=True)
    rows = compare(args, device) if args.baseline is not None else single(args, device)
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=1), encoding="utf-8")


if __name__ == "__main__":  # a worker process (see Worker)
    main(sys.argv[1:])
