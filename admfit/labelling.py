"""Pseudo-labels of points from probability signals: the signals of a file (``admfit fit``), or those a detector
plug-in computes from a folder of features (``admfit label``).

:func:`fit_signals`
    A SignalSet and the points of a points file -> the pseudo-label rows and meta that ``admfit fit`` writes:
    points resolved by :func:`admfit.fit.points.resolve_points`, fitted by :func:`admfit.fit_instances` a few
    videos at a time.
:func:`label_features`
    An ``admfit.detectors`` plug-in (``admfit.detector``) run video by video over the videos that have points:
    each video's features (``admfit.datasets.FeatureStore``; a folder holds ``VIDEO.npy`` of shape (T, D)) are
    checked against its snippet grid as training checks them (``admfit.datasets.checks``), the detector's
    outputs become ``OUT/signals.npz`` (the last level's class probabilities, the first level's background
    probabilities, the output grid, where the last level's steps sit on the first) and the pseudo-labels are
    fitted by :func:`fit_signals` *from the file just written*, so that ``admfit fit OUT/signals.npz POINTS``
    gives the same ``OUT/pseudo_labels.json``. Both files appear together or not at all (``atomic_folder``);
    their writer is ``admfit.files.label_outputs``, which the pseudo stage of ``admfit-torch train`` uses too.

Grids: a video's input grid (frames per second, frames between snippets, frames per window) is the ``--fps`` given,
else its annotation's fps, with stride 4 and window 16 frames unless given (``admfit fit``'s defaults). A
detector may return its outputs on another grid (one that resamples each video); points given by snippet index
are then refused, as they would land elsewhere: give their times in seconds.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from admfit.files.label_outputs import PSEUDO_LABELS_FILE, SIGNALS_FILE, DetectorSignals, write_label_file
from admfit.files.points import RawPoint
from admfit.files.provenance import annotation_meta
from admfit.files.pseudo_labels import pseudo_label_rows
from admfit.files.signals import SignalSet, load_signals
from admfit.fit.config import ADMConfig
from admfit.fit.points import resolve_points
from admfit.fit.tuning import TuningResult, fit_tuned

from .detector import Detector, DetectorOutput, exception_text
from .errors import InputError
from .grid import SnippetGrid

# Below this many points one fit call is instant and a progress bar would only flicker.
_PROGRESS_MIN_POINTS = 20_000
_CHUNK_VIDEOS = 64
# What to change when features are on another grid (admfit label's --fps, --stride, --num-frames).
GRID_REMEDY = "give the features' fps, stride and num_frames (frames), or check the annotations' fps"


# ---- signals + points -> pseudo-labels (admfit fit) ---------------------------------------------------------

@dataclass(frozen=True)
class FitOutcome:
    """What :func:`fit_signals` found: the rows and meta to write (``admfit.files.pseudo_labels``), how many points
    and videos were fitted, and how many fits did not converge (before ``min_confidence``)."""

    rows: list[dict]
    meta: dict
    points: int
    videos: int
    unconverged: int
    tuning: TuningResult | None = None  # what tuning="auto" chose, and why (its ``line``)

    @property
    def summary(self) -> str:
        """``3 instances, 2 videos, alpha = 1.00 pseudo-labels per point, 0 fits not converged``."""
        labels, threshold = len(self.rows), self.meta.get("min_confidence", 0.0)
        kept = f" (confidence >= {threshold:g}: {self.points - labels} dropped)" if threshold else ""
        return (f"{labels} instances, {self.videos} videos, alpha = {labels / self.points:.2f} pseudo-labels per "
                f"point{kept}, {self.unconverged} fits not converged")


def _fit_videos(signals: SignalSet, rows_by_video: dict, config: ADMConfig, grids, threads, progress: bool):
    from rich.progress import Progress

    from admfit.fit.api import fit_instances

    videos = list(rows_by_video)
    chunks = [videos[i:i + _CHUNK_VIDEOS] for i in range(0, len(videos), _CHUNK_VIDEOS)]
    show = progress and sum(len(rows) for rows in rows_by_video.values()) >= _PROGRESS_MIN_POINTS
    labels = []
    with Progress(transient=True, disable=not show) as bar:
        task = bar.add_task("fitting", total=len(videos))
        for chunk in chunks:
            labels.extend(fit_instances(
                {v: signals.probs[v] for v in chunk}, {v: rows_by_video[v] for v in chunk},
                background={v: signals.background[v] for v in chunk} if signals.background else None,
                bg_probs={v: signals.bg_probs[v] for v in chunk} if not signals.background else None,
                config=config, grid=grids if all(grids[v] for v in chunk) else None, num_threads=threads,
                centres=signals.centres))
            bar.advance(task, len(chunk))
    return labels


def _fit_tuned(signals: SignalSet, rows_by_video: dict, config: ADMConfig, grids, threads):
    """(labels, TuningResult) of tuning="auto" over every video at once."""
    videos = list(rows_by_video)
    return fit_tuned({v: signals.probs[v] for v in videos}, rows_by_video,
                     background={v: signals.background[v] for v in videos} if signals.background else None,
                     bg_probs={v: signals.bg_probs[v] for v in videos} if not signals.background else None,
                     config=config, grid=grids if all(grids[v] for v in videos) else None,
                     centres=signals.centres, num_threads=threads)


def _with_file(error: InputError, signals_file, points_file) -> InputError:
    if error.file is None:
        blamed = points_file if error.field == "points" else signals_file
        return InputError(error.message, file=None if blamed is None else str(blamed), video=error.video,
                          field=error.field)
    return error


def fit_signals(signals: SignalSet, points: Sequence[RawPoint], point_classes: Sequence[str] | None = None, *,
                config: ADMConfig | None = None, signals_file=None, points_file=None, fps: float | None = None,
                stride: float | None = None, num_frames: float | None = None, threads: int | None = None,
                min_confidence: float = 0.0, progress: bool = False) -> FitOutcome:
    """One ADM pseudo-label per point, as ``admfit fit`` makes them (``fps``, ``stride``, ``num_frames`` in frames
    override the signals' timing; labels below ``min_confidence`` are dropped; ``progress``: a progress bar on
    large inputs). ``signals_file`` and ``points_file`` name the files in errors and in the meta."""
    config = config or ADMConfig()
    resolved = resolve_points(signals, points, point_classes, fps=fps, stride=stride, num_frames=num_frames,
                              signals_file=signals_file, points_file=points_file)
    grids = resolved.grids
    try:
        if config.tuning == "auto":  # every video at once: the choice is the dataset's
            labels, tuned = _fit_tuned(resolved.signals, resolved.rows, config, grids, threads)
        else:
            labels, tuned = _fit_videos(resolved.signals, resolved.rows, config, grids, threads, progress), None
    except InputError as error:
        raise _with_file(error, signals_file, points_file) from None
    unconverged = sum(not label.converged for label in labels)
    labels = [label for label in labels if label.confidence >= min_confidence]
    in_seconds = all(grids.values())
    point_seconds = [float(grids[l.video].snippet_to_seconds(l.point)) if in_seconds else None for l in labels]
    rows = pseudo_label_rows(labels, resolved.classes, point_seconds)
    meta = {"segment_units": "seconds" if in_seconds else "snippets",
            "config": (config if tuned is None else tuned.config).model_dump(),
            "signals": str(signals_file), "points": str(points_file), "min_confidence": min_confidence,
            "classes": resolved.classes}
    if tuned is not None:
        meta["tuning"] = tuned.to_meta()
    return FitOutcome(rows, meta, len(points), len(resolved.rows), unconverged, tuned)


# ---- a detector over features -> signals.npz ----------------------------------------------------------------

def parse_detector_args(pairs: Sequence[str]) -> dict[str, str]:
    """``["checkpoint=run/main", "device=cpu"]`` -> keyword arguments of a detector factory (values stay text)."""
    found: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise InputError(f"expected KEY=VALUE with a Python name as KEY, got {pair!r}", field="--detector-arg")
        if key in found:
            raise InputError(f"{key!r} is given twice", field="--detector-arg")
        found[key] = value
    return found


@dataclass(frozen=True)
class VideoInput:
    """A video to run the detector on: its input grid, duration (seconds; None: unknown, T not checked), and
    whether some of its points are given by snippet index."""

    video: str
    grid: SnippetGrid
    duration_s: float | None
    by_snippet: bool


def detector_classes(detector: Detector, name: str) -> list[str]:
    """The detector's class names, checked: a non-empty list of distinct strings."""
    classes = getattr(detector, "classes", None)
    if isinstance(classes, np.ndarray):  # names read from a file often come as an array of str
        classes = classes.tolist()
    if (isinstance(classes, str) or not isinstance(classes, Sequence) or not classes
            or not all(isinstance(c, str) for c in classes) or len(set(classes)) != len(classes)):
        raise InputError(f"detector {name!r} gives no list of distinct class names (classes = {classes!r:.80})",
                         field="detector")
    return list(classes)


