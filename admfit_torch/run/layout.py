"""Where every file of a run folder of ``admfit-torch train`` lives: ``RunLayout`` and the file names, the one place
that defines them (the stage table names a stage's outputs by ``RunLayout`` attributes; ``checkpoint``, ``train``
and ``state`` read the names here), except ``signals.npz`` and ``pseudo_labels.json`` of RUN/base, which it reads
from ``admfit.files.label_outputs`` (the same files ``admfit label`` writes). It imports nothing of the run
machinery, so any module may import it.

``FIELDS_ADDED``: config fields added after run folders were first written, read by ``state``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from admfit.files.label_outputs import PSEUDO_LABELS_FILE, SIGNALS_FILE

# Config fields added after run folders were first written, with the value that reproduces what a stage recorded
# without them did; such a record is current at that value (and refused at any other, naming the field).
FIELDS_ADDED = {"main.init": "scratch",
                # before it, click frames were converted at the annotation file's fps (docs/spec.md section 3.6)
                "run.points_fps": "annotations",
                # before it, the pseudo stage fitted the fixed options (docs/adm.md, "Self-tuning")
                "adm.tuning": "off"}

CHECKPOINT_NAME = "checkpoint.pt"  # inside a training folder (RUN/base, RUN/main, or train_base's out_dir)
METRICS_NAME = "metrics.jsonl"
STATE_NAME = "stages.json"
LOCK_NAME = ".lock"


@dataclass(frozen=True)
class RunLayout:
    """Where each file of the run folder ``root`` lives; the stage table names its outputs by these attributes."""

    root: Path

    def __post_init__(self):
        object.__setattr__(self, "root", Path(self.root))

    @property
    def base(self) -> Path:
        return self.root / "base"

    @property
    def main(self) -> Path:
        return self.root / "main"

    @property
    def base_checkpoint(self) -> Path:
        return self.base / CHECKPOINT_NAME

    @property
    def base_metrics(self) -> Path:
        return self.base / METRICS_NAME

    @property
    def main_checkpoint(self) -> Path:
        return self.main / CHECKPOINT_NAME

    @property
    def main_metrics(self) -> Path:
        return self.main / METRICS_NAME

    @property
    def pseudo_labels(self) -> Path:
        return self.base / PSEUDO_LABELS_FILE

    @property
    def signals(self) -> Path:
        return self.base / SIGNALS_FILE

    @property
    def pseudo_quality(self) -> Path:
        return self.base / "pseudo_quality.json"

    @property
    def figures(self) -> Path:
        return self.root / "figures"

    @property
    def evaluation(self) -> Path:
        return self.root / "eval"

    def detections(self, model: str) -> Path:
        """The test-subset detections of the ``model`` ("base" or "main") model."""
        return self.evaluation / f"{model}_detections.json"

    @property
    def report_json(self) -> Path:
        return self.root / "report.json"

    @property
    def report_md(self) -> Path:
        return self.root / "report.md"

    @property
    def skipped_videos(self) -> Path:
        """The videos without features that ``run.skip_missing_features`` left out, one per line."""
        return self.root / "skipped_videos.txt"

    @property
    def state(self) -> Path:
        return self.root / STATE_NAME

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def lock(self) -> Path:
        return self.root / LOCK_NAME
