"""The state of a run folder of ``admfit-torch train``: what has run (StageState, the records of ``stages.json``),
the lock, and ``fork_run``, which starts a new run folder from another one's finished stages. Where the files
live: ``layout``.

A record per stage: ``{"settings": {...}, "inputs": {name: fingerprint}, "finished": unix time or None, "after":
the predecessor's finish, "seconds": wall seconds}``; ``inputs`` holds each data file's path, size and content hash
(admfit.files.fingerprint). A finished stage is skipped; asked again with other settings, on other data (or after an
earlier stage was redone) it refuses and names the difference, unless ``--force``; a training stage interrupted
mid-way resumes from its checkpoint. Which stages exist, in which order, is the table of ``stages.py``. A record
counts as finished only while the stage's outputs open (``stage_problem``): a stage whose checkpoint or JSON output
is missing or damaged runs again.

``run_lock`` holds ``RUN/.lock`` (the holder's pid) while a run works in the folder: a second run is refused, a
stale lock (its process gone) is taken over with a note.

Torch-free: the command line reads the stage names without importing torch.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
import warnings
from pathlib import Path

from admfit.errors import InputError, Notice
from admfit.files.atomic import atomic_write_text
from admfit.files.fingerprint import describe, same_content
from admfit_torch.run.layout import CHECKPOINT_NAME, FIELDS_ADDED, LOCK_NAME, RunLayout
from admfit_torch.run.stages import STAGE_NAMES, stage_named


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def _holder(lock: Path) -> int | None:
    """The pid written in ``lock``; None when it is unreadable (a run killed while writing it)."""
    try:
        return int(lock.read_text(encoding="ascii").split()[0])
    except (OSError, ValueError, IndexError, UnicodeDecodeError):
        return None


@contextlib.contextmanager
def run_lock(root: str | Path):
    """Hold ``root/.lock`` (created with O_CREAT|O_EXCL, holding this pid) for the ``with`` block; released on
    exit, exceptions included. InputError naming the holder's pid when a live process holds it; a lock whose
    process is gone (a killed run) is taken over with a Notice. ``root`` must exist."""
    lock = RunLayout(Path(root)).lock
    for _ in range(3):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            pid = _holder(lock)
            if pid is not None and _alive(pid):
                raise InputError(f"the run folder is in use by a run in progress (pid {pid}); wait for it to finish, or "
                                 f"use another --output (if pid {pid} is not an admfit run, delete {LOCK_NAME})",
                                 file=str(lock), field="out") from None
            warnings.warn(Notice(f"{lock}: taking over the stale lock of "
                                 f"{'pid ' + str(pid) if pid is not None else 'a killed run'} (no longer running)"))
            lock.unlink(missing_ok=True)
            continue
        except OSError as error:
            raise InputError(f"cannot create the lock file ({error.strerror})", file=str(lock),
                             field="out") from None
        break
    else:
        raise InputError("cannot take the run folder's lock (another run keeps taking it)", file=str(lock),
                         field="out")
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(f"{os.getpid()}\n")
        yield lock
    finally:
        if _holder(lock) == os.getpid():
            lock.unlink(missing_ok=True)


def remove(*paths: Path) -> None:
    for path in paths:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def _predecessor(stage: str) -> str | None:
    index = STAGE_NAMES.index(stage)
    return STAGE_NAMES[index - 1] if index else None


class StageState:
    """The records of ``stages.json`` (see the module docstring).

    Every process of a torchrun job keeps the same records in memory; only the ``writer`` (rank 0) saves them."""

    def __init__(self, layout: RunLayout, writer: bool = True):
        self.layout, self.writer = layout, writer
        self.records: dict = {}
        self._problems: dict = {}
        if layout.state.is_file():
            try:
                self.records = json.loads(layout.state.read_text(encoding="utf-8"))
            except ValueError:
                raise InputError("not valid JSON; delete it and rerun with --force", file=str(layout.state),
                                 field="stages") from None

    def save(self) -> None:
        if self.writer:
            atomic_write_text(self.layout.state, json.dumps(self.records, indent=1), field="stages")

    def recorded(self, stage: str) -> bool:
        """``stages.json`` says ``stage`` finished (its outputs unchecked)."""
        record = self.records.get(stage)
        return bool(record and record.get("finished"))

    def finished(self, stage: str) -> bool:
        """Recorded as finished, and its outputs open (``problem``)."""
        return self.recorded(stage) and self.problem(stage) is None

    def problem(self, stage: str) -> str | None:
        """Why the outputs of ``stage`` do not prove it done (missing or unreadable), or None; checked once per
        record (start, finish and forget_from check again)."""
        if stage not in self._problems:
            self._problems[stage] = stage_problem(self.layout, stage)
        return self._problems[stage]

    def seconds(self) -> dict[str, float]:
        """Wall seconds of each finished stage."""
        return {name: record["seconds"] for name, record in self.records.items()
                if record.get("finished") and record.get("seconds") is not None}

    def _predecessor_finish(self, stage: str):
        before = _predecessor(stage)
        return self.records.get(before, {}).get("finished") if before else None

    def _refuse_changes(self, stage: str, settings: dict, how: str) -> None:
        before = self.records[stage].get("settings", {})
        # A field added to the config after the stage ran: the admfit that ran it behaved as FIELDS_ADDED says.
        added = {key for key in set(settings) - set(before)
                 if key in FIELDS_ADDED and settings[key] == FIELDS_ADDED[key]}
        changed = sorted(key for key in set(settings) | set(before)
                         if key not in added and settings.get(key) != before.get(key))
        if changed:
            key = changed[0]
            raise InputError(f"stage {stage!r} {how} with {key}={before.get(key, FIELDS_ADDED.get(key))!r} (now "
                             f"{settings.get(key)!r}); "
                             "rerun it with --force, or use another --output", file=str(self.layout.state), field=key)

    def _refuse_other_inputs(self, stage: str, inputs: dict | None, how: str) -> None:
        """InputError naming the first input file whose content differs from the one ``stage`` ran on."""
        if inputs is None:
            return
        record = self.records[stage]
        if "inputs" not in record:
            raise InputError(f"stage {stage!r} {how} without a record of its input data (an older admfit); rerun it "
                             "with --force, or use another --output", file=str(self.layout.state), field="inputs")
        before = record["inputs"]
        for key in sorted(set(inputs) | set(before)):
            if not same_content(before.get(key), inputs.get(key)):
                now = inputs.get(key)
                raise InputError(f"stage {stage!r} {how} on other {key}: {describe(before.get(key))} then, "
                                 f"{describe(now)} now; rerun it with --force, or use another --output",
                                 file=(now or before[key])["path"], field=f"run.{key}")

    def check_settings(self, stage: str, settings: dict, inputs: dict | None = None) -> None:
        """InputError when the finished ``stage`` ran with other settings or on other data."""
        self._refuse_changes(stage, settings, "already ran")
        self._refuse_other_inputs(stage, inputs, "already ran")

    def check_current(self, stage: str, settings: dict, inputs: dict | None = None) -> None:
        """InputError when the finished ``stage`` ran with other settings, on other data (``inputs``: name ->
        admfit.files.fingerprint.fingerprint) or on an earlier predecessor."""
        record = self.records[stage]
        self.check_settings(stage, settings, inputs)
        if record.get("after") != self._predecessor_finish(stage):
            raise InputError(f"stage {stage!r} ran on an earlier result of the stage before it; rerun it with --force",
                             file=str(self.layout.state), field=stage)

    def check_resumable(self, stage: str, settings: dict, inputs: dict | None = None) -> bool:
        """True when ``stage`` started with these settings and data and was interrupted (its checkpoint resumes it)."""
        record = self.records.get(stage)
        if not record or record.get("finished"):
            return False
        self._refuse_changes(stage, settings, "was interrupted; it started")
        self._refuse_other_inputs(stage, inputs, "was interrupted; it started")
        return True

    def start(self, stage: str, settings: dict, inputs: dict | None = None) -> None:
        self.records[stage] = {"settings": settings, "inputs": inputs, "finished": None,
                               "after": self._predecessor_finish(stage)}
        self._problems.pop(stage, None)
        self.save()

    def finish(self, stage: str, seconds: float) -> None:
        self.records[stage].update(finished=time.time(), seconds=round(seconds, 1))
        self._problems.pop(stage, None)
        self.save()

    def forget_from(self, stage: str) -> None:
        """Drop ``stage`` and every later stage (they depend on it)."""
        for name in STAGE_NAMES[STAGE_NAMES.index(stage):]:
            self.records.pop(name, None)
            self._problems.pop(name, None)
        self.save()

    def require(self, stage: str) -> None:
        before = _predecessor(stage)
        if before and not self.finished(before):
            raise InputError(f"stage {stage!r} needs the {before!r} stage first: run --stage {before} (or all)",
                             file=str(stage_named(before).artefact(self.layout)), field="stage")


def stage_problem(layout: RunLayout, stage: str) -> str | None:
    """Why the outputs of ``stage`` in ``layout`` are missing or unreadable, or None: its artefact must exist, a
    checkpoint must load (checkpoint.load_checkpoint, imported here: torch only when a checkpoint is checked) and
    each JSON output must parse."""
    row = stage_named(stage)
    artefact = row.artefact(layout)
    if not artefact.exists():
        return f"{artefact} is missing"
    for path in row.paths(layout):
        if path.name == CHECKPOINT_NAME:
            from admfit_torch.checkpoint import load_checkpoint

            try:
                load_checkpoint(path)
            except InputError as error:
                return str(error)
        elif path.suffix == ".json":
            try:
                json.loads(path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                return f"{path} is missing"
            except (OSError, ValueError) as error:
                return f"{path} is not readable JSON ({type(error).__name__})"
    return None


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, target)
    elif source.exists():
        shutil.copy2(source, target)


def fork_run(source: str | Path, target: str | Path, through: str = "pseudo") -> list[str]:
    """Make ``target`` a run folder whose stages up to ``through`` (inclusive) are ``source``'s, finished, and
    whose later stages have not run: their outputs, records and config are copied, nothing else. Running
    ``target`` with other settings for the later stages then skips the shared ones (and refuses, as any run
    does, when the shared stages' settings differ). Returns the names of the stages copied.

    ValueError when a shared stage of ``source`` is not finished or ``target`` already holds a run."""
    source_layout, target_layout = RunLayout(Path(source)), RunLayout(Path(target))
    shared = STAGE_NAMES[:STAGE_NAMES.index(stage_named(through).name) + 1]
    state = StageState(source_layout, writer=False)
    for name in shared:
        if not state.finished(name):
            raise ValueError(f"{source}: stage {name!r} is not finished; nothing to fork")
    if target_layout.state.exists():
        raise ValueError(f"{target} already holds a run")
    target_layout.root.mkdir(parents=True, exist_ok=True)
    for name in shared:
        for attribute in stage_named(name).outputs:
            _copy(getattr(source_layout, attribute), getattr(target_layout, attribute))
    _copy(source_layout.config, target_layout.config)
    forked = StageState(target_layout)
    forked.records = {name: dict(state.records[name]) for name in shared}
    forked.save()
    return list(shared)
