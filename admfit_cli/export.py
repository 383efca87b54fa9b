"""`admfit export PSEUDO_LABELS.json --to actionformer|opentad -o FILE`: pseudo-labels as another detector's
annotation file (admfit.files.export)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ._common import choices, reports_input_errors


# the frameworks of admfit.files.export.FRAMEWORKS (not imported here: `admfit --help` must stay light)
Framework = choices("Framework", ("actionformer", "opentad"))


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
    from admfit.files.export import export_file

    done = export_file(pseudo_labels, to.value, output, annotations=annotations, classes=classes, fps=fps,
                       class_map=class_map, features=features)
    typer.echo(f"{done.pseudo_labels} pseudo-labels of {done.pseudo_videos} videos, {done.videos} videos in all, "
               f"{done.classes} classes -> {output}" + (f" (class map {done.class_map})" if done.class_map else ""),
               err=True)


def register(app: typer.Typer) -> None:
    app.command("export")(export_command)
