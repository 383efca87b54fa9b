"""Ablations of ADM-Loc (paper 4.3, Tables 2, 3, 5 and 6) on THUMOS'14-shaped synthetic data.

Every variant is one run folder of the self-training loop (base -> pseudo -> main -> eval, the stage table of
``admfit_torch.run.stages``, driven in-process by ``admfit_torch.Pipeline`` as ``admfit-torch train`` drives it) that
differs from the others only by ``--set``-style overrides; each training seed (``seed=S``) gets its own runs, on the
same data:

- ``points_only``  r_a = 0: the base model on the bare points (Table 3 a; a full run, only its base is read);
- ``default``      r_a = 2 and the full main model (sigma head, lambda_G = 1, r_s = 2): Table 2, Table 3 b,
                   Table 5 r_s = 2, Table 6 last row;
- ``no_new_losses`` sigma head off, lambda_G = 0, r_s = 2: the base model supervised with the sampled
                   pseudo-labels (Table 3 c, Table 6 first row);
- ``gauss_only``   sigma head off, lambda_G = 1 (L_G with the pseudo-label sigmas), r_s = 2 (Table 6 middle row);
- ``rs1``, ``rs4``, ``rs_inf``: the full main model with r_s = 1, 4 and no sampling (Table 5).

The last five share the base model and pseudo-labels of ``default``: ``admfit_torch.fork_run`` copies its finished
base and pseudo stages into the fresh variant folder, so only the main and eval stages run (checked on the stage
records the pipeline returns: both shared stages must be "skipped"). Table 3 also shows, for reference, an untrained
model (``admfit_torch.initial_model``, the base model's initial weights) evaluated the same way.

Cells are mean +- std (sample std over the seeds); the JSON output keeps the per-seed values. The checks at the
end say, for each effect the paper reports, whether the measured mean difference has the paper's direction and
whether it exceeds the seed spread (|mean difference| > the larger of the two cells' std).

``--extra NAME=KEY=VALUE[,KEY=VALUE...]`` (repeatable) adds a diagnostic variant: the full main model of ``default``
with these overrides applied last, sharing ``default``'s base model and pseudo-labels (only its base model when an
override is an ``adm.*`` field: the pseudo stage then fits again). The extras get their own table
("Diagnosis"), each checked against ``default``'s main model; rerunning with more extras reuses every finished run.
``--extras-only`` trains ``default`` and the extras alone and prints that table alone (more seeds for one question).

``python -m benchmarks ablations -- --quick``: one seed, fewer videos and epochs (a smoke run, minutes on 2 CPU
cores). docs/ablations.md holds a default run's tables.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from admfit_torch.run.stages import STAGE_NAMES

# ---- the variants -------------------------------------------------------------------------------------------

DEFAULT_BASE = ("loss.augment_radius=2",)
FULL_MAIN = ("main.sigma_head=true", "main.lambda_gauss=1", "main.sampling_radius=2")
COMMON = ("run.figures=0",)


@dataclass(frozen=True)
class Variant:
    """One run folder per seed: ``base`` overrides (the base model's), ``main`` overrides (the main model's);
    ``shares``: the variant whose finished stages (through ``shares_through``) this one reuses."""

    name: str
    label: str
    base: tuple[str, ...]
    main: tuple[str, ...]
    shares: str | None = None
    shares_through: str = "pseudo"  # the last stage reused from ``shares``: pseudo, or base when adm.* differ

    @property
    def overrides(self) -> tuple[str, ...]:
        return self.base + self.main


VARIANTS: tuple[Variant, ...] = (
    Variant("points_only", "base model, points only (r_a=0)", ("loss.augment_radius=0",), FULL_MAIN),
    Variant("default", "r_a=2; main model with sigma head, L_G, r_s=2", DEFAULT_BASE, FULL_MAIN),
    Variant("no_new_losses", "main model without sigma head and L_G, r_s=2", DEFAULT_BASE,
            ("main.sigma_head=false", "main.lambda_gauss=0", "main.sampling_radius=2"), "default"),
    Variant("gauss_only", "main model with L_G (pseudo-label sigmas), no sigma head, r_s=2", DEFAULT_BASE,
            ("main.sigma_head=false", "main.lambda_gauss=1", "main.sampling_radius=2"), "default"),
    Variant("rs1", "main model, r_s=1", DEFAULT_BASE,
            ("main.sigma_head=true", "main.lambda_gauss=1", "main.sampling_radius=1"), "default"),
    Variant("rs4", "main model, r_s=4", DEFAULT_BASE,
            ("main.sigma_head=true", "main.lambda_gauss=1", "main.sampling_radius=4"), "default"),
    Variant("rs_inf", "main model, no sampling (r_s=inf)", DEFAULT_BASE,
            ("main.sigma_head=true", "main.lambda_gauss=1", "main.sampling_radius=inf"), "default"),
)
UNTRAINED = "untrained"  # pseudo-variant: the base model's initial weights, evaluated on the test subset


def variant(name: str) -> Variant:
    for item in VARIANTS:
        if item.name == name:
            return item
    raise KeyError(name)


def run_order(variants: Sequence[Variant] = VARIANTS) -> list[Variant]:
    """Variants with every shared run before the variants that copy it."""
    ordered: list[Variant] = []
    pending = list(variants)
    while pending:
        ready = [v for v in pending if v.shares is None or any(o.name == v.shares for o in ordered)]
        if not ready:
            raise ValueError("a variant shares a run that is not in the list: "
                             + ", ".join(f"{v.name}->{v.shares}" for v in pending))
        ordered += ready
        pending = [v for v in pending if v not in ready]
    return ordered


def extra_variant(spec: str) -> Variant:
    """``NAME=KEY=VALUE[,KEY=VALUE...]`` -> a diagnostic variant of the full main model sharing ``default``."""
    name, _, sets = spec.partition("=")
    overrides = tuple(part.strip() for part in sets.split(",") if part.strip())
    if not name.isidentifier() or any(name == v.name for v in VARIANTS) or not overrides \
            or any("=" not in part for part in overrides):
        raise ValueError(f"--extra wants NAME=KEY=VALUE[,KEY=VALUE...] with a new NAME, got {spec!r}")
    # new ADM options make new pseudo-labels: only the base model is shared then
    through = "base" if any(part.startswith("adm.") for part in overrides) else SHARED_THROUGH
    return Variant(name, f"{name}: {', '.join(overrides)}", DEFAULT_BASE, FULL_MAIN + overrides, "default", through)


def run_overrides(item: Variant, seed: int, user_sets: Sequence[str] = ()) -> list[str]:
    """The --set list of one run: common, the user's (applied to every run), the seed, then the variant's own
    (last, so that the ablated fields are what the table says)."""
    return [*COMMON, *user_sets, f"seed={seed}", *item.overrides]


# ---- sharing a finished base model --------------------------------------------------------------------------

SHARED_THROUGH = "pseudo"  # a sharing variant reuses these stages (and the ones before) of the run it shares
SHARED_STAGES = STAGE_NAMES[:STAGE_NAMES.index(SHARED_THROUGH) + 1]


def check_shared(outcomes: Sequence, run_dir: Path, through: str = SHARED_THROUGH) -> None:
    """The run of a sharing variant must have skipped the shared stages, those through ``through``
    (``outcomes``: the pipeline's records)."""
    actions = {outcome.name: outcome.action for outcome in outcomes}
    for stage in STAGE_NAMES[:STAGE_NAMES.index(through) + 1]:
        if actions.get(stage) != "skipped":
            raise RuntimeError(f"{run_dir}: the {stage} stage {actions.get(stage, 'did not run')} instead of being "
                               "skipped; the shared base model was not reused")


# ---- the tables ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    label: str
    variant: str
    path: tuple[str, ...]  # into report.json: ("base",), ("main",), ("pseudo_labels", "adm")


@dataclass(frozen=True)
class TableSpec:
    key: str
    title: str
    columns: tuple  # "alpha", "average" or a tIoU (float)
    rows: tuple[Row, ...]
    note: str = ""


DETECTION_COLUMNS = (0.3, 0.5, 0.7, "average")
TABLES: tuple[TableSpec, ...] = (
    TableSpec("table2", "Table 2: pseudo-labels on the training subset (r_a=2 base model)", ("alpha", 0.7, "average"),
              (Row("Base model proposals", "default", ("pseudo_labels", "base_proposals")),
               Row("ADM pseudo-labels", "default", ("pseudo_labels", "adm"))),
              "alpha = proposals per ground-truth instance; mAP (%) against the training ground truth"),
    TableSpec("table3", "Table 3: supervision of the base model (test mAP %)", DETECTION_COLUMNS,
              (Row("(a) only points, r_a=0", "points_only", ("base",)),
               Row("(b) augmented points, r_a=2", "default", ("base",)),
               Row("(c) pseudo-labels, r_s=2", "no_new_losses", ("main",)),
               Row("reference: untrained model", UNTRAINED, ("base",))),
              "(c) is the main stage without sigma head and L_G, on the pseudo-labels of (b)'s base model"),
    TableSpec("table5", "Table 5: pseudo-label sampling radius r_s in the main model (test mAP %)", DETECTION_COLUMNS,
              (Row("r_s=1", "rs1", ("main",)), Row("r_s=2", "default", ("main",)),
               Row("r_s=4", "rs4", ("main",)), Row("r_s=inf (no sampling)", "rs_inf", ("main",)))),
    TableSpec("table6", "Table 6: the proposed losses, r_s=2 (test mAP %)", DETECTION_COLUMNS,
              (Row("no L_sigma, no L_G", "no_new_losses", ("main",)),
               Row("no L_sigma, L_G (pseudo-label sigmas)", "gauss_only", ("main",)),
               Row("L_sigma and L_G", "default", ("main",)))),
    TableSpec("main_vs_base", "ADM-Loc main model against the base model (test mAP %)", DETECTION_COLUMNS,
              (Row("base model (r_a=2)", "default", ("base",)), Row("main model (ADM-Loc)", "default", ("main",)))),
)
DIAGNOSIS_DEFAULT_ROW = "default: main model (sigma head, L_G, r_s=2)"


def diagnosis_table(extras: Sequence[Variant]) -> TableSpec:
    """The extras' main models next to ``default``'s (test mAP %)."""
    return TableSpec("diagnosis", "Diagnosis: variants of the main model (test mAP %)", DETECTION_COLUMNS,
                     (Row(DIAGNOSIS_DEFAULT_ROW, "default", ("main",)),
                      *(Row(item.label, item.name, ("main",)) for item in extras)),
                     "each extra is the default main model with the overrides shown, on default's pseudo-labels, "
                     "or on its own from default's base model when an override is adm.*")


def diagnosis_checks(extras: Sequence[Variant]) -> tuple["Check", ...]:
    return tuple(Check("diagnosis", item.label, DIAGNOSIS_DEFAULT_ROW, "average") for item in extras)


@dataclass(frozen=True)
class Check:
    """The paper's direction: ``better`` beats ``worse`` in ``column`` (lower is better when ``lower``)."""

    table: str
    better: str  # row label
    worse: str
    column: object
    lower: bool = False


CHECKS: tuple[Check, ...] = (
    Check("table2", "ADM pseudo-labels", "Base model proposals", "alpha", lower=True),
    Check("table2", "ADM pseudo-labels", "Base model proposals", 0.7),
    Check("table2", "ADM pseudo-labels", "Base model proposals", "average"),
    Check("table3", "(b) augmented points, r_a=2", "(a) only points, r_a=0", "average"),
    Check("table3", "(c) pseudo-labels, r_s=2", "(b) augmented points, r_a=2", "average"),
    Check("table3", "(c) pseudo-labels, r_s=2", "(b) augmented points, r_a=2", 0.7),
    Check("table5", "r_s=2", "r_s=inf (no sampling)", "average"),
    Check("table5", "r_s=2", "r_s=1", "average"),
    Check("table5", "r_s=2", "r_s=4", "average"),
    Check("table6", "no L_sigma, L_G (pseudo-label sigmas)", "no L_sigma, no L_G", "average"),
    Check("table6", "L_sigma and L_G", "no L_sigma, L_G (pseudo-label sigmas)", "average"),
    Check("table6", "L_sigma and L_G", "no L_sigma, no L_G", "average"),
    Check("table6", "L_sigma and L_G", "no L_sigma, no L_G", 0.7),
    Check("main_vs_base", "main model (ADM-Loc)", "base model (r_a=2)", "average"),
)


def column_name(column) -> str:
    if column == "alpha":
        return "alpha"
    if column == "average":
        return "AVG(0.1:0.7)"
    return f"mAP@{column:g}"


def metric(entry: dict, tious: Sequence[float], column) -> float:
    """One number of a report entry ({"map": [...], "average": ..., "alpha": ...}) for a column."""
    if column == "alpha":
        return float(entry["alpha"])
    if column == "average":
        return float(entry["average"])
    for index, tiou in enumerate(tious):
        if abs(float(tiou) - float(column)) < 1e-6:
            return float(entry["map"][index])
    raise KeyError(f"tIoU {column} is not among the report's {list(tious)}")


def _lookup(report: dict, path: Sequence[str]) -> tuple[dict, Sequence[float]]:
    node, tious = report, report.get("tious", [])
    for part in path:
        node = node[part]
        tious = node.get("tious", tious) if isinstance(node, dict) else tious
    return node, tious


def summarize(values: Sequence[float]) -> dict:
    """mean and sample std (None with fewer than two values)."""
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else None
    return {"mean": mean, "std": std}


def build_tables(reports: dict, specs: Sequence[TableSpec] = TABLES) -> list[dict]:
    """reports: {variant: {seed: report.json dict}} -> the tables with each cell's mean, std and per-seed values.

    A row whose variant has no report is left out."""
    tables = []
    for spec in specs:
        rows = []
        for row in spec.rows:
            runs = reports.get(row.variant) or {}
            if not runs:
                continue
            cells = []
            for column in spec.columns:
                per_seed = {}
                for seed, report in sorted(runs.items()):
                    entry, tious = _lookup(report, row.path)
                    per_seed[str(seed)] = metric(entry, tious, column)
                cells.append({"column": column_name(column), **summarize(list(per_seed.values())),
                              "per_seed": per_seed})
            rows.append({"label": row.label, "source": f"{row.variant}:{'.'.join(row.path)}", "cells": cells})
        tables.append({"key": spec.key, "title": spec.title, "note": spec.note,
                       "columns": [column_name(c) for c in spec.columns], "rows": rows})
    return tables


def _cell(tables: list[dict], key: str, label: str, column) -> dict | None:
    for table in tables:
        if table["key"] != key:
            continue
        for row in table["rows"]:
            if row["label"] == label:
                for cell in row["cells"]:
                    if cell["column"] == column_name(column):
                        return cell
    return None


def evaluate_checks(tables: list[dict], checks: Sequence[Check] = CHECKS) -> list[dict]:
    """Per paper effect: mean paired difference (better - worse, per seed), direction, seeds agreeing, spread."""
    results = []
    for check in checks:
        better, worse = (_cell(tables, check.table, label, check.column) for label in (check.better, check.worse))
        if better is None or worse is None:
            continue
        seeds = [s for s in better["per_seed"] if s in worse["per_seed"]]
        sign = -1.0 if check.lower else 1.0
        diffs = [better["per_seed"][s] - worse["per_seed"][s] for s in seeds]
        mean = sum(diffs) / len(diffs)
        spreads = [c["std"] for c in (better, worse) if c["std"] is not None]
        spread = max(spreads) if len(spreads) == 2 else None
        results.append({
            "table": check.table, "column": column_name(check.column), "better": check.better, "worse": check.worse,
            "lower_is_better": check.lower, "difference": mean, "per_seed": dict(zip(seeds, diffs)),
            "follows_paper": sign * mean > 0, "seeds_agreeing": sum(1 for d in diffs if sign * d > 0),
            "seeds": len(diffs), "spread": spread,
            "exceeds_spread": None if spread is None else abs(mean) > spread})
    return results


def describe_check(result: dict) -> str:
    relation = "<" if result["lower_is_better"] else ">"
    if result["table"] == "diagnosis":  # no paper claim: the extra against default's main model
        direction = "above default" if result["follows_paper"] else "below default"
    else:
        direction = "follows the paper's direction" if result["follows_paper"] else "AGAINST the paper's direction"
    if result["spread"] is None:
        spread = "seed spread n/a (one seed)"
    else:
        spread = (f"{'exceeds' if result['exceeds_spread'] else 'within'} the seed spread "
                  f"(std {result['spread']:.2f})")
    return (f"{result['table']} {result['column']}: {result['better']} {relation} {result['worse']}: "
            f"difference {result['difference']:+.2f}; {direction}; {result['seeds_agreeing']}/{result['seeds']} "
            f"seeds agree; {spread}")


def _format(cell: dict, column: str) -> str:
    digits = 2 if column == "alpha" else 1
    text = f"{cell['mean']:.{digits}f}"
    return text + (f" ± {cell['std']:.{digits}f}" if cell["std"] is not None else "")


def render_text(tables: list[dict]) -> str:
    lines = []
    for table in tables:
        lines += ["", f"## {table['title']}"] + ([f"   ({table['note']})"] if table["note"] else [])
        width = max([len(r["label"]) for r in table["rows"]] + [10])
        lines.append(f"{'':{width}s} " + " ".join(f"{c:>14s}" for c in table["columns"]))
        for row in table["rows"]:
            lines.append(f"{row['label']:{width}s} "
                         + " ".join(f"{_format(cell, cell['column']):>14s}" for cell in row["cells"]))
    return "\n".join(lines)


def render_markdown(tables: list[dict], checks: list[dict], header: Iterable[str] = ()) -> str:
    lines = list(header)
    for table in tables:
        lines += ["", f"### {table['title']}", ""]
        if table["note"]:
            lines += [f"_{table['note']}_", ""]
        lines.append("| | " + " | ".join(table["columns"]) + " |")
        lines.append("|---" * (len(table["columns"]) + 1) + "|")
        for row in table["rows"]:
            lines.append(f"| {row['label']} | " + " | ".join(_format(c, c["column"]) for c in row["cells"]) + " |")
    if checks:
        lines += ["", "### The paper's effects", ""] + [f"- {describe_check(c)}" for c in checks]
    return "\n".join(lines) + "\n"


# ---- running ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Data:
    features: Path
    annotations: Path
    points: Path


def fingerprint(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:10]


GENERATORS = ("synthetic", "independent")  # admfit synth; admfit.synthetic.families.independent_features


def make_data(work: Path, videos: int, dim: int, data_seed: int, generator: str = "synthetic",
              variant: str | None = None) -> Data:
    """The data of the runs from ``generator``, cached in ``work`` by its settings: ``synthetic``, THUMOS'14-shaped
    synthetic features (admfit synth --like thumos14 --mode features); ``independent``, the second feature family
    (``variant`` one of its VARIANTS, default medium) on the real THUMOS'14 annotations and points."""
    if generator == "independent":
        return _independent_data(work, videos, dim, data_seed, variant)
    if generator != "synthetic" or variant is not None:
        raise ValueError(f"unknown generator {generator!r} or a variant for it ({variant!r})")
    from admfit.synthetic.build import SynthOptions, synthesize

    folder = work / f"data-{fingerprint('synth', videos, dim, data_seed)}"
    if not (folder / "synth.json").is_file():
        partial = folder.with_name(folder.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        synthesize(partial, SynthOptions(like="thumos14", mode="features", dim=dim, seed=data_seed,
                                         max_videos=videos, overwrite=True))
        shutil.rmtree(folder, ignore_errors=True)
        partial.rename(folder)
    return Data(folder / "features", folder / "annotations.json", folder / "points.csv")


USER_DATA = ("features", "annotations.json", "points.csv")  # the layout admfit synth writes


def user_data(folder: Path) -> tuple[Data, int]:
    """A user's own data in the layout ``admfit synth`` writes (``features/VIDEO.npy``, ``annotations.json``,
    ``points.csv``: the files ``admfit-torch train --features --annotations --points`` takes) and its features'
    width; a folder that lacks one is refused naming it."""
    import numpy as np

    from admfit.errors import InputError

    missing = next((name for name in USER_DATA if not (folder / name).exists()), None)
    if missing is not None:
        raise InputError(f"has no {missing} (--data wants {', '.join(USER_DATA)})", file=str(folder), field="data")
    first = next((folder / "features").glob("*.npy"), None)
    if first is None:
        raise InputError("holds no VIDEO.npy", file=str(folder / "features"), field="features")
    return Data(folder / "features", folder / "annotations.json", folder / "points.csv"), \
        int(np.load(first, mmap_mode="r").shape[1])


def _independent_data(work: Path, videos: int, dim: int, data_seed: int, variant: str | None) -> Data:
    from dataclasses import asdict

    from admfit.synthetic.families.independent_features import DEFAULT_VARIANT, params_of, write_dataset

    variant = variant or DEFAULT_VARIANT
    # the variant's parameters too: data written before a parameter changed is not reused
    folder = work / f"data-{fingerprint('independent', variant, asdict(params_of(variant)), videos, dim, data_seed)}"
    if not (folder / "generator.json").is_file():  # written last: the folder is complete
        shutil.rmtree(folder, ignore_errors=True)
        return Data(*write_dataset(folder, videos=videos, dim=dim, seed=data_seed, variant=variant))
    return Data(folder / "features", folder / "annotations.json", folder / "points.csv")


def code_version() -> str:
    """Where the training code comes from, with its git commit and uncommitted changes when it is a checkout."""
    import admfit_torch

    root = Path(admfit_torch.__file__).resolve().parents[1]
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--", "admfit", "admfit_torch",
                                "admfit_cli"], capture_output=True, text=True, check=True).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        return f"{root} (not a git checkout)"
    return f"{root} at git {commit}" + (f" with {len(dirty)} uncommitted package file(s)" if dirty else "")


