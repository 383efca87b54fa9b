"""The label files ``benchmarks.peer_detector`` trains ActionFormer on, one maker per row.

Each maker writes ActionFormer's annotation JSON (``admfit.files.export``, as ``admfit export --to actionformer
--features FEATURES`` writes it): the training videos under the row's labels, the test videos under their
annotations (ActionFormer is evaluated on them by admfit's evaluator, not trained on them). The rows' labels:

- ``ground_truth``: the annotations themselves;
- ``pseudo``: the default run's ``RUN/base/pseudo_labels.json`` (its base model's signals, the run's ADM);
- ``confident``: those pseudo-labels whose confidence (as this admfit computes it) is at least their lower
  quartile (a filter: ActionFormer has no per-label loss weight to take it);
- ``paper``: the paper's ADM (``ADMConfig.paper()``, ``admfit fit --paper``) fitted on the same signals
  (``RUN/base/signals.npz``) and clicks;
- ``fixed``: the fixed ADM defaults (``ADMConfig(tuning="off")``, ``admfit fit --tuning off``) on the same signals
  and clicks: what self-tuning changes in ``pseudo``;
- ``clicks``: each click a ``CLICK_WIDTH_S`` segment centred on it, the naive baseline;
- ``truth_<kind>``: the pseudo-labels with one kind of error replaced by the truth (``replaced``), to price each
  kind;
- ``second_round``: ADM refitted on the signals of an ActionFormer trained on ``pseudo`` (the ``actionformer``
  detector plug-in, ``admfit label --detector actionformer``).

Label rows are ``{"video", "label", "start_s", "end_s"}`` in seconds, as ``admfit.files.export`` takes them.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from . import ablations
from ._stats import spearman

CLICK_WIDTH_S = 2.0
CONFIDENT_QUANTILE = 0.25  # ``confident`` drops the lowest-confidence quarter of the pseudo-labels
# A label that covers more than this share of an instance other than its own has merged it (``truth_merges``).
MERGED_SHARE = 0.5


@dataclass(frozen=True)
class Source:
    """What one seed's label files are made from: the data, the default run's config and folder, and the folder
    the files go to."""

    data: ablations.Data
    cfg: object  # the default run's DetectorConfig
    run_dir: Path
    folder: Path

    @property
    def stem(self) -> str:
        """The run's runs-<hash>/seedN, in file names: one file per run."""
        return f"{self.run_dir.parent.parent.name}-{self.run_dir.parent.name}"


def vocabulary(data: ablations.Data) -> tuple[dict, list[str]]:
    """Every video's annotation record and the class names in class-id order."""
    from admfit.datasets.shipped import open_annotations
    from admfit.datasets.shipped import vocabulary as dataset_vocabulary

    records = open_annotations(data.annotations)
    return records, dataset_vocabulary(records, None, file=data.annotations)


def subset_records(data: ablations.Data, subset: str) -> dict:
    from admfit.datasets.shipped import open_annotations

    return open_annotations(data.annotations, subset=subset)


def write_document(rows: Sequence[dict] | None, source: Source, out: Path, labels_file=None) -> Path:
    """ActionFormer's annotation file of ``rows`` (None: every video keeps its annotations) -> ``out``."""
    from admfit.files.atomic import atomic_write_text
    from admfit.files.export import export_annotations

    records, names = vocabulary(source.data)
    document = export_annotations(list(rows or []), records, names, "actionformer", pseudo_file=labels_file,
                                  annotations_file=str(source.data.annotations), features=source.data.features)
    atomic_write_text(out, json.dumps(document))
    return out


def pipeline_rows(source: Source) -> list[dict]:
    """The default run's pseudo-labels (``RUN/base/pseudo_labels.json``), as ``read_pseudo_labels`` gives them."""
    from admfit.files.pseudo_labels import read_pseudo_labels
    from admfit_torch import RunLayout

    rows, _ = read_pseudo_labels(RunLayout(source.run_dir).pseudo_labels)
    return rows


# ---- the rows --------------------------------------------------------------------------------------------------

def ground_truth(source: Source) -> Path:
    return write_document(None, source, source.folder / "gt.json")


