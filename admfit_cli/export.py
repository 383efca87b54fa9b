"""`admfit export PSEUDO_LABELS.json --to actionformer|opentad -o FILE`: pseudo-labels as another detector's
annotation file (admfit.files.export)."""
from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from ._common import reports_input_errors


class Framework(str, Enum):
    actionformer = "actionformer"
    opentad = "opentad"


@reports_input_errors
def export_command(
    pseudo_labels: Path = typer.Argument(..., metavar="PSEUDO_LABELS.json", help="admfit fit's output (JSON or CSV)"),
    to: Framework = typer.Option(..., "--to", help="the framework whose annotation layout to write"),
    output: Path = typer.Option(..., "-o", "--output", help="the annotation JSON to write"),
    annotations: Optional[str] = typer.Option(None, "--annotations", help="ground truth, fps and duration of every "
                                              "video (the test videos keep their ground truth): a JSON file, or "
                                              "thumos14 (the shipped one); default: the file the pseudo-labels "
                                              "record (meta.annotations), refused if changed"),
    classes: Optional[str] = typer.Option(None, "--classes", help="class vocabulary: thumos14, anet12 or a file, one "
                                          "name per line (default: the dataset's)"),
    fps: Optional[str] = typer.Option(None, "--fps", help="native fps per video: thumos14 or a JSON {video: fps}"),
    class_map: Optional[Path] = typer.Option(None, "--class-map", help="opentad: where to write the class map (one "
                                             "name per line; default: beside -o, STEM_category_idx.txt)"),
    features: Optional[Path] = typer.Option(None, "--features", help="folder of VIDEO.npy features, or an .npz / "
                                            "HDF5 file of them: the videos without features are left out"),
) -> None:
    """Write the annotation file ActionFormer or OpenTAD trains on, the training videos' annotations replaced by
    the pseudo-labels (segments in seconds, class ids of the dataset's vocabulary)."""
    from admfit.files.atomic import atomic_write_text, check_writable
    from admfit.datasets.shipped import annotations_file, load_fps_table, open_annotations, vocabulary
    from admfit.errors import InputError
    from admfit.files.export import export_annotations
    from admfit.files.fit_io import read_pseudo_labels
    from admfit.files.provenance import export_source, timed_fps

    check_writable(output)
    map_path = class_map or output.with_name(f"{output.stem}_category_idx.txt")
    if to is Framework.opentad:
        check_writable(map_path, field="class_map")
    rows, meta = read_pseudo_labels(pseudo_labels)
    annotations = export_source(meta, annotations, pseudo_labels)
    records = open_annotations(annotations, fps=load_fps_table(fps) if fps is not None else None)
    names = vocabulary(records, classes, file=annotations_file(annotations))
    if meta.get("classes") and list(meta["classes"]) != names:
        raise InputError(f"the pseudo-labels hold {len(meta['classes'])} classes, the dataset's vocabulary "
                         f"{len(names)} other ones (--classes)", file=str(pseudo_labels), field="meta.classes")
    document = export_annotations(rows, records, names, to.value, pseudo_file=str(pseudo_labels),
                                  annotations_file=str(annotations_file(annotations)), features=features,
                                  timed_fps=timed_fps(meta) if fps is None else None)
    if to is Framework.opentad:
        atomic_write_text(map_path, "".join(f"{name}\n" for name in names), field="class_map")
    atomic_write_text(output, json.dumps(document), field="output")
    typer.echo(f"{len(rows)} pseudo-labels of {len({row['video'] for row in rows})} videos, "
               f"{len(document['database'])} videos in all, {len(names)} classes -> {output}"
               + (f" (class map {map_path})" if to is Framework.opentad else ""), err=True)


def register(app: typer.Typer) -> None:
    app.command("export")(export_command)
