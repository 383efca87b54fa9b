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

``--peer actionformer`` (the peer extra, ``pip install 'admfit[peer]'``) trains, in this process and alternately
(``--rounds`` each, best round kept), admfit's base model and ActionFormer's LocPointTransformer matched to it
(``actionformer_setting``: widths, blocks, pyramid, window, input length, batch) for one timed epoch each of the
same steps over the same random videos, in float32, and prints the seconds per epoch, the parameter counts, the
ratio ActionFormer / admfit (> 1: admfit is faster) and whether admfit is at least as fast.

    python -m benchmarks torch_throughput -- [--quick] [--size thumos14|cpu|both] [--device auto|cpu|cuda]
        [--precision float32|amp|both] [--threads N] [--json OUT.json] [--baseline [REV|DIR]] [--rounds N]
        [--peer actionformer]
"""
from __future__ import annotations

import argparse
import json
import math
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

    def __init__(self, name: str, device: torch.device, amp: bool, quick: bool, spec: dict | None = None):
        spec = spec or SIZES[name]  # another spec: --peer's length (matched_length), the tests' tiny sizes
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

    def train_seconds(self) -> float:
        """Seconds of ``steps`` optimizer steps (EMA included)."""
        _sync(self.device)
        started = time.perf_counter()
        for _ in range(self.steps):  # batches are drawn inside the timing, as a training epoch draws them
            self.trainer.step(self.next_batch())
        _sync(self.device)
        return time.perf_counter() - started

    def measure(self) -> dict:
        """Training videos/s over ``steps`` optimizer steps (EMA included), inference seconds per video."""
        rate = self.steps * self.cfg.optim.batch_size / self.train_seconds()
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


# ---- --peer actionformer: ActionFormer's LocPointTransformer, matched to admfit's base model, as the speed anchor ----

PEER = "actionformer"
# ActionFormer's default regression ranges (its config.DEFAULTS): (0, 4), (4, 8), ... on levels of ratio 2, the
# last one open (its upper bound 10000 snippets)
FIRST_RANGE, OPEN_RANGE = 4, 10000


def actionformer_stride(model) -> int:
    """The multiple of snippets ActionFormer's max_seq_len must be (its PtTransformer's check): on every level l
    theta^l times the window's span (window - 1 for an odd window; 1 for global attention)."""
    span = (model.window // 2) * 2 if model.window > 1 else 1
    return math.lcm(*(model.theta ** level * span for level in range(model.levels)))


def matched_length(model, length: int) -> int:
    """The input length (snippets) both models train on: the smallest multiple of ActionFormer's stride and of
    admfit's ``total_stride`` that is at least ``length``."""
    multiple = math.lcm(actionformer_stride(model), model.total_stride)
    return -(-length // multiple) * multiple


def actionformer_setting(model, optim, classes: int, length: int, batch: int) -> tuple[dict, list[str]]:
    """ActionFormer's config (its YAML's sections) for a LocPointTransformer matched to admfit's base model of
    ``model`` (admfit_torch.config.ModelConfig) and ``optim`` (OptimConfig), and what it cannot match:

    - model.embed_dim -> model.embd_dim, fpn_dim and head_dim (one width throughout, as in admfit);
    - model.embed_convs, stem_blocks, levels - 1 -> model.backbone_arch (embedding convs, full-resolution
      transformer blocks, down-sampling transformer blocks: one block per pyramid step in both);
    - model.theta -> scale_factor; model.levels -> the regression ranges' count (ActionFormer's defaults: FIRST_RANGE,
      doubling);
    - model.window -> n_mha_win_size (every level); num_heads -> n_head; dropout -> train_cfg.dropout; drop path 0
      and no position encoding (admfit has neither);
    - model.embed_kernel -> embd_kernel_size; head_kernel -> head_kernel_size; head_convs + 1 -> head_num_layers
      (ActionFormer counts the output conv);
    - model.input_dim -> dataset.input_dim; ``classes`` -> num_classes; ``length`` (snippets, ``matched_length``)
      -> max_seq_len; ``batch`` -> loader.batch_size;
    - optim.lr, weight_decay, warmup_epochs, epochs -> opt (ActionFormer's AdamW, its linear warm-up then cosine);
      optim.grad_clip -> train_cfg.clip_grad_l2norm (-1: none).
    """
    config = {
        "dataset_name": "thumos", "model_name": "LocPointTransformer",
        "dataset": {"input_dim": model.input_dim, "num_classes": classes, "max_seq_len": length, "feat_stride": 4,
                    "num_frames": 16, "default_fps": 30.0},
        "loader": {"batch_size": batch},
        "model": {"backbone_type": "convTransformer", "fpn_type": "identity",
                  "backbone_arch": [model.embed_convs, model.stem_blocks, model.levels - 1],
                  "scale_factor": model.theta,
                  "regression_range": [[0 if level == 0 else FIRST_RANGE * model.theta ** (level - 1),
                                        FIRST_RANGE * model.theta ** level if level < model.levels - 1 else OPEN_RANGE]
                                       for level in range(model.levels)],
                  "n_head": model.num_heads, "n_mha_win_size": model.window, "embd_kernel_size": model.embed_kernel,
                  "embd_dim": model.embed_dim, "fpn_dim": model.embed_dim, "head_dim": model.embed_dim,
                  "head_kernel_size": model.head_kernel, "head_num_layers": model.head_convs + 1,
                  "use_abs_pe": False, "use_rel_pe": False},
        "train_cfg": {"dropout": model.dropout, "droppath": 0.0,
                      "clip_grad_l2norm": -1 if optim.grad_clip is None else optim.grad_clip},
        "opt": {"type": "AdamW", "learning_rate": optim.lr, "weight_decay": optim.weight_decay, "warmup": True,
                "warmup_epochs": optim.warmup_epochs, "epochs": max(1, optim.epochs - optim.warmup_epochs),
                "schedule_type": "cosine"},
    }
    unmatched = [
        "ActionFormer's regression head (admfit has a background channel in its classification head instead, and no "
        "regression)",
        "the down-sampling: ActionFormer's strided depthwise convs on q, k, v inside the block with a max-pooled "
        "skip, admfit's one strided depthwise conv before the block",
        "ActionFormer's losses (focal + DIoU on its centre-sampled targets) against admfit's base-model losses (MIL, "
        "L_Act, L_BG)",
        "each side's own optimizer (admfit: fused Adam(W); ActionFormer: AdamW over two parameter groups), schedule "
        "(ActionFormer's: cosine after the warm-up) and EMA (admfit: one multi-tensor lerp; ActionFormer: a loop "
        "over its state dict)",
    ]
    if model.mlp_ratio != 4:
        unmatched.insert(0, f"the MLP width: ActionFormer's is 4 x embd_dim, admfit's mlp_ratio is {model.mlp_ratio}")
    return config, unmatched


def _actionformer_videos(items, seed: int) -> list[dict]:
    """The videos as ActionFormer's datasets give them: features (C, T), each point a segment of 2-16 snippets
    around it (ActionFormer learns segments, admfit points), on the 30 fps / stride 4 grid of ``random_items``."""
    rng = np.random.default_rng(seed)
    videos = []
    for item in items:
        half = rng.uniform(1.0, 8.0, len(item.positions))
        last = item.num_snippets - 1
        segments = np.stack([np.clip(item.positions - half, 0, last), np.clip(item.positions + half, 0, last)], 1)
        videos.append({"video_id": item.video, "feats": torch.from_numpy(np.ascontiguousarray(item.features.T)),
                       "segments": torch.as_tensor(segments, dtype=torch.float32),
                       "labels": torch.as_tensor(item.labels, dtype=torch.int64), "fps": item.grid.fps,
                       "duration": item.num_snippets * item.grid.stride / item.grid.fps,
                       "feat_stride": item.grid.stride, "feat_num_frames": item.grid.num_frames})
    return videos


class ActionFormerEpoch:
    """ActionFormer's LocPointTransformer matched to ``workload``'s model (``actionformer_setting``), trained on the
    workload's videos by ActionFormer's own parts (make_optimizer, make_scheduler, ModelEma, the batch a list of its
    dataset's items). The step is driven here, as its train_one_epoch does it: that loop calls
    torch.cuda.synchronize whenever it prints."""

    def __init__(self, workload: Workload, warmup: int = 1):
        from actionformer.modeling import make_meta_arch
        from actionformer.utils import ModelEma, make_optimizer, make_scheduler

        from admfit_torch.peer_actionformer import load_actionformer_config

        cfg, spec = workload.cfg, workload.spec
        setting, self.unmatched = actionformer_setting(cfg.model, cfg.optim, spec["classes"], spec["length"],
                                                       spec["batch"])
        with tempfile.TemporaryDirectory() as folder:  # its own loader fills in its defaults
            path = Path(folder) / "actionformer.yaml"
            path.write_text(json.dumps(setting), encoding="utf-8")  # JSON is YAML
            self.config = load_actionformer_config(path)
        self.device, self.steps, self.batch = workload.device, workload.steps, spec["batch"]
        torch.manual_seed(0)
        self.model = make_meta_arch(self.config["model_name"], **self.config["model"]).to(self.device)
        self.optimizer = make_optimizer(self.model, self.config["opt"])
        self.scheduler = make_scheduler(self.optimizer, self.config["opt"], self.steps)
        self.ema = ModelEma(self.model, decay=cfg.optim.ema_decay)
        self.clip = self.config["train_cfg"]["clip_grad_l2norm"]
        self.videos, self.drawn = _actionformer_videos(workload.items, seed=1), 0
        self.model.train()
        for _ in range(warmup):
            self.step(self.next_batch())
        _sync(self.device)

    def next_batch(self) -> list[dict]:
        """The next ``batch`` videos, round the list."""
        batch = [self.videos[(self.drawn + k) % len(self.videos)] for k in range(self.batch)]
        self.drawn += self.batch
        return batch

    def step(self, batch: list[dict]) -> None:
        """train_one_epoch's step (admfit_torch.peer_training.train_step): forward and losses, backward, clipping
        (when set), optimizer, schedule, EMA."""
        from admfit_torch.peer_training import train_step

        train_step(self.model, batch, self.optimizer, self.scheduler, self.ema, self.clip)

    def train_seconds(self) -> float:
        """Seconds of ``steps`` optimizer steps (EMA included), as ``Workload.train_seconds``."""
        _sync(self.device)
        started = time.perf_counter()
        for _ in range(self.steps):
            self.step(self.next_batch())
        _sync(self.device)
        return time.perf_counter() - started


def parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def peer_workloads(name: str, device: torch.device, quick: bool,
                   spec: dict | None = None) -> tuple[Workload, ActionFormerEpoch]:
    """admfit's base model at size ``name`` (float32: ActionFormer's loop has no AMP) on the matched input length,
    and ActionFormer matched to it, on the same videos."""
    spec = dict(spec or SIZES[name])
    spec["length"] = matched_length(preset(spec["preset"]).model, spec["length"])
    workload = Workload(name, device, False, quick, spec)
    return workload, ActionFormerEpoch(workload)


def race(name: str, admfit: Workload, peer: ActionFormerEpoch, rounds: int) -> dict:
    """Each side's best of ``rounds`` alternate timed epochs (admfit, ActionFormer, admfit, ...: the machine may be
    shared), their ratio and the parameter counts."""
    measured: dict[str, list[float]] = {"admfit": [], PEER: []}
    for _ in range(rounds):
        measured["admfit"].append(admfit.train_seconds())
        measured[PEER].append(peer.train_seconds())
    best = {side: min(seconds) for side, seconds in measured.items()}
    ratio = best[PEER] / best["admfit"]
    return {"size": name, "peer": PEER, "device": device_name(admfit.device), "amp": False,
            "T": admfit.spec["length"], "D": admfit.cfg.model.input_dim, "batch": admfit.spec["batch"],
            "classes": admfit.spec["classes"], "steps_per_epoch": admfit.steps, "rounds": rounds,
            "admfit_s_per_epoch": best["admfit"], "actionformer_s_per_epoch": best[PEER],
            "actionformer_over_admfit": ratio, "admfit_at_least_as_fast": ratio >= 1.0,
            "admfit_parameters": parameters(admfit.trainer.parts.model),
            "actionformer_parameters": parameters(peer.model), "unmatched": peer.unmatched,
            "rounds_s": measured}


def _peer_lines(row: dict) -> list[str]:
    verdict = "yes" if row["admfit_at_least_as_fast"] else "no"
    return [f"{row['size']:9s} T={row['T']} D={row['D']} batch={row['batch']} classes={row['classes']}, "
            f"{row['steps_per_epoch']} steps per epoch, best of {row['rounds']} alternate rounds, float32",
            f"{row['size']:9s} admfit base model {row['admfit_s_per_epoch']:8.3f} s/epoch "
            f"({row['admfit_parameters']:,} parameters)",
            f"{row['size']:9s} ActionFormer      {row['actionformer_s_per_epoch']:8.3f} s/epoch "
            f"({row['actionformer_parameters']:,} parameters)",
            f"{row['size']:9s} ActionFormer / admfit {row['actionformer_over_admfit']:.2f}x; admfit at least as "
            f"fast: {verdict}"]


def compare_peer(args, device: torch.device) -> list[dict]:
    rows = []
    for name in _sizes(args.size):
        heavy = name == "thumos14" and device.type == "cpu"
        admfit, actionformer = peer_workloads(name, device, args.quick)
        row = race(name, admfit, actionformer, args.rounds or (2 if heavy or args.quick else 3))
        print("\n".join(_peer_lines(row)), flush=True)
        rows.append(row)
    print("not matched: " + "; ".join(rows[0]["unmatched"]), flush=True)
    return rows


def main(argv: list[str] | None = None) -> int | None:
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
    parser.add_argument("--peer", choices=[PEER], help="also train ActionFormer matched to admfit's base model, "
                        "alternately in this process, and print the ratio (needs the peer extra)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--amp", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--code-root", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.peer is not None and args.baseline is not None:
        parser.error("--peer and --baseline are separate comparisons: give one")
    from admfit_torch.peer_actionformer import EXTRA, installed

    if args.peer is not None and not installed():
        print(f"error: torch_throughput --peer actionformer needs the ActionFormer package: {EXTRA}", file=sys.stderr)
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if args.worker:
        worker(args)
        return
    device = select_device(args.device)
    print(f"device: {device_name(device)}; torch {torch.__version__}", flush=True)
    if args.peer is not None:
        rows = compare_peer(args, device)
    else:
        rows = compare(args, device) if args.baseline is not None else single(args, device)
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=1), encoding="utf-8")


if __name__ == "__main__":  # a worker process (see Worker)
    main(sys.argv[1:])