def pseudo(source: Source) -> Path:
    """``admfit export RUN/base/pseudo_labels.json --to actionformer --features FEATURES``."""
    from admfit.files.export import export_file
    from admfit_torch import RunLayout

    out = source.folder / f"pseudo-{source.stem}.json"
    export_file(RunLayout(source.run_dir).pseudo_labels, "actionformer", out, features=source.data.features)
    return out


def confident(source: Source) -> Path:
    """(b) less its lowest-confidence quarter, by the confidence this admfit gives (b)'s labels (``refitted_rows``):
    a run folder's file keeps the confidence of the admfit that wrote it."""
    rows = refitted_rows(source)
    floor = float(np.quantile([row["confidence"] for row in rows], CONFIDENT_QUANTILE))
    kept = [row for row in rows if row["confidence"] >= floor]
    return write_document(kept, source, source.folder / f"confident-{source.stem}.json")


def click_rates_of(source: Source):
    """The clicks' native rates as the pipeline reads them (``run.points_fps``; admfit.datasets.rates)."""
    from admfit.datasets.rates import click_rates

    records, _ = vocabulary(source.data)
    return click_rates(source.cfg.run.points_fps, annotations=records, annotations_file=source.data.annotations)


def training_points(source: Source, classes: Sequence[str], videos) -> tuple[list, list[str] | None]:
    """The clicks of ``videos``, read as the pipeline reads them (frames at ``run.points_fps``)."""
    from admfit.files.points import load_point_file

    points, point_classes = load_point_file(source.data.points, classes=classes, rates=click_rates_of(source))
    wanted = set(videos)
    return [point for point in points if point.video in wanted], point_classes


def fitted_rows(source: Source, config) -> tuple[list[dict], Path]:
    """``admfit fit RUN/base/signals.npz CLICKS`` with ``config`` (an ADMConfig): (its rows, the signals file)."""
    found, signals_file = fits_of(source, {"": config})
    return found[""].rows, signals_file


def fit_inputs(source: Source) -> tuple[object, list, list[str] | None, Path]:
    """What ``admfit fit RUN/base/signals.npz CLICKS`` reads: (the SignalSet, the training videos' clicks, their
    class names, the signals file)."""
    from admfit.files.signals import load_signals
    from admfit_torch import RunLayout

    signals_file = RunLayout(source.run_dir).signals
    signals = load_signals(signals_file)
    points, point_classes = training_points(source, signals.classes, signals.probs)
    return signals, points, point_classes, signals_file


def fits_of(source: Source, configs: dict) -> tuple[dict, Path]:
    """``admfit fit RUN/base/signals.npz CLICKS`` with each of ``configs`` ({name: ADMConfig}), the signals and
    clicks read once: ({name: admfit.labelling.FitOutcome}, the signals file)."""
    from admfit.labelling import fit_signals

    signals, points, point_classes, signals_file = fit_inputs(source)
    return {name: fit_signals(signals, points, point_classes, config=config, signals_file=signals_file,
                              points_file=source.data.points)
            for name, config in configs.items()}, signals_file


def refitted_rows(source: Source) -> list[dict]:
    """The default run's pseudo-labels fitted again with the run's ADM options: the labels of
    ``RUN/base/pseudo_labels.json`` (checked, label by label), with this admfit's confidence."""
    rows, _ = fitted_rows(source, source.cfg.adm)
    recorded = pipeline_rows(source)
    fields = ("video", "label", "start_s", "end_s")
    if [tuple(row[f] for f in fields) for row in rows] != [tuple(row[f] for f in fields) for row in recorded]:
        raise RuntimeError(f"{source.run_dir}: refitting the run's signals does not give its pseudo-labels")
    return rows


def paper(source: Source) -> Path:
    """``admfit fit RUN/base/signals.npz CLICKS --paper``."""
    from admfit.fit.config import ADMConfig

    return _refitted_document(source, ADMConfig.paper(), "paper")


def fixed(source: Source) -> Path:
    """``admfit fit RUN/base/signals.npz CLICKS --tuning off``: the fixed defaults, the pseudo stage's options before
    self-tuning became its default (662955b), on the same signals as ``pseudo``."""
    from admfit.fit.config import ADMConfig

    return _refitted_document(source, ADMConfig(tuning="off"), "fixed")


def _refitted_document(source: Source, config, name: str) -> Path:
    rows, signals_file = fitted_rows(source, config)
    return write_document(rows, source, source.folder / f"{name}-{source.stem}.json", signals_file)