def runs_root(work: Path, data: Data, config: str, user_sets: Sequence[str]) -> Path:
    """WORK/runs-<hash>: the run folders (``seed<S>/<variant>``) of one data set, config and user overrides."""
    return work / f"runs-{fingerprint(str(data.features), config, list(user_sets))}"


def run_config(data: Data, config: str, sets: Sequence[str], device: str | None):
    """The DetectorConfig of one run: the preset or file, the overrides, the device and the data paths, as
    ``admfit-torch train --config --set --device --features --annotations --points`` builds it."""
    from admfit_torch.run.request import train_config

    return train_config(config, sets, device, features=data.features, annotations=data.annotations,
                        points=data.points)


def train(run_dir: Path, cfg) -> tuple[list, float]:
    """Run every stage in ``run_dir``; the stage records and the wall seconds. The log goes to RUN/ablation.log."""
    from admfit_torch.run.request import train_run

    run_dir.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    with open(run_dir / "ablation.log", "a", encoding="utf-8") as log:
        log.write(f"$ stages {' '.join(STAGE_NAMES)} in {run_dir}\n")
        trained = train_run(cfg, run_dir, show_progress=False, log=lambda line: log.write(line + "\n"))
    return trained.outcomes, time.perf_counter() - began


def admfit_sets(args, epochs: int) -> list[str]:
    """The --set list of admfit's runs (the ablation runner's; a user's --data also sets its features' width).
    ``args``: input_length, data (a folder or None), dim."""
    sets = [f"data.input_length={args.input_length}", f"optim.epochs={epochs}"]
    return sets + ([f"model.input_dim={args.dim}"] if args.data is not None else [])