def check_point_classes(points: Sequence[RawPoint], point_classes: Sequence[str] | None, classes: Sequence[str],
                        name: str, points_file=None) -> None:
    """Every point's class must be one of the detector's (by name, or by index into its list); a points file
    that lists its classes must list the detector's (as ``admfit fit`` requires of the signals file)."""
    file = None if points_file is None else str(points_file)
    if point_classes is not None and list(point_classes) != list(classes):
        difference = next((f"class {i} is {a!r} there, {b!r} in the detector" for i, (a, b)
                           in enumerate(zip(point_classes, classes)) if a != b),
                          f"{len(point_classes)} classes there, {len(classes)} in the detector")
        raise InputError(f"the points file's classes differ from those of detector {name!r} ({difference})",
                         file=file, field="classes")
    known = set(classes)
    for point in points:
        if isinstance(point.label, str) and point.label not in known:
            raise InputError(f"class {point.label!r} is not among the {len(classes)} classes of detector {name!r}",
                             file=file, video=point.video, field="label")
        if isinstance(point.label, int) and not 0 <= point.label < len(classes):
            raise InputError(f"class index {point.label} is outside the {len(classes)} classes of detector "
                             f"{name!r}", file=file, video=point.video, field="label")


def plan_videos(points: Sequence[RawPoint], *, annotations=None, fps: float | None = None,
                stride: float | None = None, num_frames: float | None = None, points_file=None) -> list[VideoInput]:
    """The videos with points, in the points file's order, with their input grids. ``annotations``: a file or a
    shipped dataset name (``admfit.datasets.shipped``) giving each video's fps and duration; a video with points
    must then be in it. ``fps`` (frames per second) overrides the annotations'."""
    from .datasets.shipped import annotations_file, open_annotations

    records = open_annotations(annotations) if annotations is not None else {}
    source = str(annotations_file(annotations)) if annotations is not None else None
    by_snippet = {point.video for point in points if point.snippet is not None}
    plans = []
    for video in dict.fromkeys(point.video for point in points):
        record = records.get(video)
        if annotations is not None and record is None:
            raise InputError(f"has points but is not in the annotation file {source}",
                             file=None if points_file is None else str(points_file), video=video, field="video")
        video_fps = fps or (record.fps if record is not None else None)
        if video_fps is None:
            raise InputError("no fps known for this video: give --fps, or --annotations with its fps",
                             file=source or (None if points_file is None else str(points_file)), video=video,
                             field="fps")
        grid = SnippetGrid(fps=video_fps, stride=stride or 4, num_frames=16 if num_frames is None else num_frames)
        plans.append(VideoInput(video, grid, record.duration_s if record is not None else None, video in by_snippet))
    return plans


