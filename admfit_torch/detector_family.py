"""The reference detector's own outputs as a signal family (admfit/synthetic/families/__init__.py): family (c) of
the pseudo-label suite (docs/adm.md, "The validation suite: signal families designed apart").

For a feature seed (``make_family``'s ``seed``): ``admfit synth --like thumos14 --mode features --subset train``
draws 64-D features on the real training videos (their durations, fps, instances and points); then
``admfit-torch train --stage base`` and ``--stage pseudo`` (the cpu-small preset as it is, ``CONFIG_TEXT``) train
the base model on the chosen videos and write ``RUN/base/signals.npz``: the last pyramid level's class
probabilities (T_l = ceil(T / 4) snippets with 3 levels) and the first level's background probabilities
(T snippets), on each video's own ActionFormer grid (crop mode: the model sees whole videos at inference).

A variant ``eE-sS`` trains for E epochs with the detector's ``seed`` S (initial weights, crops, shuffling);
``e4`` is deliberately under-trained. Both commands run in a subprocess of this interpreter on the CPU with
one thread (same inputs and seed, same signals, bit for bit).

Cost on this project's 2-core CPU machine, one thread, measured at commit ef4a635: the features
4.5 s CPU (7 s wall); e4 about 40 s CPU and e25 about 117 s CPU each (base + pseudo, two CLI processes), so
the four VARIANTS take 5.3 CPU minutes (10 wall minutes while other jobs held half the machine).
The cpu-small preset's 128-snippet crops cost 40 s CPU less per e25 variant than synthetic-small's 256 (the
base model's own proposals 51 against 63 average mAP, ADM's pseudo-labels 81.4 against 81.9).
``python -m benchmarks.families.signals_detector [--quick]`` builds them and prints each one's contrast
(own-class probability inside ground-truth instances against outside): e4 0.25 vs 0.04, e25 0.80 vs 0.06.

Cache: ``cache_dir/<key>/`` holds ``signals.npz``, the run's ``config.yaml`` and ``build.json`` (settings, wall
and CPU seconds, the pseudo stage's summary line). ``<key>`` hashes what determines the signals: config text,
variant, seed, dim, difficulty, the video ids, overrides, package and torch versions, and ``REVISION``. Not the
source code: every refactor of the run folder or the command line would rebuild five CPU minutes of training;
bump ``REVISION`` when a change to the detector's model, losses, training or data, or to the feature generator,
should rebuild. The synthetic features are cached beside them in ``features-<key>/`` (76 MB for the 200
training videos at D = 64), shared by the variants of one seed. A present entry is reused; delete the
folder to rebuild.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

import admfit
from admfit.datasets import thumos14
from admfit.files.label_outputs import SIGNALS_FILE
from admfit.files.signals import load_signals
from admfit.grid import SnippetGrid
from admfit.synthetic.families import FamilySignals
from admfit.synthetic.layout import thumos14_grid
from admfit.synthetic.output import MANIFEST
from admfit_torch.run.layout import RunLayout

VARIANTS = ("e4-s0", "e4-s1", "e25-s0", "e25-s1")

# The detector's config: the cpu-small preset as it is, without figures (not needed, and they cost time).
# _train adds per variant: --set optim.epochs=E --set seed=S --set run.train_subset=family_c
# --set model.input_dim=D --device cpu.
CONFIG_TEXT = "preset: cpu-small\nrun:\n  figures: 0\n"
DIM = 64  # feature dimension D: the cpu-small preset's model.input_dim
DIFFICULTY = "medium"
# Our copy of annotations.json gives the chosen videos this subset name, so that the detector trains on them
# alone while the file keeps every training video (the pipeline's classes are every label of the file).
FAMILY_SUBSET = "family_c"
# Training runs on one thread: on the shared 2-core machine more threads thrash, and numba would raise torch's.
ONE_THREAD = {name: "1" for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                     "NUMBA_NUM_THREADS")}
_VARIANT = re.compile(r"^e(\d+)-s(\d+)$")


@dataclass(frozen=True)
class Variant:
    """A variant name ``eE-sS``: E training epochs of the base model, detector seed S."""

    epochs: int
    detector_seed: int

    @classmethod
    def parse(cls, name: str) -> "Variant":
        found = _VARIANT.match(name)
        if not found or int(found.group(1)) < 1:
            raise ValueError(f"variant {name!r}: expected eE-sS (E >= 1 epochs, detector seed S), e.g. 'e25-s0'")
        return cls(int(found.group(1)), int(found.group(2)))


@dataclass(frozen=True)
class Build:
    """One variant's cache entry. ``built``: this call trained it (False: reused). ``seconds`` and
    ``cpu_seconds``: wall and CPU (user + system) seconds of its base and pseudo stages when it was built
    (the features excluded; on a shared machine the wall time depends on the other processes)."""

    key: str
    folder: Path
    built: bool
    seconds: float
    cpu_seconds: float

    @property
    def signals(self) -> Path:
        return self.folder / SIGNALS_FILE


# Bump to rebuild the cached signals after a change that moves them (module docstring).
REVISION = 2  # 2: signals.npz carries the detector's step centres (admfit.levels)


# ---- keys ------------------------------------------------------------------------------------------

def _digest(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:16]


def _versions() -> dict:
    return {"admfit": admfit.__version__, "torch": metadata.version("torch"), "python": sys.version.split()[0]}


def features_key(seed: int, dim: int, difficulty: str) -> str:
    """What determines the synthetic features: seed, D, difficulty, the generator's code and version."""
    return _digest({"seed": seed, "dim": dim, "difficulty": difficulty, "admfit": admfit.__version__,
                    "revision": REVISION})


