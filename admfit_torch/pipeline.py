"""The self-training loop of ADM-Loc (paper Fig. 1) as resumable stages in one run folder.

base   -> RUN/base/checkpoint.pt            the point-supervised base model (3.3)
pseudo -> RUN/base/pseudo_labels.json       ADM pseudo-labels of the training videos (3.4.1), their signals and
          RUN/base/pseudo_quality.json      quality (Table 2) and figures
main   -> RUN/main/checkpoint.pt            the ADM-Loc main model trained with them (3.4.2)
eval   -> RUN/report.json, RUN/report.md    both models on the test subset (Table 1 columns) + Table 2

Bookkeeping (skip, refuse, resume, --force) lives in ``stages.py``; numbers and markdown in ``report.py``.
Under torchrun every process trains; the pseudo-label and evaluation stages run on rank 0 while the others wait.
"""
from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from admfit.atomic import atomic_write_text
from admfit.errors import InputError

from . import ddp
from .config import DetectorConfig, dump_config, with_overrides
from .report import detection_summary, proposals_summary, quality_summary, write_report
from .stages import STAGE_ORDER, RunLayout, StageState, stage_settings


@dataclass
class Pipeline:
    """Runs stages of one run folder. ``log`` receives one line per event (rank 0 only)."""

    cfg: DetectorConfig
    root: Path
    ctx: ddp.DistContext | None = None
    show_progress: bool = True
    log: Callable[[str], None] = print
    seconds: dict = field(default_factory=dict)
    _splits: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        self.root = Path(self.root)
        self.layout = RunLayout(self.root)
        self.ctx = self.ctx or ddp.DistContext(0, 1, 0, ddp.select_device(self.cfg.device))
        for name in ("features", "annotations"):
            if getattr(self.cfg.run, name) is None:
                raise InputError(f"no {name}: give --{name} or run.{name} in the config", field=f"run.{name}")

    def _say(self, line: str) -> None:
        if self.ctx.is_main:
            self.log(line)

    # ---- driving ---------------------------------------------------------------------------------
    def run(self, stages: Sequence[str] = STAGE_ORDER, *, force: bool = False) -> dict | None:
        """Run ``stages`` in order (skipping finished ones unless ``force``); the report when eval ran.

        The training videos are read first, so that bad data stops the run before anything is written."""
        self.split(self.cfg.run.train_subset, with_points=True)
        self.root.mkdir(parents=True, exist_ok=True)
        state = StageState(self.layout, writer=self.ctx.is_main)
        if self.ctx.is_main:
            atomic_write_text(self.layout.config, dump_config(self.cfg), field="out")
        for stage in stages:
            settings = stage_settings(self.cfg, stage)
            if force:
                self._clear(stage, state)
            elif state.finished(stage):
                state.check_current(stage, settings)
                self._say(f"{stage}: done, skipped ({self.layout.artefact(stage)}); --force redoes it")
                continue
            state.require(stage)
            resume = state.check_resumable(stage, settings) and self.layout.artefact(stage).exists()
            state.start(stage, settings)
            ddp.barrier(self.ctx)
            started = time.perf_counter()
            self._say(f"{stage}: {'resuming' if resume else 'running'}")
            getattr(self, f"_run_{stage}")(resume)
            self.seconds[stage] = time.perf_counter() - started
            state.finish(stage)  # every rank, so later stages see it; rank 0 alone writes
            if self.ctx.is_main:
                self._record_seconds(stage)
            ddp.barrier(self.ctx)
        if "eval" in stages and self.layout.report_json.is_file():
            return json.loads(self.layout.report_json.read_text(encoding="utf-8"))
        return None

    def _clear(self, stage: str, state: StageState) -> None:
        """Forget ``stage`` and the later stages (built on it) and delete what they wrote."""
        state.forget_from(stage)
        if self.ctx.is_main:
            for name in STAGE_ORDER[STAGE_ORDER.index(stage):]:
                _remove(*self.layout.outputs(name))
        ddp.barrier(self.ctx)

    def _record_seconds(self, stage: str) -> None:
        path = self.root / "seconds.json"
        record = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        record[stage] = round(self.seconds[stage], 1)
        atomic_write_text(path, json.dumps(record), field="out")

    # ---- data ------------------------------------------------------------------------------------
    def split(self, subset: str, *, with_points: bool, classes: list[str] | None = None):
        """A subset's videos (read once per run), with their points when ``with_points``."""
        from .sources import load_split

        run = self.cfg.run
        if with_points and run.points is None:
            raise InputError("no points: give --points or run.points in the config", field="run.points")
        key = (subset, with_points)
        if key not in self._splits:
            self._splits[key] = load_split(run.annotations, run.features, self.cfg, subset=subset,
                                           points_path=run.points if with_points else None)
        found = self._splits[key]
        if classes is not None and found.classes != list(classes):
            raise InputError("the checkpoint was trained on other classes than the annotation file's",
                             file=str(run.annotations), field="classes")
        return found

    # ---- stages ----------------------------------------------------------------------------------
    def _run_base(self, resume: bool) -> None:
        from .train import train_stage

        split = self.split(self.cfg.run.train_subset, with_points=True)
        result = train_stage(split.items, split.classes, self.cfg, self.layout.base, stage="base", resume=resume,
                             show_progress=self.show_progress, ctx=self.ctx)
        self._say(f"base: {result.epochs_run} epochs, last loss {result.last_metrics.get('loss_total', float('nan')):.4f}")

    def _run_pseudo(self, resume: bool) -> None:
        if self.ctx.is_main:
            self._say(run_pseudo_stage(self))
        ddp.barrier(self.ctx)

    def _run_main(self, resume: bool) -> None:
        from .pseudo import attach_pseudo_labels, sigma_statistics
        from .train import train_stage

        split = self.split(self.cfg.run.train_subset, with_points=True)
        items = attach_pseudo_labels(split.items, self.layout.pseudo_labels)
        stats = sigma_statistics(items, self.cfg.data, self.cfg.model.total_stride, self.cfg.main.sigma_scale_quantile)
        cfg = self.main_config(stats)
        self._say(f"main: sigma head K={cfg.main.sigma_samples}, sigma scale {stats.sigma_scale:.2f} snippets "
                  f"(quantile {cfg.main.sigma_scale_quantile:g}; largest sigma {stats.sigma_max:.2f}), "
                  f"r_s={cfg.main.sampling_radius if cfg.main.sampling_radius is not None else 'inf'}")
        result = train_stage(items, split.classes, cfg, self.layout.main, stage="main", sigma_scale=stats.sigma_scale,
                             resume=resume, show_progress=self.show_progress, ctx=self.ctx)
        self._say(f"main: {result.epochs_run} epochs, last loss {result.last_metrics.get('loss_total', float('nan')):.4f}")

    def main_config(self, stats) -> DetectorConfig:
        """The config with K resolved from the pseudo-labels when ``main.sigma_samples`` is null (SPEC 5)."""
        if self.cfg.main.sigma_samples is not None:
            return self.cfg
        return with_overrides(self.cfg, [f"main.sigma_samples={stats.default_samples}"], source="pseudo-labels")

    def _run_eval(self, resume: bool) -> None:
        if self.ctx.is_main:
            report = run_eval_stage(self)
            write_report(self.root, report)
            self._say(f"eval: base {report['base']['average']:.1f}, main {report['main']['average']:.1f} "
                      f"average mAP (%); report {self.layout.report_md}")
        ddp.barrier(self.ctx)