def default_run(args, work: Path, data: Data, seed: int, log) -> tuple[object, Path, dict]:
    """The ablation runner's ``default`` run of ``seed``, trained through every stage (skipped where done): (config,
    folder, report). ``args``: config, epochs, device and ``admfit_sets``'s; used by peer_detector and auto_on_runs."""
    from admfit_torch import RunLayout

    user_sets = admfit_sets(args, args.epochs)
    default = variant("default")
    cfg = run_config(data, args.config, run_overrides(default, seed, user_sets), args.device)
    run_dir = runs_root(work, data, args.config, user_sets) / f"seed{seed}" / default.name
    _, seconds = train(run_dir, cfg)
    report = json.loads(RunLayout(run_dir).report_json.read_text(encoding="utf-8"))
    log(f"seed {seed}: admfit default run {seconds:.0f} s ({run_dir}); base AVG {report['base']['average']:.1f}, "
        f"main AVG {report['main']['average']:.1f}")
    return cfg, run_dir, report


def detect_and_score_test(model, cfg, classes, data: Data, device: str | None) -> tuple[dict, "DetectionResult"]:
    """``model`` detected on the test subset of ``data`` and scored like the eval stage: (results document,
    DetectionResult)."""
    from admfit_torch.run.request import adjusted, detect_subset

    found = detect_subset(model, adjusted(cfg, (), device), classes, data.features, data.annotations,
                          cfg.run.test_subset)
    return found.document, found.score()