def _call_plugin(name: str, hook: str, video: str, file: str, call, *args):
    """``call(*args)``, a hook of detector ``name`` on ``video``'s features (``file``), its errors as one InputError
    naming the plug-in, the video and the file (admfit/detector.py, "Errors"); KeyboardInterrupt and SystemExit,
    not Exceptions, pass through."""
    try:
        return call(*args)
    except InputError as error:  # the plug-in's own refusal, or DetectorOutput's (e.g. NaN): say whose it was
        raise InputError(f"detector {name!r}: {error.message}", file=error.file or file,
                         video=error.video or video, field=error.field) from None
    except Exception as error:  # e.g. torch's RuntimeError deep in a forward pass; chained for debuggers
        raise InputError(f"detector {name!r} failed on these features ({exception_text(error)})", file=file,
                         video=video, field=hook) from error


def _predict(detector: Detector, name: str, plan: VideoInput, features: np.ndarray, num_classes: int,
             file: str, points_file) -> DetectorOutput:
    output = _call_plugin(name, "predict", plan.video, file, detector.predict, plan.video, features, plan.grid)
    if not isinstance(output, DetectorOutput):
        raise InputError(f"detector {name!r} returned a {type(output).__name__}, not an admfit.detector."
                         "DetectorOutput", video=plan.video, field="predict")
    found = output.class_probs[0].shape[1]
    if found != num_classes:
        raise InputError(f"detector {name!r} gives {found} class columns but names {num_classes} classes",
                         video=plan.video, field="class_probs")
    if plan.by_snippet and (output.grid != plan.grid or output.num_snippets != features.shape[0]):
        raise InputError(f"points given by snippet index, but detector {name!r} resamples this video (T="
                         f"{features.shape[0]} -> {output.num_snippets} snippets): give their times in seconds "
                         "(time_s)", file=None if points_file is None else str(points_file), video=plan.video,
                         field="snippet")
    return output


