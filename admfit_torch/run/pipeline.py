"""Drives the stages of ``stages.STAGES`` through one run folder: skip, refuse, resume, --force, records.

What each stage does and writes is the table in ``stages.py``; where files live, ``run_folder.RunLayout``; the
records of ``stages.json``, ``run_folder.StageState``; numbers and markdown, ``report.py``. Under torchrun every
process runs the training stages; the others run on rank 0 while the rest wait.
"""
from __future__ import annotations

import contextlib
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from admfit.errors import InputError, Notice
from admfit.files.atomic import atomic_write_text
from admfit_torch import ddp
from admfit_torch.config import DetectorConfig, dump_config
from admfit_torch.run.layout import RunLayout
from admfit_torch.run.stages import STAGE_NAMES, Stage, stage_named, stage_settings
from admfit_torch.run.state import StageState, remove, run_lock
from admfit_torch.run.steps import StageContext


@dataclass(frozen=True)
class StageOutcome:
    """What one stage did in a run: ``action`` is "skipped" (already done), "ran" or "resumed"; ``seconds`` its
    wall time (None when skipped); ``artefact`` the file that proves it done."""

    name: str
    action: str
    artefact: Path
    seconds: float | None = None

    @property
    def skipped(self) -> bool:
        return self.action == "skipped"