def untrained_report(run_dir: Path, data: Data, device: str | None) -> dict:
    """report.json-shaped {"tious", "base"} of the base model's initial weights (as the base stage starts from
    them), detected and scored on the test subset like the eval stage."""
    from admfit_torch import RunLayout, initial_model, load_point_detector
    from admfit_torch.run.report import detection_summary

    _, cfg, classes = load_point_detector(RunLayout(run_dir).base_checkpoint)
    document, result = detect_and_score_test(initial_model(cfg, len(classes)).eval(), cfg, classes, data, device)
    return {"tious": [float(t) for t in result.tious],
            "base": detection_summary(result, sum(len(v) for v in document["results"].values()))}


def variants_to_run(args) -> list[Variant]:
    """Every variant and ``args.extra`` (``default`` alone with them when ``args.extras_only``), shared runs
    first."""
    extras = tuple(getattr(args, "extra", ()) or ())
    variants = (variant("default"),) if getattr(args, "extras_only", False) else VARIANTS
    return run_order([*variants, *extras])


def run_all(args, work: Path, log=print) -> dict:
    """Every variant for every seed; {"reports": {variant: {seed: report}}, "runs": [...]}."""
    from admfit_torch import RunLayout, fork_run

    data = make_data(work, args.videos, args.dim, args.data_seed, args.generator, args.variant)
    user_sets = [f"data.input_length={args.input_length}", f"optim.epochs={args.epochs}",
                 *([f"optim.warmup_epochs={args.warmup}"] if args.warmup is not None else []), *args.set]
    root = runs_root(work, data, args.config, user_sets)
    reports: dict = {}
    runs: list[dict] = []
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    for seed in seeds:
        for item in variants_to_run(args):
            run_dir = root / f"seed{seed}" / item.name
            sets = run_overrides(item, seed, user_sets)
            if item.shares is not None and not RunLayout(run_dir).state.exists():
                fork_run(root / f"seed{seed}" / item.shares, run_dir, through=item.shares_through)
            outcomes, seconds = train(run_dir, run_config(data, args.config, sets, args.device))
            if item.shares is not None:
                check_shared(outcomes, run_dir, item.shares_through)
            report = json.loads(RunLayout(run_dir).report_json.read_text(encoding="utf-8"))
            reports.setdefault(item.name, {})[seed] = report
            runs.append({"variant": item.name, "seed": seed, "folder": str(run_dir), "wall_seconds": round(seconds, 1),
                         "stage_seconds": report.get("seconds", {}), "sets": sets,
                         "base_average": report["base"]["average"], "main_average": report["main"]["average"]})
            log(f"seed {seed} {item.name:14s} {seconds:6.1f} s  base AVG {report['base']['average']:5.1f}  "
                f"main AVG {report['main']['average']:5.1f}" + ("  (base shared)" if item.shares else ""))
        began = time.perf_counter()
        reports.setdefault(UNTRAINED, {})[seed] = untrained_report(root / f"seed{seed}" / "default", data,
                                                                   args.device)
        log(f"seed {seed} {UNTRAINED:14s} {time.perf_counter() - began:6.1f} s  "
            f"AVG {reports[UNTRAINED][seed]['base']['average']:5.1f}")
    return {"reports": reports, "runs": runs, "data": str(data.annotations.parent), "runs_root": str(root),
            "seeds": seeds}