def run_detector(detector: Detector, name: str, features, plans: Sequence[VideoInput], *, points_file=None,
                 progress: bool = False) -> DetectorSignals:
    """The detector's outputs on each planned video. Before the first prediction, every video must have features
    whose T fits its duration on its grid (``admfit.datasets.checks``) and that the detector's optional
    ``validate`` hook accepts (admfit/detector.py): a bad file stops the run before any forward pass. The
    features are read twice rather than held: a data set's features need not fit in memory."""
    from rich.progress import Progress

    from .datasets import FeatureStore
    from .datasets.checks import check_feature_length, feature_file

    num_classes = len(detector_classes(detector, name))
    validate = getattr(detector, "validate", None)
    collected = DetectorSignals()
    with FeatureStore(features) as store:
        missing = [plan.video for plan in plans if plan.video not in store]
        if missing:
            raise InputError(f"no features for this video ({len(missing)} of the {len(plans)} videos with points "
                             "have none)", file=feature_file(features, missing[0]), video=missing[0],
                             field="features")
        with Progress(transient=True, disable=not progress) as bar:
            checking = bar.add_task("checking features", total=len(plans))
            for plan in plans:
                array, file = store[plan.video], feature_file(features, plan.video)
                check_feature_length(plan.video, array.shape[0], plan.grid, plan.duration_s, file=file,
                                     remedy=GRID_REMEDY)
                if validate is not None:
                    _call_plugin(name, "validate", plan.video, file, validate, array)
                bar.advance(checking)
            task = bar.add_task(f"detector {name}", total=len(plans))
            for plan in plans:
                output = _predict(detector, name, plan, store[plan.video], num_classes,
                                  feature_file(features, plan.video), points_file)
                collected.add(output, plan.video, plan.duration_s, name)
                bar.advance(task)
    return collected


def _listed_points(points: Sequence[RawPoint], listed: set[str], videos) -> list[RawPoint]:
    """The points of the ``listed`` videos (of the list file ``videos``); a note counts the points left out."""
    import warnings

    from .errors import Notice

    kept = [point for point in points if point.video in listed]
    left = {point.video for point in points} - listed
    if left:
        warnings.warn(Notice(f"{len(points) - len(kept)} points of {len(left)} videos not in {videos} are not "
                             "labelled"), stacklevel=3)
    return kept


