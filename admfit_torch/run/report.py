"""The run report: each stage's numbers as tables (markdown) and as JSON (``report.json``), plus figures.

Tables follow the paper: the detection mAP of the base and main models with the average over every tIoU of
``run.tious`` (the columns: Table 1's for ActivityNet's 0.5:0.95, i.e. 0.5, 0.75 and 0.95; every threshold
otherwise, ``admfit.evaluation.table_columns``), and the pseudo-label quality of Table 2 (alpha = proposals
per ground-truth instance, mAP) for the base model's proposals and for the ADM pseudo-labels on the
training subset. ``report.json`` holds every threshold (``map`` in the order of ``tious``, and ``by_tiou``).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from admfit.evaluation.thresholds import table_columns
from admfit.files.atomic import atomic_write_text


def detection_summary(result, num_detections: int, path: Path | None = None) -> dict:
    """mAP at each tIoU (percent) and their average, from an admfit.evaluation DetectionResult."""
    summary = {"map": [round(100 * float(m), 2) for m in result.map], "average": round(100 * result.average, 2),
               "by_tiou": {f"{float(t):g}": round(100 * float(m), 2) for t, m in zip(result.tious, result.map)},
               "num_detections": int(num_detections)}
    if path is not None:
        summary["detections"] = str(path)
    return summary


def quality_summary(quality) -> dict:
    """Table 2 of one pseudo-label set: alpha, mAP (percent) and the mean tIoU with each point's instance."""
    summary = detection_summary(quality.detection, quality.num_pseudo_labels)
    summary.update({"alpha": round(float(quality.alpha), 3), "num_ground_truth": int(quality.num_ground_truth),
                    "mean_tiou": None if quality.mean_tiou is None else round(100 * quality.mean_tiou, 2)})
    return summary


def proposals_summary(result, num_proposals: int, num_ground_truth: int) -> dict:
    """Table 2 of detector proposals: alpha = proposals / instances, mAP (percent)."""
    summary = detection_summary(result, num_proposals)
    summary.update({"alpha": round(num_proposals / max(num_ground_truth, 1), 3), "num_ground_truth": num_ground_truth,
                    "mean_tiou": None})
    return summary


def _row(name: str, entry: dict, tious: Sequence[float], extra: Sequence[str] = ()) -> str:
    """One table row: ``entry``'s mAP at the table columns of ``tious``, then its average over all of them."""
    at = dict(zip((round(float(t), 10) for t in tious), entry["map"]))
    cells = [name, *extra, *(f"{at[t]:.1f}" for t in table_columns(tious)), f"**{entry['average']:.1f}**"]
    return "| " + " | ".join(cells) + " |"


def _header(first: Sequence[str], tious: Sequence[float]) -> list[str]:
    names = [*first, *(f"mAP@{t:g}" for t in table_columns(tious)), f"AVG ({min(tious):g}:{max(tious):g})"]
    return ["| " + " | ".join(names) + " |", "|" + "---|" * len(names)]


def _columns_note(tious: Sequence[float]) -> list[str]:
    shown = table_columns(tious)
    if len(shown) == len(tious):
        return []
    return ["", f"Columns as in the paper's Table 1; AVG is the mean over all {len(tious)} thresholds "
            f"{', '.join(f'{t:g}' for t in tious)} (each one in `report.json`)."]


def render_markdown(report: dict) -> str:
    """The report as markdown: run facts, Table 1 (detection), Table 2 (pseudo-labels), figures."""
    tious = report["tious"]
    data = report["dataset"]
    lines = [f"# admfit-torch run `{report['run']}`", "",
             f"- data: `{data['annotations']}` (features `{data['features']}`, points `{data['points']}`)",
             f"- trained on `{data['train_subset']}` ({data['train_videos']} videos, {data['train_points']} points), "
             f"evaluated on `{data['test_subset']}` ({data['test_videos']} videos, {data['test_instances']} instances)"
             + (f"; {data['skipped_videos']} training videos without features skipped (`skipped_videos.txt`)"
                if data.get("skipped_videos") else ""),
             "- stage times (s): " + ", ".join(f"{k} {v:.0f}" for k, v in report.get("seconds", {}).items()), ""]
    lines += ["## Detection (Table 1 columns): mAP (%) on the test subset", ""]
    lines += _header(["model"], tious)
    for key, name in (("base", "base model (points, r_a)"), ("main", "ADM-Loc main model")):
        if key in report:
            lines.append(_row(name, report[key], tious))
    lines += _columns_note(tious)
    pseudo = report.get("pseudo_labels")
    if pseudo:
        lines += ["", "## Pseudo-labels on the training subset (Table 2): mAP (%) against its ground truth", ""]
        pseudo_tious = pseudo.get("tious", tious)
        lines += _header(["source", "alpha", "mean tIoU (%)"], pseudo_tious)
        for key, name in (("base_proposals", "base model proposals"), ("adm", "ADM pseudo-labels")):
            entry = pseudo[key]
            tiou = "-" if entry.get("mean_tiou") is None else f"{entry['mean_tiou']:.1f}"
            lines.append(_row(name, entry, pseudo_tious, [f"{entry['alpha']:.2f}", tiou]))
    if report.get("figures"):
        lines += ["", "## Figures (`admfit plot`: signal, background points, points, ADM fits, pseudo-labels, "
                  "ground truth)", ""]
        lines += [f"![{Path(f).stem}]({f})" for f in report["figures"]]
    if report.get("notes"):
        lines += ["", "## Notes", ""] + [f"- {note}" for note in report["notes"]]
    return "\n".join(lines) + "\n"


def write_report(report: dict, json_path: Path, md_path: Path) -> None:
    """The report as JSON and as markdown (the run folder's paths: RunLayout.report_json, report_md)."""
    atomic_write_text(json_path, json.dumps(report, indent=1), field="report")
    atomic_write_text(md_path, render_markdown(report), field="report")