def variant_key(video_ids: Sequence[str], variant: str, seed: int, dim: int, difficulty: str,
                overrides: Sequence[str]) -> str:
    """What determines a variant's signals (see the module docstring)."""
    parsed = Variant.parse(variant)
    return _digest({"config": CONFIG_TEXT, "epochs": parsed.epochs,
                    "detector_seed": parsed.detector_seed, "seed": seed, "dim": dim, "difficulty": difficulty,
                    "videos": sorted(video_ids), "overrides": list(overrides), "versions": _versions(),
                    "revision": REVISION})


# ---- building --------------------------------------------------------------------------------------

def _run(command: list[str], what: str) -> str:
    """Run a CLI command on one thread; its stdout, or RuntimeError with the end of its output."""
    done = subprocess.run(command, env={**os.environ, **ONE_THREAD}, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {done.returncode}): {' '.join(command)}\n"
                           f"{(done.stdout + done.stderr)[-2000:]}")
    return done.stdout


def _children_cpu_seconds() -> float:
    """User + system seconds of this process's finished children (the CLI commands)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _cli(script: str) -> list[str]:
    """This interpreter running an admfit console script (``admfit_cli.main`` or ``.torch_main``)."""
    return [sys.executable, "-m", f"admfit_cli.{script}"]


def ensure_features(seed: int, *, cache_dir: str | Path, dim: int = DIM, difficulty: str = DIFFICULTY,
                    log: Callable[[str], None] = print) -> Path:
    """The folder of ``admfit synth`` output (features/, annotations.json, points.csv) for the 200 training
    videos; synthesised once per (seed, dim, difficulty, generator code)."""
    folder = Path(cache_dir) / f"features-{features_key(seed, dim, difficulty)}"
    if (folder / MANIFEST).is_file():  # admfit synth moves its output into place only when complete
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    _run(_cli("main") + ["synth", str(folder), "--like", "thumos14", "--mode", "features", "--subset", "train",
                         "--dim", str(dim), "--seed", str(seed), "--difficulty", difficulty, "--overwrite"],
         "admfit synth")
    log(f"detector family: features seed {seed} (D={dim}, {difficulty}) in {time.perf_counter() - began:.1f} s "
        f"-> {folder}")
    return folder


def _family_annotations(source: Path, target: Path, video_ids: Sequence[str]) -> None:
    """Copy of the synthetic annotation file whose chosen videos are in subset FAMILY_SUBSET."""
    document = json.loads(source.read_text(encoding="utf-8"))
    missing = sorted(set(video_ids) - set(document["database"]))
    if missing:
        raise ValueError(f"{len(missing)} videos are not THUMOS'14 training videos, e.g. {missing[0]!r}")
    for video in video_ids:
        document["database"][video]["subset"] = FAMILY_SUBSET
    target.write_text(json.dumps(document), encoding="utf-8")


def _train(data: Path, scratch: Path, run: Path, variant: Variant, dim: int,
           overrides: Sequence[str]) -> tuple[str, dict]:
    """``admfit-torch train --stage base`` then ``--stage pseudo`` with ``scratch``'s annotations.json and
    CONFIG_TEXT: (the pseudo stage's summary line, {stage: [wall seconds, CPU seconds]} of each command)."""
    config = scratch / "detector.yaml"
    config.write_text(CONFIG_TEXT, encoding="utf-8")
    # Only the base and pseudo stages run: no test split is evaluated, so the test subset may be the training one.
    settings = [f"optim.epochs={variant.epochs}", f"seed={variant.detector_seed}",
                f"run.train_subset={FAMILY_SUBSET}", f"run.test_subset={FAMILY_SUBSET}", "run.allow_overlap=true",
                f"model.input_dim={dim}", *overrides]
    common = ["--config", str(config), "--output", str(run), "--features", str(data / "features"),
              "--annotations", str(scratch / "annotations.json"), "--points", str(data / "points.csv"), "--device", "cpu",
              "--no-progress", *[part for setting in settings for part in ("--set", setting)]]
    out, seconds = "", {}
    for stage in ("base", "pseudo"):
        began, cpu_began = time.perf_counter(), _children_cpu_seconds()
        out = _run(_cli("torch_main") + ["train", "--stage", stage, *common], f"admfit-torch train --stage {stage}")
        seconds[stage] = [round(time.perf_counter() - began, 1), round(_children_cpu_seconds() - cpu_began, 1)]
    return (out.strip().splitlines()[-1] if out.strip() else ""), seconds


def build_variant(video_ids: Sequence[str], variant: str, seed: int, *, cache_dir: str | Path, dim: int = DIM,
                  difficulty: str = DIFFICULTY, overrides: Sequence[str] = (),
                  log: Callable[[str], None] = print) -> Build:
    """The entry of ``variant`` in ``cache_dir``, trained on ``video_ids`` with feature seed ``seed``, built if
    absent.

    overrides: extra ``--set KEY=VALUE`` settings of the detector (e.g. ``data.input_length=64`` for a tiny
    test build); they are part of the key."""
    parsed = Variant.parse(variant)
    cache_dir = Path(cache_dir)
    key = variant_key(video_ids, variant, seed, dim, difficulty, overrides)
    folder = cache_dir / key
    if (folder / SIGNALS_FILE).is_file():
        record = json.loads((folder / "build.json").read_text(encoding="utf-8"))
        return Build(key, folder, False, record["seconds"], record["cpu_seconds"])
    cache_dir.mkdir(parents=True, exist_ok=True)
    data = ensure_features(seed, dim=dim, difficulty=difficulty, cache_dir=cache_dir, log=log)
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix=f"building-{key}-") as scratch:
        scratch = Path(scratch)
        _family_annotations(data / "annotations.json", scratch / "annotations.json", video_ids)
        summary, stages = _train(data, scratch, scratch / "run", parsed, dim, overrides)
        seconds, cpu_seconds = (round(sum(stage[i] for stage in stages.values()), 1) for i in (0, 1))
        record = {"variant": variant, "epochs": parsed.epochs, "detector_seed": parsed.detector_seed,
                  "feature_seed": seed, "dim": dim, "difficulty": difficulty, "videos": len(video_ids),
                  "overrides": list(overrides), "versions": _versions(), "seconds": seconds,
                  "cpu_seconds": cpu_seconds, "stage_seconds": stages, "pseudo_summary": summary}
        _store_entry(scratch / "run", record, scratch / "entry", folder)
    log(f"detector family: built {variant} (feature seed {seed}, {len(video_ids)} videos) in {seconds:.1f} s "
        f"({cpu_seconds:.1f} s CPU) -> {folder}")
    return Build(key, folder, True, seconds, cpu_seconds)


