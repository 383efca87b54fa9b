"""Run-folder layout and stage bookkeeping of the self-training loop (``admfit-torch train``).

A run folder holds one artefact per stage; ``stages.json`` records, per finished stage, the settings it ran
with and when it finished. A finished stage is skipped; asked again with other settings (or after an earlier
stage was redone) it refuses and names the difference, unless ``--force``; a stage interrupted mid-training
resumes from its checkpoint.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from admfit.atomic import atomic_write_text
from admfit.errors import InputError

from .checkpoint import CHECKPOINT_NAME
from .config import DetectorConfig
from .pseudo import PSEUDO_LABELS_NAME, SIGNALS_NAME

STAGE_ORDER = ("base", "pseudo", "main", "eval")

# The config fields each stage's result depends on (cumulative: a stage depends on its predecessors' too).
_OWN_FIELDS = {
    "base": ("seed", "amp", "amp_dtype", "model", "loss", "data", "optim", "run.train_subset"),
    "pseudo": ("adm",),
    "main": ("main",),
    "eval": ("inference", "run.test_subset", "run.tious"),
}


@dataclass(frozen=True)
class RunLayout:
    """Where each stage writes inside the run folder ``root``."""

    root: Path

    @property
    def base(self) -> Path:
        return self.root / "base"

    @property
    def main(self) -> Path:
        return self.root / "main"

    @property
    def pseudo_labels(self) -> Path:
        return self.base / PSEUDO_LABELS_NAME

    @property
    def signals(self) -> Path:
        return self.base / SIGNALS_NAME

    @property
    def pseudo_quality(self) -> Path:
        return self.base / "pseudo_quality.json"

    @property
    def evaluation(self) -> Path:
        return self.root / "eval"

    @property
    def figures(self) -> Path:
        return self.root / "figures"

    @property
    def report_json(self) -> Path:
        return self.root / "report.json"

    @property
    def report_md(self) -> Path:
        return self.root / "report.md"

    @property
    def state(self) -> Path:
        return self.root / "stages.json"

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    def outputs(self, stage: str) -> list[Path]:
        """Everything ``stage`` writes (removed by --force)."""
        return {"base": [self.base / CHECKPOINT_NAME, self.base / "metrics.jsonl"],
                "pseudo": [self.pseudo_labels, self.signals, self.pseudo_quality, self.figures],
                "main": [self.main], "eval": [self.evaluation, self.report_json, self.report_md]}[stage]

    def artefact(self, stage: str) -> Path:
        return {"base": self.base / CHECKPOINT_NAME, "pseudo": self.pseudo_labels, "main": self.main / CHECKPOINT_NAME,
                "eval": self.report_json}[stage]


def stage_settings(cfg: DetectorConfig, stage: str) -> dict:
    """The config values ``stage`` depends on, flattened to dotted keys."""
    dumped = cfg.model_dump(mode="json")
    settings: dict = {}
    for name in STAGE_ORDER[:STAGE_ORDER.index(stage) + 1]:
        for path in _OWN_FIELDS[name]:
            value = dumped
            for part in path.split("."):
                value = value[part]
            settings.update(_flatten(path, value))
    return settings


def _flatten(prefix: str, value) -> dict:
    if isinstance(value, dict):
        flat: dict = {}
        for key, inner in value.items():
            flat.update(_flatten(f"{prefix}.{key}", inner))
        return flat
    return {prefix: value}


class StageState:
    """``stages.json``: {stage: {"settings": {...}, "finished": unix time or None, "after": predecessor's finish}}.

    Every process of a torchrun job keeps the same records in memory; only the ``writer`` (rank 0) saves them."""

    def __init__(self, layout: RunLayout, writer: bool = True):
        self.layout, self.writer = layout, writer
        self.records: dict = {}
        if layout.state.is_file():
            try:
                self.records = json.loads(layout.state.read_text(encoding="utf-8"))
            except ValueError:
                raise InputError("not valid JSON; delete it and rerun with --force", file=str(layout.state),
                                 field="stages") from None

    def save(self) -> None:
        if self.writer:
            atomic_write_text(self.layout.state, json.dumps(self.records, indent=1), field="stages")

    def finished(self, stage: str) -> bool:
        record = self.records.get(stage)
        return bool(record and record.get("finished") and self.layout.artefact(stage).exists())

    def _predecessor_finish(self, stage: str):
        index = STAGE_ORDER.index(stage)
        return self.records.get(STAGE_ORDER[index - 1], {}).get("finished") if index else None

    def _refuse_changes(self, stage: str, settings: dict, how: str) -> None:
        before = self.records[stage].get("settings", {})
        changed = sorted(key for key in set(settings) | set(before) if settings.get(key) != before.get(key))
        if changed:
            key = changed[0]
            raise InputError(f"stage {stage!r} {how} with {key}={before.get(key)!r} (now {settings.get(key)!r}); "
                             "rerun it with --force, or use another --out", file=str(self.layout.state), field=key)

    def check_current(self, stage: str, settings: dict) -> None:
        """InputError when the finished ``stage`` ran with other settings or on an earlier predecessor."""
        record = self.records[stage]
        self._refuse_changes(stage, settings, "already ran")
        if record.get("after") != self._predecessor_finish(stage):
            raise InputError(f"stage {stage!r} ran on an earlier result of the stage before it; rerun it with --force",
                             file=str(self.layout.state), field=stage)

    def check_resumable(self, stage: str, settings: dict) -> bool:
        """True when ``stage`` started with these settings and was interrupted (its checkpoint resumes it)."""
        record = self.records.get(stage)
        if not record or record.get("finished"):
            return False
        self._refuse_changes(stage, settings, "was interrupted; it started")
        return True

    def start(self, stage: str, settings: dict) -> None:
        self.records[stage] = {"settings": settings, "finished": None, "after": self._predecessor_finish(stage)}
        self.save()

    def finish(self, stage: str) -> None:
        self.records[stage]["finished"] = time.time()
        self.save()

    def forget_from(self, stage: str) -> None:
        """Drop ``stage`` and every later stage (they depend on it)."""
        for name in STAGE_ORDER[STAGE_ORDER.index(stage):]:
            self.records.pop(name, None)
        self.save()

    def require(self, stage: str) -> None:
        index = STAGE_ORDER.index(stage)
        if index and not self.finished(STAGE_ORDER[index - 1]):
            before = STAGE_ORDER[index - 1]
            raise InputError(f"stage {stage!r} needs the {before!r} stage first: run --stage {before} (or all)",
                             file=str(self.layout.artefact(before)), field="stage")
