"""The work of each stage of the self-training loop (the table that orders them: ``stages``): ``run_base``,
``run_pseudo``, ``run_main``, ``run_eval``, each ``run(ctx)`` with a ``StageContext``. The heavy imports are inside
the functions, so that the table (and the command line's help) loads without torch.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from admfit.files.atomic import atomic_write_text

if TYPE_CHECKING:
    from admfit_torch.config import DetectorConfig
    from admfit_torch.ddp import DistContext
    from admfit_torch.run.layout import RunLayout
    from admfit_torch.sources import Split


@dataclass
class StageContext:
    """What a stage's ``run`` gets: the config, the run folder, the process (rank, device), the videos of a subset
    (``split(subset, with_points=..., classes=...)``, read once per run), a logger (rank 0 prints), whether to
    resume from an interrupted attempt, and the seconds of the finished stages."""

    cfg: DetectorConfig
    layout: RunLayout
    dist: DistContext
    split: Callable[..., Split]
    say: Callable[[str], None]
    show_progress: bool = True
    resume: bool = False
    seconds: dict | None = None


def _count(document: dict) -> int:
    return sum(len(entries) for entries in document["results"].values())


def _last_loss(result) -> str:
    return f"{result.last_metrics.get('loss_total', float('nan')):.4f}"


def run_base(ctx: StageContext) -> None:
    from admfit_torch.train import train_stage

    split = ctx.split(ctx.cfg.run.train_subset, with_points=True)
    result = train_stage(split.items, split.classes, ctx.cfg, ctx.layout.base, stage="base", resume=ctx.resume,
                         show_progress=ctx.show_progress, ctx=ctx.dist, log=ctx.say)
    ctx.say(f"base: {result.epochs_run} epochs, last loss {_last_loss(result)}")


def run_pseudo(ctx: StageContext) -> None:
    """Fit Psi with the base model, write it with its signals, measure Table 2, draw figures."""
    from admfit.evaluation import GroundTruthSegments, load_pseudo_labels, parse_tious, pseudo_label_quality
    from admfit.files.provenance import annotation_meta
    from admfit_torch.checkpoint import load_point_detector
    from admfit_torch.pseudo import (
        collect_signals,
        fit_pseudo_labels,
        proposals_document,
        write_pseudo_label_file,
        write_signal_file,
    )
    from admfit_torch.run.figures import draw_figures
    from admfit_torch.run.report import proposals_summary, quality_summary
    from admfit_torch.run.scoring import evaluate_results

    cfg, layout, run = ctx.cfg, ctx.layout, ctx.cfg.run
    model, _, classes = load_point_detector(layout.base)
    split = ctx.split(run.train_subset, with_points=True, classes=classes)
    signals = collect_signals(model, split.items, cfg, ctx.dist.device)
    labels, tuned = fit_pseudo_labels(signals, cfg)
    if tuned is not None:
        ctx.say(tuned.line)
    adm_config = cfg.adm if tuned is None else tuned.config
    write_pseudo_label_file(layout.pseudo_labels, labels, split.items, classes,
                            {"adm": adm_config.model_dump(mode="json"), "checkpoint": str(layout.base_checkpoint),
                             **({} if tuned is None else {"tuning": tuned.to_meta()}),
                             **annotation_meta(run.annotations, {i.video: i.grid for i in split.items},
                                               preset=cfg.data.grid)})
    write_signal_file(layout.signals, signals, classes)

    tious = parse_tious(run.tious)
    truth = _truth(run, run.train_subset, split)
    proposals = proposals_document(signals, classes, cfg)
    segments = GroundTruthSegments.from_annotations(truth)
    pseudo, point_s, _ = load_pseudo_labels(layout.pseudo_labels)
    quality = {
        "tious": [float(t) for t in tious],
        "base_proposals": proposals_summary(evaluate_results(truth, proposals, tious), _count(proposals),
                                            len(segments)),
        "adm": quality_summary(pseudo_label_quality(segments, pseudo, point_s, tious)),
    }
    figures, note = draw_figures(signals, labels, truth, classes, adm_config, layout.figures, run.figures)
    quality["figures"] = [str(path.relative_to(layout.root)) for path in figures]
    quality["notes"] = [note] if note else []
    atomic_write_text(layout.pseudo_quality, json.dumps(quality, indent=1), field="pseudo_quality")
    adm, base = quality["adm"], quality["base_proposals"]
    ctx.say(f"pseudo: {len(labels)} pseudo-labels on {len(split.items)} videos -> {layout.pseudo_labels}; average mAP "
            f"ADM {adm['average']:.1f} % (alpha {adm['alpha']:.2f}) vs base proposals {base['average']:.1f} % "
            f"(alpha {base['alpha']:.2f}; alpha = labels per ground-truth instance)")


def _truth(run, subset: str, split) -> dict:
    """The ground truth of the videos ``split`` holds (a video list or skipped videos leave some of the subset out)."""
    from admfit.datasets.shipped import load_fps_table, open_annotations

    table = load_fps_table(run.fps) if run.fps is not None else None
    kept = {item.video for item in split.items}
    return {video: record for video, record in open_annotations(run.annotations, subset=subset, fps=table).items()
            if video in kept}


def main_config(cfg: DetectorConfig, stats) -> DetectorConfig:
    """The config with K resolved from the pseudo-labels when ``main.sigma_samples`` is null (docs/spec.md 5.7)."""
    from admfit_torch.config import with_overrides

    if cfg.main.sigma_samples is not None:
        return cfg
    return with_overrides(cfg, [f"main.sigma_samples={stats.default_samples}"], source="pseudo-labels")


def run_main(ctx: StageContext) -> None:
    from admfit_torch.pseudo import attach_pseudo_labels, sigma_statistics
    from admfit_torch.train import train_stage

    split = ctx.split(ctx.cfg.run.train_subset, with_points=True)
    items = attach_pseudo_labels(split.items, ctx.layout.pseudo_labels, split.classes)
    stats = sigma_statistics(items, ctx.cfg.data, ctx.cfg.model.total_stride, ctx.cfg.main.sigma_scale_quantile)
    cfg = main_config(ctx.cfg, stats)
    ctx.say(f"main: sigma head K={cfg.main.sigma_samples}, sigma scale {stats.sigma_scale:.2f} snippets "
            f"(quantile {cfg.main.sigma_scale_quantile:g}; largest sigma {stats.sigma_max:.2f}), "
            f"r_s={cfg.main.sampling_radius if cfg.main.sampling_radius is not None else 'inf'}")
    start_from = ctx.layout.base_checkpoint if cfg.main.init == "base" else None
    result = train_stage(items, split.classes, cfg, ctx.layout.main, stage="main", sigma_scale=stats.sigma_scale,
                         resume=ctx.resume, show_progress=ctx.show_progress, ctx=ctx.dist, log=ctx.say,
                         start_from=start_from)
    ctx.say(f"main: {result.epochs_run} epochs, last loss {_last_loss(result)}")


def run_eval(ctx: StageContext) -> None:
    """Detections of the base and main models on the test subset, scored; the whole run's report."""
    from admfit.evaluation import GroundTruthSegments, parse_tious, table_columns
    from admfit_torch.checkpoint import load_point_detector
    from admfit_torch.inference import detect
    from admfit_torch.run.report import detection_summary, write_report
    from admfit_torch.run.scoring import evaluate_results

    cfg, layout, run = ctx.cfg, ctx.layout, ctx.cfg.run
    tious = parse_tious(run.tious)
    layout.evaluation.mkdir(parents=True, exist_ok=True)
    report: dict = {"run": str(layout.root), "tious": [float(t) for t in tious],
                    "columns": [float(t) for t in table_columns(tious)]}
    test_videos = 0
    for model_name, folder in (("base", layout.base), ("main", layout.main)):
        model, _, classes = load_point_detector(folder)
        split = ctx.split(run.test_subset, with_points=False, classes=classes)
        truth = _truth(run, run.test_subset, split)
        test_videos = len(split.items)
        document = detect(model, split.items, classes, cfg, ctx.dist.device)
        path = layout.detections(model_name)
        atomic_write_text(path, json.dumps(document), field="detections")
        report[model_name] = detection_summary(evaluate_results(truth, document, tious), _count(document),
                                               path.relative_to(layout.root))
    quality = json.loads(layout.pseudo_quality.read_text(encoding="utf-8"))
    report["figures"] = quality.pop("figures", [])
    report["notes"] = quality.pop("notes", [])
    report["pseudo_labels"] = quality
    train = ctx.split(run.train_subset, with_points=True)
    report["dataset"] = {
        "annotations": run.annotations, "features": run.features, "points": run.points,
        "train_subset": run.train_subset, "test_subset": run.test_subset, "train_videos": len(train.items),
        "skipped_videos": len(train.skipped), "classes": len(train.classes),
        "train_points": int(sum(len(item.positions) for item in train.items)), "test_videos": test_videos,
        "test_instances": len(GroundTruthSegments.from_annotations(truth))}
    report["seconds"] = dict(ctx.seconds or {})
    write_report(report, layout.report_json, layout.report_md)
    ctx.say(f"eval: average mAP base {report['base']['average']:.1f} %, main {report['main']['average']:.1f} %; "
            f"report {layout.report_md}")
