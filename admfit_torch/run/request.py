"""A run as the command line asks for it, for Python callers too: the config from a preset or a file with
``--set`` overrides and ``--device``, the run's data fields given as options, the run folder checked before
anything is written, the stages run (under torchrun or alone), and a checkpoint's detections on one subset.

``admfit-torch train / infer / eval / config`` are these calls and their printing. torch loads inside the
functions that need it, so that ``admfit-torch config`` runs without it.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from admfit.errors import InputError, validated
from admfit.files.atomic import atomic_write_text
from admfit_torch.config import DetectorConfig, load_config, with_overrides
from admfit_torch.run.stages import STAGE_NAMES

if TYPE_CHECKING:
    from admfit.evaluation import DetectionResult
    from admfit_torch.models import PointDetector
    from admfit_torch.run.pipeline import StageOutcome
    from admfit_torch.sources import Split


def configured(source: str | Path, overrides: Sequence[str] = (), device: str | None = None) -> DetectorConfig:
    """The config of ``source`` (a YAML file or a preset name) with ``overrides`` (``KEY.PATH=VALUE``) and
    ``device`` applied."""
    return adjusted(load_config(source), overrides, device)


def adjusted(cfg: DetectorConfig, overrides: Sequence[str] = (), device: str | None = None) -> DetectorConfig:
    """``cfg`` with ``overrides`` (``--set``) and ``device`` (``--device``; None: the config's) applied."""
    cfg = with_overrides(cfg, list(overrides))
    # its own source, so that a bad --device is reported as --device, not as a --set field
    return cfg if device is None else with_overrides(cfg, [f"device={device}"], source="--device")


def with_data(cfg: DetectorConfig, **given) -> DetectorConfig:
    """The config's ``run`` fields (features, annotations, points, videos, subsets, ...), replaced by those
    ``given`` (None: not given; paths become text), validated as the config file's would be."""
    given = {name: str(value) if isinstance(value, Path) else value for name, value in given.items()
             if value is not None}
    if not given:
        return cfg
    run = validated(type(cfg.run), {**cfg.run.model_dump(), **given}, prefix="run")
    return cfg.model_copy(update={"run": run})


def train_config(source: str | Path, overrides: Sequence[str] = (), device: str | None = None,
                 **data) -> DetectorConfig:
    """The config ``admfit-torch train`` runs: ``configured``, the ``run`` fields of ``data`` (``with_data``), on
    the grid the features folder declares unless ``overrides`` set ``data.grid`` (``with_declared_grid``)."""
    from admfit_torch.sources import with_declared_grid

    cfg = with_data(configured(source, overrides, device), **data)
    return with_declared_grid(cfg, explicit=any(item.strip().startswith("data.grid=") for item in overrides))


def check_run_folder(path: str | Path) -> Path:
    """Check that the run folder ``path`` can be created or written, without creating it: the pipeline creates it
    once the data and settings are checked, so a refused run leaves no empty folder."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError("exists and is not a folder", file=str(path), field="--output")
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise InputError(f"cannot create the output folder ({existing} is not a folder)", file=str(path),
                         field="--output")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InputError(f"folder {str(existing)!r} is not writable", file=str(path), field="--output")
    return path


@dataclass(frozen=True)
class TrainedRun:
    """What ``train_run`` did: one record per stage asked for, and the report (``RUN/report.md``) when the eval
    stage wrote one (None: not asked for, or on a torchrun rank other than 0)."""

    outcomes: list[StageOutcome]
    report: Path | None


def train_run(cfg: DetectorConfig, run_dir: str | Path, stages: Sequence[str] = STAGE_NAMES, *, force: bool = False,
              show_progress: bool = True, log=print) -> TrainedRun:
    """Run ``stages`` in the run folder ``run_dir`` as ``admfit-torch train`` does: the folder checked first
    (``check_run_folder``), every torchrun process joined (alone: one process), ``force`` redoing done stages."""
    from admfit_torch import ddp
    from admfit_torch.run.pipeline import Pipeline

    ctx = ddp.init_distributed(cfg.device)
    try:
        pipeline = Pipeline(cfg, check_run_folder(run_dir), ctx, show_progress, log)
        outcomes = pipeline.run(stages, force=force)
    finally:
        ddp.shutdown(ctx)
    reported = ctx.is_main and "eval" in stages and pipeline.layout.report_json.is_file()
    return TrainedRun(outcomes, pipeline.layout.report_md if reported else None)


@dataclass(frozen=True)
class SubsetDetections:
    """A model's detections on the videos of ``subset`` of the annotation file ``annotations``: ``document``, the
    ActivityNet results (segments in seconds), ``split`` the videos detected on, ``cfg`` the config it ran with."""

    document: dict
    split: Split
    cfg: DetectorConfig
    annotations: str | Path
    subset: str

    @property
    def count(self) -> int:
        """The number of detections, over every video."""
        return sum(len(entries) for entries in self.document["results"].values())

    @property
    def videos(self) -> list[str]:
        return [item.video for item in self.split.items]

    def write(self, path: str | Path) -> None:
        """The results document as JSON at ``path``, written atomically."""
        atomic_write_text(path, json.dumps(self.document))

    def score(self, tious: Sequence[float] | None = None) -> DetectionResult:
        """mAP per tIoU threshold (``tious``; default: the config's ``run.tious``) against the ground truth of the
        detected videos, with admfit's evaluator."""
        from admfit.evaluation import parse_tious
        from admfit_torch.run.scoring import evaluate_detections

        thresholds = parse_tious(self.cfg.run.tious) if tious is None else tious
        return evaluate_detections(self.annotations, self.subset, self.document, thresholds, videos=self.videos)


def detect_subset(model: PointDetector, cfg: DetectorConfig, classes: Sequence[str], features, annotations,
                  subset: str, timing=None, *, videos=None, fps=None) -> SubsetDetections:
    """``model``'s detections (on ``cfg.device``) on the videos of ``subset`` that have features in ``features``;
    ``videos``: a video list file, only these; ``fps``: the features' fps per video (``load_split``)."""
    from admfit_torch.ddp import select_device
    from admfit_torch.inference import detect
    from admfit_torch.sources import load_split

    split = load_split(annotations, features, cfg, subset=subset, classes=classes, videos=videos, fps=fps,
                       vocabulary=cfg.run.classes)
    document = detect(model, split.items, classes, cfg, select_device(cfg.device), timing)
    return SubsetDetections(document, split, cfg, annotations, subset)


def detect_checkpoint(checkpoint: str | Path, features, annotations, subset: str | None = None,
                      overrides: Sequence[str] = (), device: str | None = None, timing=None, *, videos=None,
                      fps=None) -> SubsetDetections:
    """The detections of the checkpoint (``checkpoint.pt`` or its run folder) on ``subset`` (default: its config's
    ``run.test_subset``), with inference ``overrides`` (``--set``; those the weights fix are refused) and
    ``device``, as ``admfit-torch infer`` and ``eval`` detect."""
    from admfit_torch.checkpoint import inference_config, load_point_detector

    model, cfg, classes = load_point_detector(checkpoint)
    cfg = adjusted(inference_config(cfg, list(overrides)), (), device)
    subset = cfg.run.test_subset if subset is None else subset
    return detect_subset(model, cfg, classes, features, annotations, subset, timing, videos=videos, fps=fps)