def _store_entry(run: Path, record: dict, staged: Path, folder: Path) -> None:
    """signals.npz, the run's config.yaml and build.json, moved into ``folder`` in one rename, so that a build
    killed mid-way leaves no entry to reuse (only its ``building-*`` scratch folder)."""
    staged.mkdir()
    shutil.copy2(RunLayout(run).signals, staged / SIGNALS_FILE)
    shutil.copy2(run / "config.yaml", staged / "config.yaml")
    (staged / "build.json").write_text(json.dumps(record, indent=1), encoding="utf-8")
    try:
        staged.rename(folder)
    except OSError:
        if not (folder / SIGNALS_FILE).is_file():  # else another process built the same entry meanwhile
            raise


# ---- reading ---------------------------------------------------------------------------------------

def load_build(build: Build, videos: Mapping, classes: Sequence[str]) -> dict[str, FamilySignals]:
    """The cached signals.npz (read by ``admfit.files.signals.load_signals``, as ``admfit fit`` reads it) as
    FamilySignals per video, checked against each video's THUMOS'14 grid and the class list."""
    stored = load_signals(build.signals)
    if stored.classes != list(classes):
        raise ValueError(f"{build.signals}: classes {stored.classes} differ from the given {list(classes)}")
    found = {}
    for video, record in videos.items():
        if video not in stored.probs or video not in stored.bg_probs:
            raise ValueError(f"{build.signals}: no class and background probabilities for video {video!r}")
        grid = SnippetGrid(fps=stored.fps[video], stride=stored.stride, num_frames=stored.num_frames)
        expected_grid, num_snippets = thumos14_grid(record)
        probs = stored.probs[video].astype(np.float64)
        bg_probs = stored.bg_probs[video].astype(np.float64)
        if grid != expected_grid or bg_probs.shape != (num_snippets,) or not 1 <= probs.shape[0] <= num_snippets:
            raise ValueError(f"{build.signals}, video {video!r}: signals on {grid} with T = {bg_probs.shape[0]}, "
                             f"T_l = {probs.shape[0]}; its THUMOS'14 grid is {expected_grid} with T = {num_snippets}")
        found[video] = FamilySignals(probs=probs, bg_probs=bg_probs, grid=grid, centres=stored.centres)
    return found


def _check_instances(videos: Mapping) -> None:
    """The features are drawn on the shipped training annotations (``admfit synth``): the videos must be those."""
    shipped = thumos14("train")
    for video, record in videos.items():
        if video not in shipped or shipped[video].instances != record.instances:
            raise ValueError(f"video {video!r}: family (c) needs the shipped THUMOS'14 training annotations "
                             "(its features are drawn from them)")


def make_family(videos: Mapping, classes: Sequence[str], variant: str, seed: int, *, cache_dir: str | Path,
                dim: int = DIM, difficulty: str = DIFFICULTY, overrides: Sequence[str] = (),
                log: Callable[[str], None] = print) -> dict[str, FamilySignals]:
    """Detector signals of ``variant`` (``eE-sS``) on ``videos``, features drawn with ``seed``; built once, cached
    in ``cache_dir``.

    The detector trains on exactly ``videos`` (all 200 training videos for the suite; a few for a test)."""
    _check_instances(videos)
    build = build_variant(list(videos), variant, seed, dim=dim, difficulty=difficulty, overrides=overrides,
                          cache_dir=cache_dir, log=log)
    return load_build(build, videos, classes)
