"""From the files a user has (annotation JSON, point labels, features) to VideoItems.

Annotations, points and features are read with ``admfit.datasets`` (ActivityNet-style JSON; LACP /
ActivityNet / SF-Net point files; a folder of ``<video>.npy``, an .npz or an HDF5 file, several of them
concatenated along D). Each video's grid is ``admfit.datasets.grid_for`` with the config's grid preset
and stride / window overrides (docs/spec.md section 3), or 'spread' (rows cover the duration evenly).
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from admfit.errors import InputError, Notice
from admfit.files.video_files import check_video_ids, read_video_list
from admfit.grid import SnippetGrid

from .config import DetectorConfig
from .data import VideoItem, make_items


@dataclass
class Split:
    """A subset's videos as items, the class vocabulary (class-id order), the annotation file, and the videos of
    the subset skipped for want of features (``skip_missing=True``)."""

    items: list[VideoItem]
    classes: list[str]
    annotations_path: Path
    skipped: list[str] = field(default_factory=list)


SPREAD_DEFAULT_FPS = 25.0  # ActivityNet practice; with 'spread' the fps only names frame units


def _spread_grid(record, num_snippets: int, path: Path) -> SnippetGrid:
    """Row i centred at (i + 0.5) duration / T seconds: stride = num_frames = duration * fps / T frames."""
    if not record.duration_s or record.duration_s <= 0:
        raise InputError("the 'spread' grid needs a positive duration", file=str(path), video=record.video,
                         field="duration")
    fps = record.fps or SPREAD_DEFAULT_FPS
    stride = record.duration_s * fps / num_snippets
    return SnippetGrid(fps=fps, stride=stride, num_frames=stride)


def grid_function(annotations, cfg: DetectorConfig, path: Path) -> Callable[[str, int], SnippetGrid]:
    """``(video, T) -> SnippetGrid`` for the videos of ``annotations`` under ``cfg.data.grid``; preset grids are
    built (and checked) at once."""
    if cfg.data.grid == "spread":
        return lambda video, num_snippets: _spread_grid(annotations[video], num_snippets, path)
    from admfit.datasets.grids import grid_for

    try:
        grids = {video: grid_for(record, cfg.data.grid, stride=cfg.data.stride, num_frames=cfg.data.num_frames)
                 for video, record in annotations.items()}
    except InputError as error:  # name the file, and the way out
        if error.field != "fps":
            raise
        raise InputError(f"{error.message} (give an fps table: --fps thumos14 / run.fps, or a JSON {{video: fps}})",
                         file=str(path), video=error.video, field=error.field) from None
    return lambda video, num_snippets: grids[video]




def declared_grid(features) -> tuple[str, Path] | None:
    """(grid, file) when the features folder says which ``data.grid`` its features are on: ``feature_grid`` of a
    ``synth.json`` beside it (``admfit synth`` writes one); None when nothing says so."""
    import json

    if features is None or not Path(features).is_dir():
        return None
    from admfit.synthetic.output import MANIFEST  # beside a features folder: the grid of its features

    path = Path(features).resolve().parent / MANIFEST
    try:
        grid = json.loads(path.read_text(encoding="utf-8")).get("feature_grid")
    except (OSError, ValueError, AttributeError):
        return None
    return (grid, path) if isinstance(grid, str) else None


def with_declared_grid(cfg: DetectorConfig, *, explicit: bool) -> DetectorConfig:
    """The config on the grid the features folder declares (``declared_grid``), with a note; a ``data.grid`` the
    user set explicitly (``explicit``) is kept, with a note that the folder says otherwise."""
    from .config import with_overrides

    found = declared_grid(cfg.run.features)
    if found is None or found[0] == cfg.data.grid:
        return cfg
    grid, path = found
    if explicit:
        warnings.warn(Notice(f"{path} says its features are on the {grid!r} grid; data.grid={cfg.data.grid!r} is "
                             "kept, as set"), stacklevel=2)
        return cfg
    warnings.warn(Notice(f"data.grid={grid!r}, as {path} says of its features (the config said "
                         f"{cfg.data.grid!r})"), stacklevel=2)
    return with_overrides(cfg, [f"data.grid={grid}"], source=str(path))


def _listed(chosen: dict, everything: dict, videos, annotations_path) -> dict:
    """The videos of ``chosen`` named by the list ``videos``; a listed video missing from the file is an error."""
    if videos is None:
        return chosen
    listed = read_video_list(videos)
    unknown = [video for video in listed if video not in everything]
    if unknown:
        raise InputError(f"the video list {videos} names {len(unknown)} video(s) not in the annotation file, the "
                         f"first {unknown[0]!r}", file=str(annotations_path), video=unknown[0], field="videos")
    wanted = set(listed)
    return {video: record for video, record in chosen.items() if video in wanted}


def _with_features(chosen: dict, store, features, skip_missing: bool, subset) -> tuple[dict, list[str]]:
    """The videos that have features, and the skipped ones; without ``skip_missing`` a missing one is an error."""
    from admfit.datasets.checks import feature_file

    missing = sorted(video for video in chosen if video not in store)
    if missing and not skip_missing:
        raise InputError(f"no features for this video ({len(missing)} of the {len(chosen)} videos of subset "
                         f"{subset!r} have none; --skip-missing-features skips them, --videos LIST chooses videos)",
                         file=feature_file(features, missing[0]), video=missing[0], field="features")
    return {video: record for video, record in chosen.items() if video not in missing}, missing


def _feature_fps(everything: dict, cfg: DetectorConfig) -> dict[str, float]:
    """video -> the fps of its features' grid, where the grid has a rate ('spread' only names frame units)."""
    if cfg.data.grid == "spread":
        return {}
    if cfg.data.grid == "thumos14_actionformer":
        return {video: record.fps for video, record in everything.items() if record.fps}
    from admfit.datasets.grids import grid_for

    return dict.fromkeys(everything, grid_for(next(iter(everything.values())), cfg.data.grid).fps)