@dataclass
class Pipeline:
    """Runs stages of one run folder. ``log`` receives one line per event (rank 0 only)."""

    cfg: DetectorConfig
    root: Path
    ctx: ddp.DistContext | None = None
    show_progress: bool = True
    log: Callable[[str], None] = print
    _splits: dict = field(default_factory=dict, repr=False)
    _inputs: dict | None = field(default=None, repr=False)

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

    def run(self, stages: Sequence[str] = STAGE_NAMES, *, force: bool = False) -> list[StageOutcome]:
        """Run ``stages`` in order (skipping finished ones unless ``force``); what each did.

        The training videos are read first and the finished stages checked against the settings and data, so
        that bad data, overlapping subsets or other data under a finished stage stop the run before anything
        (config.yaml included, or the run folder itself) is written. While the stages run, rank 0 holds the
        folder's lock (run_folder.run_lock): a second run on the same folder is refused."""
        train = self.split(self.cfg.run.train_subset, with_points=True)
        self._refuse_overlap()
        inputs = self.inputs()
        self._check(StageState(self.layout, writer=False), stages, force, inputs)
        created = not self.root.exists()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise InputError(f"cannot create the output folder ({error.strerror})", file=str(self.root),
                             field="out") from None
        try:
            with run_lock(self.root) if self.ctx.is_main else contextlib.nullcontext():
                state = StageState(self.layout, writer=self.ctx.is_main)  # read again, under the lock
                self._check(state, stages, force, inputs)
                if self.ctx.is_main:
                    atomic_write_text(self.layout.config, dump_config(self.cfg), field="out")
                    self._record_skipped(train.skipped)
                return [self._run_stage(stage_named(name), state, force, inputs) for name in stages]
        finally:
            if created and self.ctx.is_main:
                with contextlib.suppress(OSError):
                    self.root.rmdir()  # only when empty: a run refused before writing anything leaves no folder

    def _check(self, state: StageState, stages: Sequence[str], force: bool, inputs: dict) -> None:
        """Refuse before anything is written: a finished stage asked with other settings or data, or a first
        stage whose predecessor is not done."""
        if not force:
            for name in stages:
                if state.finished(name):
                    state.check_settings(name, stage_settings(self.cfg, name), inputs)
        if stages:
            state.require(stages[0])

    def inputs(self) -> dict:
        """Path, size and content hash of every data file of the run (admfit.files.fingerprint), by ``run`` field."""
        if self._inputs is None:
            from admfit.files.fingerprint import fingerprint
            from admfit_torch.sources import input_files

            self._inputs = {name: fingerprint(path) for name, path in input_files(self.cfg.run).items()}
        return self._inputs

    def _refuse_overlap(self) -> None:
        """Training and test videos must differ (a file with only Validation videos reads as both) unless
        ``run.allow_overlap``."""
        from admfit_torch.sources import subset_videos

        run = self.cfg.run
        if run.allow_overlap:
            return
        train = set(subset_videos(run.annotations, run.train_subset, videos=run.videos))
        test = subset_videos(run.annotations, run.test_subset, videos=run.videos)
        shared = sorted(train.intersection(test))
        if shared:
            raise InputError(f"the training subset {run.train_subset!r} and the test subset {run.test_subset!r} share "
                             f"{len(shared)} of their {len(test)} test videos (the first {shared[0]!r}): evaluating on "
                             "training videos; choose --train-subset / --test-subset, or --allow-overlap",
                             file=str(run.annotations), video=shared[0], field="run.test_subset")

    def _record_skipped(self, skipped: list[str]) -> None:
        """List the training videos skipped for want of features in the run folder, and say how many."""
        if skipped:
            atomic_write_text(self.layout.skipped_videos, "".join(f"{video}\n" for video in skipped), field="out")
            self._say(f"data: skipped {len(skipped)} training video(s) without features (--skip-missing-features); "
                      f"listed in {self.layout.skipped_videos}")
        else:
            remove(self.layout.skipped_videos)

    def _run_stage(self, stage: Stage, state: StageState, force: bool, inputs: dict) -> StageOutcome:
        settings = stage_settings(self.cfg, stage.name)
        artefact = stage.artefact(self.layout)
        if not force and state.recorded(stage.name) and state.problem(stage.name) is not None:
            if self.ctx.is_main:
                warnings.warn(Notice(f"stage {stage.name!r} finished but {state.problem(stage.name)}; running it "
                                     "again (and the stages after it, built on it)"))
            force = True
        if force:
            self._clear(stage.name, state)
        elif state.finished(stage.name):
            state.check_current(stage.name, settings, inputs)
            self._say(f"{stage.name}: done, skipped ({artefact}); --force redoes it")
            return StageOutcome(stage.name, "skipped", artefact)
        state.require(stage.name)
        resume = stage.resumable and state.check_resumable(stage.name, settings, inputs) and artefact.exists()
        if not resume and self.ctx.is_main:
            remove(*stage.paths(self.layout))  # what an interrupted attempt left
        state.start(stage.name, settings, inputs)
        ddp.barrier(self.ctx)
        started = time.perf_counter()
        self._say(f"{stage.name}: {'resuming' if resume else 'running'}")
        if stage.all_ranks or self.ctx.is_main:
            stage.run(StageContext(self.cfg, self.layout, self.ctx, self.split, self._say, self.show_progress,
                                   resume, state.seconds()))
        ddp.barrier(self.ctx)
        seconds = time.perf_counter() - started
        state.finish(stage.name, seconds)  # every rank, so later stages see it; rank 0 alone writes
        ddp.barrier(self.ctx)
        return StageOutcome(stage.name, "resumed" if resume else "ran", artefact, round(seconds, 1))

    def _clear(self, stage: str, state: StageState) -> None:
        """Forget ``stage`` and the later stages (built on it) and delete what they wrote."""
        state.forget_from(stage)
        if self.ctx.is_main:
            for name in STAGE_NAMES[STAGE_NAMES.index(stage):]:
                remove(*stage_named(name).paths(self.layout))
        ddp.barrier(self.ctx)

    def split(self, subset: str, *, with_points: bool, classes: list[str] | None = None):
        """A subset's videos (read once per run), with their points when ``with_points``; ``classes`` (a
        checkpoint's) must equal the run's vocabulary."""
        from admfit_torch.sources import load_split

        run = self.cfg.run
        if with_points and run.points is None:
            raise InputError("no points: give --points or run.points in the config", field="run.points")
        key = (subset, with_points)
        if key not in self._splits:
            self._splits[key] = load_split(run.annotations, run.features, self.cfg, subset=subset,
                                           points_path=run.points if with_points else None, videos=run.videos,
                                           skip_missing=run.skip_missing_features, fps=run.fps,
                                           vocabulary=run.classes, points_fps=run.points_fps)
        found = self._splits[key]
        if classes is not None and found.classes != list(classes):
            raise InputError(f"the checkpoint holds {len(classes)} classes, the run's vocabulary {len(found.classes)} "
                             "other ones (run.classes); rerun the stage with --force", file=str(run.annotations),
                             field="classes")
        return found
