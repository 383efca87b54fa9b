"""`admfit eval GT PRED` (detection mAP) and `admfit eval-pseudo GT PSEUDO` (pseudo-label quality)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from admfit.errors import InputError
from admfit.threads import one_blas_thread

from ._common import reports_input_errors
from ._tables import print_map_table

# numpy, rich and the evaluator are imported where they are used: `admfit --help` must stay fast.
if TYPE_CHECKING:
    import numpy as np

    from admfit.evaluation import DetectionResult, GroundTruthSegments

_TIOU_HELP = ("tIoU thresholds: 'thumos14' (0.1:0.7:0.1), 'anet' (0.5:0.95:0.05), START:STOP:STEP (stop "
              "included), A,B,C, or 'auto': 'anet' for an official ActivityNet file (version 'VERSION 1.x'), "
              "else 'thumos14'.")
_SUBSET_HELP = ("Ground-truth subset, case-insensitive; 'train'/'test' also resolve THUMOS'14 Validation/Test "
                "and ActivityNet training/validation; 'all' keeps every video.")
# The options both commands take alike.
_TIOU = typer.Option("auto", "--tiou", help=_TIOU_HELP)
_AS_JSON = typer.Option(False, "--json", help="Print one JSON line (values on the [0, 1] scale).")


def _tious_for(text: str, version) -> np.ndarray:
    """The thresholds of ``--tiou``; ``version``: the ground-truth file's top-level "version" (for 'auto')."""
    from admfit.evaluation.thresholds import parse_tious

    if text.strip().lower() == "auto":
        text = "anet" if _is_activitynet_version(version) else "thumos14"
    try:
        return parse_tious(text)
    except ValueError as error:
        raise InputError(str(error), field="--tiou") from None


def _is_activitynet_version(version) -> bool:
    """Official ActivityNet annotation files say ``"version": "VERSION 1.2"`` (or 1.3)."""
    return isinstance(version, str) and version.upper().startswith("VERSION 1.")


def _ground_truth(path: Path, subset: str) -> tuple[GroundTruthSegments, object]:
    """(the instances of ``subset``, the file's top-level "version"). Read as columns: no pydantic models."""
    from admfit.datasets.annotation_columns import read_annotation_columns
    from admfit.evaluation.segments import GroundTruthSegments

    columns = read_annotation_columns(path)
    segments = GroundTruthSegments.from_columns(columns.select(None if subset.lower() == "all" else subset))
    if len(segments) == 0:
        raise InputError(f"no ground-truth instance in subset {subset!r}: nothing to evaluate",
                         file=str(path), field="subset")
    return segments, columns.version


def _counts_line(result: DetectionResult) -> str:
    return (f"{int(result.num_ground_truth.sum())} ground-truth instances in {len(result.classes)} classes; "
            f"{result.num_predictions} predictions: {result.num_ignored} ignored (label not in the ground truth), "
            f"{result.num_invalid} reversed or zero-length (false positives), "
            f"{result.num_without_ground_truth} on videos without ground truth (false positives)")


def eval_command(
    ground_truth: Path = typer.Argument(..., help="ActivityNet-style annotation JSON (THUMOS'14 gt.json, ANet)."),
    predictions: Path = typer.Argument(..., help="ActivityNet results JSON ({'results': {video: [...]}})."),
    tiou: str = _TIOU,
    subset: str = typer.Option("test", "--subset", help=_SUBSET_HELP),
    per_class: bool = typer.Option(False, "--per-class", help="Also print the AP of every class."),
    as_json: bool = _AS_JSON,
    strict: bool = typer.Option(False, "--strict", help="Reject reversed or zero-length predicted segments."),
) -> None:
    """Detection mAP at each tIoU threshold, as the official ActivityNet evaluation computes it."""
    with one_blas_thread():  # the evaluator multiplies no matrices: no BLAS thread pool to start
        from admfit.evaluation.detection import evaluate_detection
        from admfit.evaluation.results_io import load_detections

    segments, version = _ground_truth(ground_truth, subset)
    thresholds = _tious_for(tiou, version)
    result = evaluate_detection(segments, load_detections(predictions, strict=strict), thresholds)
    if as_json:
        typer.echo(json.dumps(result.to_dict(per_class=per_class)))
        return
    print_map_table(result, f"Detection mAP, subset {subset!r}", per_class)
    typer.echo(_counts_line(result))


def eval_pseudo_command(
    ground_truth: Path = typer.Argument(..., help="ActivityNet-style annotation JSON."),
    pseudo_labels: Path = typer.Argument(..., help="pseudo_labels.json written by `admfit fit` (seconds)."),
    tiou: str = _TIOU,
    subset: str = typer.Option("train", "--subset", help=_SUBSET_HELP),
    as_json: bool = _AS_JSON,
    min_confidence: float = typer.Option(0.0, "--min-confidence", min=0.0, max=1.0,
                                         help="Score only the pseudo-labels whose confidence is at least this."),
) -> None:
    """Pseudo-label quality (paper Table 2): alpha, mAP, and mean tIoU of each point's pseudo-label."""
    with one_blas_thread():  # the evaluator multiplies no matrices: no BLAS thread pool to start
        import numpy as np

        from admfit.evaluation.pseudo_quality import pseudo_label_quality
        from admfit.evaluation.results_io import load_pseudo_labels

    segments, version = _ground_truth(ground_truth, subset)
    thresholds = _tious_for(tiou, version)
    labels, point_s, _ = load_pseudo_labels(pseudo_labels, min_confidence=min_confidence)
    quality = pseudo_label_quality(segments, labels, point_s, thresholds)
    if as_json:
        typer.echo(json.dumps(quality.to_dict()))
        return
    print_map_table(quality.detection, f"Pseudo-label mAP, subset {subset!r}")
    mean = "n/a" if quality.mean_tiou is None else f"{100 * quality.mean_tiou:.2f} %"
    kept = f", confidence >= {min_confidence:g}" if min_confidence else ""
    typer.echo(f"alpha (pseudo-labels per ground-truth instance): {quality.alpha:.3f} "
                  f"({quality.num_pseudo_labels} / {quality.num_ground_truth}{kept})")
    typer.echo(f"mean tIoU with the point's instance: {mean} over "
                  f"{int(np.count_nonzero(np.isfinite(quality.tious)))} pseudo-labels "
                  f"({quality.num_without_point} without a point time, "
                  f"{quality.num_without_instance} without a same-class instance in their video)")
    typer.echo(_counts_line(quality.detection))


def register(app: typer.Typer) -> None:
    app.command("eval")(reports_input_errors(eval_command))
    app.command("eval-pseudo")(reports_input_errors(eval_pseudo_command))