def _points(points_path, everything: dict, rates, classes: list[str], annotations_path) -> list:
    """The points in seconds (click frames at the native ``rates``), classes checked against the vocabulary; a
    point of a video absent from the annotation file is an error (either layout)."""
    from admfit.datasets import load_points
    from admfit.datasets.shipped import points_file

    path = points_file(points_path)
    try:
        points = load_points(path, fps=rates, classes=classes)
    except InputError as error:  # a video without a native rate may be a stranger to the annotations: say so
        if error.video is None or error.video in everything:
            raise
        points = None
        stranger = error.video
    else:
        stranger = next((point.video for point in points if point.video not in everything), None)
    if stranger is not None:
        raise InputError(f"has points but is not in the annotation file {annotations_path} (a points file and "
                         "annotations of different videos?)", file=str(path), video=stranger, field="video_id")
    return points


def load_split(annotations_path: str | Path, features: str | Path | Sequence[str | Path], cfg: DetectorConfig, *,
               subset: str | None, points_path: str | Path | None = None, classes: list[str] | None = None,
               videos: str | Path | None = None, skip_missing: bool = False, fps: str | Path | None = None,
               vocabulary: str | None = None, points_fps: str | Path | None = "thumos14") -> Split:
    """The videos of ``subset`` (exact name, or an alias with a note) that the list ``videos`` names, with their
    features and (when ``points_path`` is given) their points.

    ``annotations_path`` and ``points_path`` may name a shipped dataset (``thumos14``); ``fps`` is a table of the
    features' fps (``thumos14`` or a JSON file) overriding the annotation file's; ``points_fps`` names the videos'
    native rates for the frames of a LACP click file (``thumos14``, ``annotations`` or a JSON file;
    admfit.datasets.rates), never taken from the features' fps unless it says ``annotations``. Every video's T must fit its duration on the
    grid and every point must lie inside its features (admfit.datasets.checks). Classes: ``classes`` when given
    (from a checkpoint; it must equal the dataset's vocabulary), else ``vocabulary`` (a dataset name or a
    class-list file), else the dataset's (admfit.datasets.shipped.vocabulary).
    """
    from admfit.datasets import FeatureStore
    from admfit.datasets.rates import click_rates, note_rate_disagreement
    from admfit.datasets.shipped import annotations_file, load_fps_table, open_annotations, points_file
    from admfit.datasets.shipped import vocabulary as dataset_vocabulary

    table = load_fps_table(fps) if fps is not None else None
    path = annotations_file(annotations_path)
    everything = open_annotations(annotations_path, fps=table)
    whole = open_annotations(annotations_path, subset=subset, fps=table) if subset else everything
    chosen = _listed(whole, everything, videos, path)
    if not chosen:
        raise InputError(f"no video in subset {subset!r}" + (f" among those of {videos}" if videos else ""),
                         file=str(path), field="subset")
    sources = [features] if isinstance(features, (str, os.PathLike)) else list(features)
    if any(Path(source).is_dir() for source in sources):  # ids become <folder>/<id>.npy: no '../x'
        check_video_ids(chosen, file=path, field="database")
    names = dataset_vocabulary(everything, vocabulary, file=path)
    if classes is not None and list(classes) != names:
        raise InputError(f"the checkpoint's {len(classes)} classes differ from the {len(names)} of the data "
                         f"(first difference: {_first_difference(list(classes), names)})", file=str(path),
                         field="classes")
    points, rates = [], None
    if points_path is not None:  # click frames become seconds at the native rates (admfit.datasets.rates)
        rates = click_rates(points_fps, annotations=everything, annotations_file=path)
        points = _points(points_path, everything, rates, names, path)
    with FeatureStore(features) as store:
        chosen, skipped = _with_features(chosen, store, features, skip_missing, subset)
        if not chosen:
            raise InputError(f"no video of subset {subset!r} has features", file=str(features), field="features")
        grid_of = grid_function(chosen, cfg, path)
        items = make_items(store, list(chosen), grid_of, points, {name: i for i, name in enumerate(names)},
                           cfg.model.input_dim, durations={v: r.duration_s for v, r in chosen.items()},
                           source=features, points_file=None if points_path is None else points_file(points_path))
    _note_unused_points(points, whole, chosen, subset)
    if points:  # said of the videos used only: the rest of a click file is not read into the run
        note_rate_disagreement([point for point in points if point.video in chosen], rates,
                               _feature_fps(chosen, cfg), points_file=points_file(points_path))
    return Split(items, names, path, skipped)