def clicks(source: Source) -> Path:
    from admfit.datasets import load_points
    from admfit.files.export import click_segments

    records, names = vocabulary(source.data)
    training = set(subset_records(source.data, source.cfg.run.train_subset))
    points = [p for p in load_points(source.data.points, fps=click_rates_of(source), classes=names)
              if p.video in training]
    rows = click_segments(points, CLICK_WIDTH_S, {video: record.duration_s for video, record in records.items()})
    return write_document(rows, source, source.folder / "clicks.json", source.data.points)


# ---- attribution: one kind of error replaced by the truth ----------------------------------------------------------

def _overlap(a: tuple[float, float], b: tuple[float, float]) -> float:
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0]))


def _tiou(a: tuple[float, float], b: tuple[float, float]) -> float:
    return _overlap(a, b) / (max(a[1], b[1]) - min(a[0], b[0]))


def match(rows: Sequence[dict], records: dict) -> list[int | None]:
    """For each label, the index (in its video's instances) of the instance of its class holding its click (the
    one it overlaps most when several do), None when none does."""
    matched = []
    for row in rows:
        instances = records[row["video"]].instances
        holding = [i for i, inst in enumerate(instances)
                   if inst.label == row["label"] and inst.start_s <= row["point_s"] <= inst.end_s]
        span = (row["start_s"], row["end_s"])
        matched.append(max(holding, key=lambda i: _tiou(span, (instances[i].start_s, instances[i].end_s)))
                       if holding else None)
    return matched


def _merged(row: dict, own: int | None, instances) -> bool:
    span = (row["start_s"], row["end_s"])
    return any(i != own and _overlap(span, (inst.start_s, inst.end_s)) > MERGED_SHARE * (inst.end_s - inst.start_s)
               for i, inst in enumerate(instances))


def census(rows: Sequence[dict], records: dict) -> dict:
    """How many labels carry each kind of error: unmatched (no instance of its class holds the click), class (the
    click lies in an instance of another class only), the matched labels' extent errors (``extent_error``: merges,
    long, short, else exact), missed (instances of the labelled videos no label matched); the mean tIoU of the labels
    with their instance (0 when unmatched), the median length of a matched label over its instance's, and the
    Spearman correlation of the labels' confidence with that tIoU."""
    matched = match(rows, records)
    tious, ratios = [], []
    kinds = Counter(dict.fromkeys([*EXTENT_ERRORS, "exact", "unmatched", "class"], 0))
    for row, own in zip(rows, matched):
        instances = records[row["video"]].instances
        if own is None:
            kinds["unmatched"] += 1
            kinds["class"] += any(inst.start_s <= row["point_s"] <= inst.end_s for inst in instances)
            tious.append(0.0)
            continue
        kinds[extent_error(row, own, instances) or "exact"] += 1
        truth = (instances[own].start_s, instances[own].end_s)
        tious.append(_tiou((row["start_s"], row["end_s"]), truth))
        ratios.append((row["end_s"] - row["start_s"]) / (truth[1] - truth[0]))
    hit = {(row["video"], own) for row, own in zip(rows, matched) if own is not None}
    videos = {row["video"] for row in rows}
    instances = sum(len(records[video].instances) for video in videos)
    return {"labels": len(rows), "instances": instances, "missed": instances - len(hit), **kinds,
            "mean_tiou": float(np.mean(tious)), "median_length_ratio": float(np.median(ratios)),
            "confidence_spearman": spearman([row["confidence"] for row in rows], tious)}


def extent_error(row: dict, own: int | None, instances) -> str | None:
    """What is wrong with a label's extent: ``merges`` (it covers over MERGED_SHARE of another instance),
    else ``long`` or ``short`` (longer or shorter than its instance), None when unmatched or exact."""
    if own is None:
        return None
    if _merged(row, own, instances):
        return "merges"
    length, truth = row["end_s"] - row["start_s"], instances[own].end_s - instances[own].start_s
    return "long" if length > truth else "short" if length < truth else None