def _remove(*paths: Path) -> None:
    for path in paths:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def _count(document: dict) -> int:
    return sum(len(entries) for entries in document["results"].values())


def run_pseudo_stage(pipeline: Pipeline) -> str:
    """Fit Psi with the base model, write it with its signals, measure Table 2, draw figures; a summary line."""
    from admfit.datasets import load_annotations
    from admfit.evaluation import GroundTruthSegments, load_pseudo_labels, parse_tious, pseudo_label_quality

    from .checkpoint import load_detector
    from .figures import draw_figures
    from .pseudo import (collect_signals, fit_pseudo_labels, proposals_document, write_pseudo_label_file,
                         write_signal_file)
    from .scoring import evaluate_results

    cfg, layout, run = pipeline.cfg, pipeline.layout, pipeline.cfg.run
    model, _, classes = load_detector(layout.base)
    split = pipeline.split(run.train_subset, with_points=True, classes=classes)
    device = pipeline.ctx.device
    signals = collect_signals(model, split.items, cfg, device)
    labels = fit_pseudo_labels(signals, cfg)
    write_pseudo_label_file(layout.pseudo_labels, labels, split.items, classes,
                            {"adm": cfg.adm.model_dump(mode="json"), "checkpoint": str(layout.artefact("base"))})
    write_signal_file(layout.signals, signals, classes)

    tious = parse_tious(run.tious)
    truth = load_annotations(run.annotations, subset=run.train_subset)
    proposals = proposals_document(signals, classes, cfg)
    num_truth = len(GroundTruthSegments.from_annotations(truth))
    pseudo, point_s, _ = load_pseudo_labels(layout.pseudo_labels)
    quality = {
        "tious": [float(t) for t in tious],
        "base_proposals": proposals_summary(evaluate_results(truth, proposals, tious), _count(proposals), num_truth),
        "adm": quality_summary(pseudo_label_quality(GroundTruthSegments.from_annotations(truth), pseudo, point_s, tious)),
    }
    figures, note = draw_figures(signals, labels, truth, classes, cfg.adm, layout.figures, run.figures)
    quality["figures"] = [str(path.relative_to(layout.root)) for path in figures]
    quality["notes"] = [note] if note else []
    atomic_write_text(layout.pseudo_quality, json.dumps(quality, indent=1), field="pseudo_quality")
    adm, base = quality["adm"], quality["base_proposals"]
    return (f"pseudo: {len(labels)} pseudo-labels on {len(split.items)} videos -> {layout.pseudo_labels}; average mAP "
            f"ADM {adm['average']:.1f} (alpha {adm['alpha']:.2f}) vs base proposals {base['average']:.1f} "
            f"(alpha {base['alpha']:.2f})")


