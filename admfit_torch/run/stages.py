"""The stages of the ADM-Loc self-training loop (paper Fig. 1), as one table: ``STAGES``.

base   the point-supervised base model (3.3)                -> RUN/base/checkpoint.pt
pseudo ADM pseudo-labels of the training videos (3.4.1),     -> RUN/base/pseudo_labels.json, signals.npz,
       their quality (Table 2) and figures                      pseudo_quality.json, RUN/figures/
main   the ADM-Loc main model trained with them (3.4.2)      -> RUN/main/checkpoint.pt
eval   both models on the test subset (Table 1 columns)      -> RUN/report.json, RUN/report.md, RUN/eval/

A stage is a record: its name, the config fields its result depends on (besides its predecessors'), its outputs
(RunLayout attributes, the artefact that proves it finished first), and ``run(ctx)`` (its work: ``steps``). The pipeline, the
``--stage`` choices of ``admfit-torch train``, the bookkeeping of ``stages.json`` and the ablation benchmark all
read this table; nothing else lists the stages. The heavy imports are inside the run functions, so that the
table (and the command line's help) loads without torch.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from admfit_torch.run.steps import StageContext, run_base, run_eval, run_main, run_pseudo

if TYPE_CHECKING:
    from admfit_torch.config import DetectorConfig
    from admfit_torch.run.layout import RunLayout


@dataclass(frozen=True)
class Stage:
    """One row of the table. ``resumable``: an interrupted attempt continues from its checkpoint; ``all_ranks``:
    under torchrun every process runs it (training), otherwise rank 0 alone while the others wait."""

    name: str
    config_fields: tuple[str, ...]
    outputs: tuple[str, ...]
    run: Callable[[StageContext], None]
    resumable: bool = False
    all_ranks: bool = False

    def artefact(self, layout: RunLayout):
        """The file whose presence (with a finished record) means the stage is done."""
        return getattr(layout, self.outputs[0])

    def paths(self, layout: RunLayout) -> list:
        """Everything the stage writes (removed by --force and before a fresh attempt)."""
        return [getattr(layout, name) for name in self.outputs]


_TRAINING = ("seed", "amp", "amp_dtype", "model", "loss", "data", "optim", "run.train_subset", "run.points_fps")

STAGES: tuple[Stage, ...] = (
    Stage("base", _TRAINING, ("base_checkpoint", "base_metrics"), run_base, resumable=True, all_ranks=True),
    Stage("pseudo", ("adm",), ("pseudo_labels", "signals", "pseudo_quality", "figures"), run_pseudo),
    Stage("main", ("main",), ("main_checkpoint", "main_metrics"), run_main, resumable=True, all_ranks=True),
    Stage("eval", ("inference", "run.test_subset", "run.tious"), ("report_json", "report_md", "evaluation"),
          run_eval),
)
STAGE_NAMES: tuple[str, ...] = tuple(stage.name for stage in STAGES)


def stage_named(name: str) -> Stage:
    for stage in STAGES:
        if stage.name == name:
            return stage
    raise ValueError(f"unknown stage {name!r}; known: {', '.join(STAGE_NAMES)}")


def stage_settings(cfg: DetectorConfig, stage: str) -> dict:
    """The config values ``stage`` depends on, its predecessors' included, flattened to dotted keys."""
    dumped = cfg.model_dump(mode="json")
    settings: dict = {}
    for row in STAGES[:STAGE_NAMES.index(stage_named(stage).name) + 1]:
        for path in row.config_fields:
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