def replaced(rows: Sequence[dict], records: dict, kind: str) -> list[dict]:
    """``rows`` with one kind of error replaced by the truth: ``boundaries`` (every matched label takes its
    instance's start and end), ``merges``, ``long`` or ``short`` (only the matched labels with that extent error,
    ``extent_error``, do: the three together make ``boundaries``), ``missed`` (the instances no label matched are
    added, with their own class and boundaries)."""
    if kind not in ("boundaries", "missed", *EXTENT_ERRORS):
        raise ValueError(f"unknown kind of error {kind!r}")
    matched = match(rows, records)
    out = []
    for row, own in zip(rows, matched):
        instances = records[row["video"]].instances
        fix = own is not None and kind in ("boundaries", extent_error(row, own, instances))
        out.append({**row, "start_s": instances[own].start_s, "end_s": instances[own].end_s} if fix else dict(row))
    if kind == "missed":
        hit = {(row["video"], own) for row, own in zip(rows, matched)}
        for video in sorted({row["video"] for row in rows}):
            out += [{"video": video, "label": inst.label, "start_s": inst.start_s, "end_s": inst.end_s}
                    for i, inst in enumerate(records[video].instances) if (video, i) not in hit]
    return out


EXTENT_ERRORS = ("merges", "long", "short")
# kind -> what its row of benchmarks.peer_detector trains on
ATTRIBUTED = {"boundaries": "every matched label on its instance's boundaries",
              "merges": "labels that merge another instance on their own's boundaries",
              "long": "too-long labels (merging none) on their instance's boundaries",
              "short": "too-short labels on their instance's boundaries",
              "missed": "the instances no label matched added"}


def truth_replaced(kind: str):
    """The maker of the row ``truth_<kind>``."""
    def make(source: Source) -> Path:
        records, _ = vocabulary(source.data)
        rows = replaced(pipeline_rows(source), records, kind)
        return write_document(rows, source, source.folder / f"truth_{kind}-{source.stem}.json")
    return make


# ---- a probe: labels cut at the neighbouring clicks ---------------------------------------------------------------

def cut_at_clicks(rows: Sequence[dict]) -> list[dict]:
    """``rows`` with each label that holds another click of its video (of any class: the fit's ``split_at_points``
    sees its own class only) cut at the midpoint between the two clicks: GT-free, aimed at the labels that merge
    a neighbouring instance of another class."""
    clicks: dict[str, list[float]] = {}
    for row in rows:
        clicks.setdefault(row["video"], []).append(row["point_s"])
    out = []
    for row in rows:
        point, others = row["point_s"], clicks[row["video"]]
        start, end = row["start_s"], row["end_s"]
        after = min((q for q in others if q > point), default=None)
        before = max((q for q in others if q < point), default=None)
        if after is not None and end > after:
            end = (point + after) / 2
        if before is not None and start < before:
            start = (point + before) / 2
        out.append({**row, "start_s": start, "end_s": end})
    return out


def cut(source: Source) -> Path:
    return write_document(cut_at_clicks(pipeline_rows(source)), source, source.folder / f"cut-{source.stem}.json")


# ---- the second round ------------------------------------------------------------------------------------------

def second_round(source: Source, checkpoint: Path, config_file: Path) -> Path:
    """ADM refitted on the signals of the ActionFormer in ``checkpoint`` (trained on ``pseudo``), as
    ``admfit label --detector actionformer --detector-arg checkpoint=... --points CLICKS --videos TRAINING``
    makes them, then exported like ``pseudo``."""
    from admfit.files.atomic import atomic_write_text
    from admfit.files.export import export_file
    from admfit.labelling import label_features
    from admfit_torch.peer_actionformer import make_detector

    _, names = vocabulary(source.data)
    classes_file = source.folder / "classes.txt"
    atomic_write_text(classes_file, "\n".join(names) + "\n")
    videos_file = source.folder / "training_videos.txt"
    atomic_write_text(videos_file, "\n".join(sorted(subset_records(source.data, source.cfg.run.train_subset))) + "\n")
    labelled = source.folder / f"second_round-{source.stem}"
    if not (labelled / "pseudo_labels.json").is_file():
        detector = make_detector(checkpoint, config_file, classes=str(classes_file))
        label_features(detector, "actionformer", source.data.features, source.data.points, labelled,
                       annotations=source.data.annotations, config=source.cfg.adm,
                       points_fps=source.cfg.run.points_fps, videos=videos_file)
    out = source.folder / f"second_round-{source.stem}.json"
    export_file(labelled / "pseudo_labels.json", "actionformer", out, features=source.data.features)
    return out