def _note_unused_points(points, whole: dict, used: dict, subset) -> None:
    """Say how many points of the subset's videos go unused (left out by the video list or for want of features)."""
    unused = [point.video for point in points if point.video in whole and point.video not in used]
    if unused:
        warnings.warn(Notice(f"{len(unused)} points of {len(set(unused))} videos of subset {subset!r} are not used "
                             "(not in the video list, or without features)"), stacklevel=3)


def _first_difference(first: list[str], second: list[str]) -> str:
    for index, (a, b) in enumerate(zip(first, second)):
        if a != b:
            return f"class {index} is {a!r} in the checkpoint, {b!r} in the data"
    return f"{len(first)} classes against {len(second)}"


def subset_videos(annotations_path, subset: str, *, videos=None) -> list[str]:
    """The names of ``subset``'s videos (restricted to the list ``videos``), without reading features."""
    from admfit.datasets.shipped import annotations_file, open_annotations

    everything = open_annotations(annotations_path)
    chosen = open_annotations(annotations_path, subset=subset)
    return sorted(_listed(chosen, everything, videos, annotations_file(annotations_path)))


def input_files(run) -> dict[str, Path]:
    """The data files of a run (``run``: a RunConfig), by field, shipped dataset names resolved to their files."""
    from admfit.data import data_path
    from admfit.datasets.shipped import annotations_file, is_shipped, points_file

    files = {"features": Path(run.features), "annotations": annotations_file(run.annotations)}
    if run.points is not None:
        files["points"] = points_file(run.points)
    if run.videos is not None:
        files["videos"] = Path(run.videos)
    if run.fps is not None:
        files["fps"] = data_path("thumos14", "fps_dict.json") if is_shipped(run.fps) else Path(run.fps)
    if run.points is not None and run.points_fps not in ("thumos14", "annotations"):
        files["points_fps"] = Path(run.points_fps)
    if run.classes is not None:
        files["classes"] = data_path(run.classes, "classes.txt") if is_shipped(run.classes) else Path(run.classes)
    return files