QUICK = {"seeds": 1, "videos": 20, "epochs": 20, "input_length": 256}
DEFAULT = {"seeds": 3, "videos": 60, "epochs": 30, "input_length": 256}


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that choose the runner's data, shared by the benchmarks that reuse its runs (main_vs_base,
    peer_detector)."""
    parser.add_argument("--dim", type=int, default=64, help="synthetic feature dimension (model.input_dim)")
    parser.add_argument("--data-seed", type=int, default=0, help="seed of the synthetic data (same for all runs)")
    parser.add_argument("--generator", choices=GENERATORS, default="synthetic",
                        help="the data family: synthetic (admfit synth) or independent (docs/ablations.md, the second "
                        "feature generator)")
    parser.add_argument("--variant", default=None, help="the independent generator's variant (medium, hard; default "
                        "medium)")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks ablations", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: {QUICK['seeds']} seed, {QUICK['videos']} videos, {QUICK['epochs']} epochs")
    parser.add_argument("--seeds", type=int, default=None, help=f"training seeds (default {DEFAULT['seeds']})")
    parser.add_argument("--first-seed", type=int, default=0, help="seeds are FIRST .. FIRST+N-1")
    parser.add_argument("--videos", type=int, default=None,
                        help=f"synthetic videos per subset (default {DEFAULT['videos']})")
    parser.add_argument("--epochs", type=int, default=None, help=f"optim.epochs (default {DEFAULT['epochs']})")
    parser.add_argument("--warmup", type=int, default=None, help="optim.warmup_epochs (default: the config's)")
    parser.add_argument("--input-length", type=int, default=None,
                        help=f"data.input_length (default {DEFAULT['input_length']})")
    add_data_arguments(parser)
    parser.add_argument("--config", default="cpu-small", help="preset name or YAML file of the training command")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="config override applied to every run (repeatable), e.g. for a bigger GPU preset")
    parser.add_argument("--extra", action="append", default=[], metavar="NAME=KEY=VALUE[,KEY=VALUE...]",
                        help="a diagnostic variant: the default main model with these overrides, on default's "
                        "pseudo-labels (adm.* overrides: its own, from default's base model; repeatable; its own "
                        "table, checked against default)")
    parser.add_argument("--extras-only", action="store_true",
                        help="train default and the --extra variants alone (the diagnosis table and its checks)")
    parser.add_argument("--device", default=None, help="auto, cpu, cuda, cuda:N (default: the config's)")
    parser.add_argument("--work", type=Path, default=None, help="keep the data and runs here (default: a temporary "
                        "folder, removed at the end); rerunning with the same settings reuses finished runs")
    parser.add_argument("--json", type=Path, default=None, help="write the tables, per-seed values and runs here")
    parser.add_argument("--markdown", type=Path, default=None, help="write the tables as markdown here")
    args = parser.parse_args(list(argv or []))
    defaults = QUICK if args.quick else DEFAULT
    for name in ("seeds", "videos", "epochs", "input_length"):
        if getattr(args, name) is None:
            setattr(args, name, defaults[name])
    if args.seeds < 1 or args.videos < 1 or args.epochs < 1:
        parser.error("--seeds, --videos and --epochs must be at least 1")
    try:
        args.extra = [extra_variant(spec) for spec in args.extra]
    except ValueError as error:
        parser.error(str(error))
    if len({item.name for item in args.extra}) != len(args.extra):
        parser.error("--extra names must differ")
    if args.extras_only and not args.extra:
        parser.error("--extras-only needs at least one --extra")
    if args.generator == "independent":
        from admfit.synthetic.families.independent_features import DEFAULT_VARIANT, VARIANTS

        args.variant = args.variant or DEFAULT_VARIANT
        if args.variant not in VARIANTS:
            parser.error(f"--variant must be one of {', '.join(VARIANTS)}, got {args.variant!r}")
    elif args.variant is not None:
        parser.error("--variant applies to --generator independent only")
    return args


def main(argv: Sequence[str] | None = None) -> dict:
    from admfit.files.atomic import atomic_write_text

    args = parse_args(argv)
    command = "python -m benchmarks ablations -- " + " ".join(argv or [])
    family = f"{args.generator}/{args.variant} " if args.variant else ""  # the synthetic line as it always was
    settings = (f"config {args.config}, {args.videos} videos per subset ({family}data seed {args.data_seed}, "
                f"dim {args.dim}), input_length {args.input_length}, {args.epochs} epochs, seeds "
                f"{args.first_seed}..{args.first_seed + args.seeds - 1}"
                + (f", --set {' '.join(args.set)}" if args.set else "") + (f", device {args.device}" if args.device else ""))
    code = code_version()
    print(f"ablations: {settings}\ncode: {code}", flush=True)
    began = time.perf_counter()
    temporary = None
    if args.work is None:
        temporary = tempfile.mkdtemp(prefix="admfit-ablations-")
        work = Path(temporary)
    else:
        work = args.work
        work.mkdir(parents=True, exist_ok=True)
    try:
        result = run_all(args, work, log=lambda line: print(line, flush=True))
    finally:
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)
    wall = time.perf_counter() - began
    specs = (*(() if args.extras_only else TABLES), *((diagnosis_table(args.extra),) if args.extra else ()))
    tables = build_tables(result["reports"], specs)
    checks = evaluate_checks(tables, (() if args.extras_only else CHECKS) + diagnosis_checks(args.extra))
    print(render_text(tables))
    print("\n## The paper's effects (difference = mean over seeds of the per-seed difference)")
    for check in checks:
        print("- " + describe_check(check))
    print(f"\n({wall:.0f} s wall)", flush=True)
    document = {"command": command, "settings": settings, "code": code, "seeds": result["seeds"], "wall_seconds": round(wall, 1),
                "tables": tables, "checks": checks, "runs": result["runs"],
                "work": None if temporary else str(work)}
    if args.json is not None:
        atomic_write_text(args.json, json.dumps(document, indent=1))
    if args.markdown is not None:
        header = [f"Command: `{command}`", "", f"Settings: {settings}", "", f"Code: {code}", "",
                  f"Wall time: {wall:.0f} s"]
        atomic_write_text(args.markdown, render_markdown(tables, checks, header))
    return document


if __name__ == "__main__":
    main(sys.argv[1:])