def _read_points(points_file, classes: Sequence[str], annotations, fps: float | None, points_fps,
                 listed: set[str] | None):
    """The points file read in the detector's vocabulary, click frames at the native rates of ``points_fps``, with a
    note where they differ from the features' (``fps``, else the annotation file's) in the ``listed`` videos."""
    from admfit.files.points import load_point_file

    from .datasets.rates import click_rates
    from .datasets.shipped import annotations_file, open_annotations

    records = open_annotations(annotations) if annotations is not None else None
    source = str(annotations_file(annotations)) if annotations is not None else None
    rates = click_rates(points_fps, annotations=records, annotations_file=source)
    if records is None:  # every video of the points file (or of the list) at --fps, if given
        feature_fps = (dict.fromkeys(listed, fps) if listed is not None else fps) if fps else None
    else:
        feature_fps = {video: fps or record.fps for video, record in records.items()
                       if (fps or record.fps) and (listed is None or video in listed)}
    return load_point_file(points_file, classes=classes, rates=rates, feature_fps=feature_fps)


def check_label_folder(out) -> Path:
    """Fail early, before a detector loads, when the folder ``out`` cannot take ``SIGNALS_FILE`` and
    ``PSEUDO_LABELS_FILE``: it can neither be written nor created, or holds one of them that cannot be replaced."""
    from admfit.files.atomic import check_writable, check_writable_folder

    folder = check_writable_folder(out)
    if folder.is_dir():
        for name in (SIGNALS_FILE, PSEUDO_LABELS_FILE):
            check_writable(folder / name)
    return folder


def label_features(detector: Detector, name: str, features, points_file, out, *, annotations=None,
                   fps: float | None = None, stride: float | None = None, num_frames: float | None = None,
                   config: ADMConfig | None = None, threads: int | None = None, min_confidence: float = 0.0,
                   meta: Mapping | None = None, progress: bool = False, points_fps="thumos14",
                   videos=None) -> FitOutcome:
    """Run ``detector`` (installed as ``name``) over ``features`` for the videos of ``points_file`` (any points
    file ``admfit fit`` reads) and write ``out/signals.npz`` and ``out/pseudo_labels.json`` (the module docstring);
    ``meta`` joins the pseudo-labels' meta. Nothing is written unless everything succeeds.

    A click file's frames become seconds at each video's native fps (``points_fps``: ``thumos14``, ``annotations``
    or a JSON {video: fps}; ``admfit.datasets.rates``), its classes are checked against the detector's: the same
    reading as ``admfit-torch train``'s. ``videos``: a video list file (one id per line): only the points of these
    videos are labelled (a ``note:`` counts the others)."""
    from admfit.files.atomic import atomic_folder
    from admfit.files.video_files import read_video_list

    from .datasets.shipped import points_file as shipped_points_file

    points_file = shipped_points_file(points_file)  # thumos14 / anet12: the shipped clicks, as train reads them
    classes = detector_classes(detector, name)
    listed = set(read_video_list(videos)) if videos is not None else None
    points, point_classes = _read_points(points_file, classes, annotations, fps, points_fps, listed)
    if listed is not None:
        points = _listed_points(points, listed, videos)
    if not points:
        raise InputError("holds no points", file=str(points_file), field="points")
    check_point_classes(points, point_classes, classes, name, points_file)
    plans = plan_videos(points, annotations=annotations, fps=fps, stride=stride, num_frames=num_frames,
                        points_file=points_file)
    signals_path = Path(out) / SIGNALS_FILE
    with atomic_folder(out) as staging:
        run_detector(detector, name, features, plans, points_file=points_file, progress=progress).save(
            staging / SIGNALS_FILE, classes)
        try:  # read back as admfit fit reads it: what is fitted is what the file holds
            signals = load_signals(staging / SIGNALS_FILE)
        except InputError as error:
            raise InputError(f"detector {name!r} gave signals admfit fit cannot read: {error.message}",
                             file=str(signals_path), video=error.video, field=error.field) from None
        outcome = fit_signals(signals, points, point_classes, config=config, signals_file=signals_path,
                              points_file=points_file, threads=threads, min_confidence=min_confidence,
                              progress=progress)
        outcome.meta.update(meta or {})
        outcome.meta.update(annotation_meta(annotations, {plan.video: plan.grid for plan in plans}))
        write_label_file(staging / PSEUDO_LABELS_FILE, outcome.rows, outcome.meta)
    return outcome
