"""Training loop of the base and main models: Adam(W), linear warm-up, model EMA, AMP on CUDA, DDP, resume.

Determinism: the model is initialised from ``torch.manual_seed(seed)``; each epoch re-seeds torch
(dropout) from (seed, epoch) and the data draws crops from (seed, epoch, index), so epoch e does not
depend on the random draws of earlier epochs and a resumed run equals an uninterrupted one on CPU.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable, Sequence

import torch
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from torch.optim.swa_utils import AveragedModel
from torch.utils.data import DataLoader, DistributedSampler

from admfit.errors import InputError
from admfit.files.atomic import atomic_write_text
from admfit_torch.run.layout import CHECKPOINT_NAME, METRICS_NAME

from . import ddp, feature_bank
from .checkpoint import TrainingParts, resume_training, save_training
from .config import DetectorConfig, OptimConfig
from .data import Batch, TrainingSet, VideoItem, collate
from .models import PointDetector, build_detector
from .objectives import objective_for

LOSS_REFRESH_S = 0.5  # seconds between reads of the running loss for the progress bar (each waits for the device)


def initial_model(cfg: DetectorConfig, num_classes: int, stage: str = "base",
                  sigma_scale: float = 1.0) -> PointDetector:
    """The untrained model of a training stage, as training starts from it: built after ``torch.manual_seed(seed)``,
    so the same config gives the same initial weights (and an untrained baseline is the trained model's start)."""
    torch.manual_seed(cfg.seed)
    return build_detector(cfg, num_classes, stage, sigma_scale)


def lr_factor(step: int, warmup_steps: int, total_steps: int, schedule: str) -> float:
    """Multiplier of the base lr at optimizer step ``step`` (0-based): linear warm-up from 1/warmup to 1,
    then constant (paper) or cosine decay to 0 at ``total_steps`` (POTLoc)."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    if schedule == "constant":
        return 1.0
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def make_optimizer(model: torch.nn.Module, cfg: OptimConfig,
                   device: torch.device | None = None) -> torch.optim.Optimizer:
    """Adam(W) over all parameters at once: the fused kernel on CUDA and CPU (on CPU too it beats the multi-tensor
    and the per-tensor loops; docs/training.md, "Speed of the training loop"), the multi-tensor (foreach) one
    elsewhere; the same update up to float round-off."""
    kind = torch.optim.AdamW if cfg.optimizer == "adamw" else torch.optim.Adam
    fused = device is None or device.type in ("cuda", "cpu")
    return kind(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, fused=fused or None,
                foreach=None if fused else True)


def ema_update(decay: float, warmup: bool):
    """multi_avg_fn for AveragedModel: ema <- d ema + (1 - d) current, d = decay, or with warm-up
    min(decay, (1 + n) / (10 + n)) after n updates (timm's ModelEmaV3 warm-up). ``num_averaged`` may be an int
    (the Trainer counts on the host, so that reading it never waits for the device)."""

    def update(ema_params, current_params, num_averaged):
        n = int(num_averaged)
        d = min(decay, (1 + n) / (10 + n)) if warmup else decay
        torch._foreach_lerp_(ema_params, current_params, 1.0 - d)

    return update


class ModelEMA:
    """The model EMA of a run: an ``AveragedModel`` (its state dict is the checkpoint's 'ema'), updated with one
    multi-tensor copy or lerp over all parameters and buffers, the update count kept on the host.

    ``AveragedModel.update_parameters`` gave the same numbers, but regrouped the tensors (188 for the thumos14
    model) on every step and read its update count from the device (a host sync per step on CUDA).
    """

    def __init__(self, model: torch.nn.Module, decay: float, warmup: bool):
        self.averaged = AveragedModel(model, multi_avg_fn=ema_update(decay, warmup), use_buffers=True)
        self._average = ema_update(decay, warmup)
        self._ema = list(self.averaged.module.parameters()) + list(self.averaged.module.buffers())
        self._current = list(model.parameters()) + list(model.buffers())
        self.updates = 0

    def update(self) -> None:
        with torch.no_grad():
            if self.updates == 0:
                torch._foreach_copy_(self._ema, self._current)
            else:
                self._average(self._ema, self._current, self.updates)
            self.averaged.n_averaged += 1  # on the device, no sync
        self.updates += 1

    def state_dict(self) -> dict:
        return self.averaged.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.averaged.load_state_dict(state)
        self.updates = int(self.averaged.n_averaged)  # once, at resume


@dataclass
class TrainResult:
    checkpoint: Path
    epochs_run: int
    last_metrics: dict


class Trainer:
    """Holds the model, EMA, optimizer and schedule of one run; ``fit`` runs the remaining epochs.

    ``stage`` 'base' trains the base model (eq. 7); 'main' the ADM-Loc main model (eq. 18), whose items must
    carry pseudo-labels and whose sigma head rescales by ``sigma_scale`` (level-0 snippets of the model input).
    ``features_on_device``: keep the training features in a FeatureBank on the device (the same batches); None
    decides by ``feature_bank.fits`` (CUDA, enough memory).
    """

    def __init__(self, items: Sequence[VideoItem], classes: Sequence[str], cfg: DetectorConfig, out_dir: str | Path,
                 ctx: ddp.DistContext | None = None, *, stage: str = "base", sigma_scale: float = 1.0,
                 features_on_device: bool | None = None, start_from: Path | None = None):
        if not items:
            raise InputError("no training videos", field="videos")
        self.cfg, self.classes, self.out_dir, self.stage = cfg, list(classes), Path(out_dir), stage
        self.ctx = ctx or ddp.DistContext(0, 1, 0, ddp.select_device(cfg.device))
        self.objective = objective_for(stage, cfg, len(self.classes), sigma_scale)
        model = initial_model(cfg, len(self.classes), stage, sigma_scale)
        if start_from is not None:
            load_start_weights(model, start_from, self.classes)
        model = model.to(self.ctx.device)
        self.ema = ModelEMA(model, cfg.optim.ema_decay, cfg.optim.ema_warmup)
        self.model = ddp.wrap_model(model, self.ctx)
        self.optimizer = make_optimizer(model, cfg.optim, self.ctx.device)
        multiple = cfg.model.total_stride
        if features_on_device is None:
            features_on_device = feature_bank.fits(items, cfg.data, multiple, self.ctx.device)
        self.bank = feature_bank.FeatureBank(items, cfg.data, multiple, self.ctx.device) if features_on_device else None
        self.dataset = TrainingSet(items, cfg.data, multiple, cfg.seed, in_bank=self.bank is not None)
        self.sampler = DistributedSampler(self.dataset, num_replicas=self.ctx.world_size, rank=self.ctx.rank,
                                          shuffle=True, seed=cfg.seed)
        self.loader = DataLoader(self.dataset, batch_size=cfg.optim.batch_size, sampler=self.sampler,
                                 collate_fn=partial(collate, bank=self.bank), num_workers=0)
        steps_per_epoch = len(self.loader)
        warmup, total = cfg.optim.warmup_epochs * steps_per_epoch, cfg.optim.epochs * steps_per_epoch
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda step: lr_factor(step, warmup, total, cfg.optim.schedule))
        use_scaler = self.ctx.device.type == "cuda" and cfg.amp and cfg.amp_dtype == "float16"
        self.scaler = torch.amp.GradScaler("cuda", enabled=use_scaler)
        self.start_epoch = 0

    @property
    def checkpoint_path(self) -> Path:
        return self.out_dir / CHECKPOINT_NAME

    @property
    def parts(self) -> TrainingParts:
        return TrainingParts(ddp.unwrap(self.model), self.ema, self.optimizer, self.scheduler, self.scaler)

    def resume(self) -> None:
        self.start_epoch = resume_training(self.checkpoint_path, self.parts, stage=self.stage,
                                           classes=self.classes) + 1

    def save(self, epoch: int) -> None:
        """Write the run's state after ``epoch`` to OUT/checkpoint.pt (atomically)."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        save_training(self.checkpoint_path, self.parts, epoch=epoch, stage=self.stage, cfg=self.cfg,
                      classes=self.classes)

    def step(self, batch: Batch) -> dict[str, torch.Tensor]:
        """One optimizer step on ``batch`` (forward, losses, backward, clip, step, schedule, EMA); the losses, as
        detached scalar tensors on the device (reading them waits for the device; ``run_epoch`` reads them once per
        epoch)."""
        losses = self.objective(self.model, batch, self.ctx.device)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(losses["total"]).backward()
        if self.cfg.optim.grad_clip is not None:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.optim.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        self.ema.update()
        return {name: value.detach() for name, value in losses.items()}

    def run_epoch(self, epoch: int, progress: Progress | None = None, task=None) -> dict:
        """One pass over the data. The losses are summed on the device (float64, in batch order as before) and
        read once at the end; a shown progress bar gets the running loss read at most every ``LOSS_REFRESH_S``."""
        self.sampler.set_epoch(epoch)
        self.dataset.set_epoch(epoch)
        torch.manual_seed(self.cfg.seed * 100_003 + epoch)
        self.model.train()
        names: list[str] = []
        totals: torch.Tensor | None = None
        started, batches, shown = time.perf_counter(), 0, time.perf_counter()
        for batch in self.loader:
            losses = self.step(batch)
            names = list(losses)
            values = torch.stack([value.double() for value in losses.values()])
            totals = values if totals is None else totals + values
            batches += 1
            if progress is not None:
                progress.update(task, advance=1)
                if not progress.disable and time.perf_counter() - shown >= LOSS_REFRESH_S:
                    progress.update(task, loss=float(totals[names.index("total")]) / batches)
                    shown = time.perf_counter()
        sums = dict(zip(names, totals.tolist())) if totals is not None else {}
        seconds = time.perf_counter() - started
        return {"epoch": epoch, "step": int(self.scheduler.last_epoch), "lr": self.scheduler.get_last_lr()[0],
                "processes": self.ctx.world_size,
                **{f"loss_{k}": v / max(batches, 1) for k, v in sums.items()},
                "videos_per_s": len(self.sampler) * self.ctx.world_size / seconds, "seconds": seconds}

    def _write_metrics(self, record: dict) -> None:
        path = self.out_dir / METRICS_NAME
        kept = []
        if path.is_file():  # after a resume, drop records of epochs that are being re-run
            kept = [line for line in path.read_text(encoding="utf-8").splitlines()
                    if line.strip() and json.loads(line)["epoch"] < record["epoch"]]
        atomic_write_text(path, "".join(f"{line}\n" for line in kept + [json.dumps(record)]), field="metrics")

    def fit(self, *, show_progress: bool = True, log: Callable[[str], None] | None = None) -> TrainResult:
        """Train the remaining epochs. A bar per epoch when ``show_progress``; ``log`` (rank 0) gets one line per
        finished epoch either way, so a log without bars still shows the run advancing. Epochs count from 1."""
        last: dict = {}
        total = self.cfg.optim.epochs
        columns = [TextColumn(f"{self.stage} epoch {{task.fields[epoch]}}/{total}"), BarColumn(),
                   TextColumn("loss {task.fields[loss]:.4f}"), TimeRemainingColumn()]
        with Progress(*columns, disable=not (show_progress and self.ctx.is_main), transient=True) as progress:
            for epoch in range(self.start_epoch, total):
                task = progress.add_task("train", total=len(self.loader), epoch=epoch + 1, loss=float("nan"))
                last = self.run_epoch(epoch, progress, task)
                progress.remove_task(task)
                if self.ctx.is_main:
                    self.save(epoch)
                    self._write_metrics(last)
                    if log is not None:
                        log(_epoch_line(self.stage, epoch, total, last))
                ddp.barrier(self.ctx)
        return TrainResult(self.checkpoint_path, total - self.start_epoch, last)


def _epoch_line(stage: str, epoch: int, total: int, metrics: dict) -> str:
    """``base epoch 3/30: loss 0.4123, 1.9 s`` (epoch 0-based in, counted from 1 out)."""
    return f"{stage} epoch {epoch + 1}/{total}: loss {metrics['loss_total']:.4f}, {metrics['seconds']:.1f} s"


def load_start_weights(model: torch.nn.Module, checkpoint: Path, classes: Sequence[str]) -> None:
    """The EMA weights of ``checkpoint`` (a base model) into ``model`` (a main model): every weight but the sigma
    head's, which the base model has not. InputError when the checkpoint is of other classes or another model."""
    from .checkpoint import load_checkpoint, module_weights

    state = load_checkpoint(checkpoint)
    if list(state["classes"]) != list(classes):
        raise InputError("the base checkpoint was trained on other classes", file=str(checkpoint), field="classes")
    weights = module_weights(state["ema"])
    own = model.state_dict()
    wrong = [key for key, value in weights.items() if key not in own or own[key].shape != value.shape]
    missing = [key for key in own if key not in weights and not key.startswith("sigma_head.")]
    if wrong or missing:
        raise InputError(f"the base model does not fit the main model ({(wrong + missing)[0]})", file=str(checkpoint),
                         field="ema")
    model.load_state_dict(weights, strict=False)


def train_stage(items: Sequence[VideoItem], classes: Sequence[str], cfg: DetectorConfig, out_dir: str | Path, *,
                stage: str = "base", sigma_scale: float = 1.0, resume: bool = False, show_progress: bool = True,
                ctx: ddp.DistContext | None = None, log: Callable[[str], None] | None = None,
                start_from: Path | None = None) -> TrainResult:
    """Train one stage's model into ``out_dir`` (checkpoint.pt, metrics.jsonl); see Trainer. ``start_from``: a
    checkpoint whose EMA weights the model starts from (``main.init: base``), instead of the seed's fresh ones."""
    trainer = Trainer(items, classes, cfg, out_dir, ctx, stage=stage, sigma_scale=sigma_scale, start_from=start_from)
    if resume:
        trainer.resume()
    return trainer.fit(show_progress=show_progress, log=log)


def train_base(items: Sequence[VideoItem], classes: Sequence[str], cfg: DetectorConfig, out_dir: str | Path, *,
               resume: bool = False, show_progress: bool = True, ctx: ddp.DistContext | None = None) -> TrainResult:
    """Train the point-supervised base model (paper 3.3) into ``out_dir`` (checkpoint.pt, metrics.jsonl)."""
    return train_stage(items, classes, cfg, out_dir, stage="base", resume=resume, show_progress=show_progress, ctx=ctx)