def run_eval_stage(pipeline: Pipeline) -> dict:
    """Detections of the base and main models on the test subset, scored; the whole run's report."""
    from admfit.datasets import load_annotations
    from admfit.evaluation import GroundTruthSegments, parse_tious

    from .checkpoint import load_detector
    from .inference import detect
    from .scoring import evaluate_results

    cfg, layout, run = pipeline.cfg, pipeline.layout, pipeline.cfg.run
    tious = parse_tious(run.tious)
    truth = load_annotations(run.annotations, subset=run.test_subset)
    layout.evaluation.mkdir(parents=True, exist_ok=True)
    report: dict = {"run": str(layout.root), "tious": [float(t) for t in tious]}
    test_videos = 0
    for stage in ("base", "main"):
        model, _, classes = load_detector(getattr(layout, stage))
        split = pipeline.split(run.test_subset, with_points=False, classes=classes)
        test_videos = len(split.items)
        document = detect(model, split.items, classes, cfg, pipeline.ctx.device)
        path = layout.evaluation / f"{stage}_detections.json"
        atomic_write_text(path, json.dumps(document), field="detections")
        report[stage] = detection_summary(evaluate_results(truth, document, tious), _count(document),
                                          path.relative_to(layout.root))
    quality = json.loads(layout.pseudo_quality.read_text(encoding="utf-8"))
    report["figures"] = quality.pop("figures", [])
    report["notes"] = quality.pop("notes", [])
    report["pseudo_labels"] = quality
    train = pipeline.split(run.train_subset, with_points=True)
    report["dataset"] = {
        "annotations": run.annotations, "features": run.features, "points": run.points,
        "train_subset": run.train_subset, "test_subset": run.test_subset, "train_videos": len(train.items),
        "train_points": int(sum(len(item.positions) for item in train.items)), "test_videos": test_videos,
        "test_instances": len(GroundTruthSegments.from_annotations(truth))}
    seconds_path = layout.root / "seconds.json"
    report["seconds"] = json.loads(seconds_path.read_text(encoding="utf-8")) if seconds_path.is_file() else {}
    return report
