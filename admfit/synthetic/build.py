"""`admfit synth`: a THUMOS'14- or ActivityNet-shaped synthetic data set, written to a folder.

The videos, durations, instances, classes and point labels are the real ones of the chosen data
set; only the features and detector signals are synthetic. See :mod:`admfit.synthetic.output` for
the files.
"""
from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from admfit.files.points import save_points_json
from admfit.files.signals import save_signals
from admfit.files.video_files import check_video_ids

from ..data import data_path
from ..datasets import PointLabel, class_names, load_annotations, load_points, thumos14
from ..errors import InputError
from ..files.label_outputs import SIGNALS_FILE
from .choices import Difficulty, Like, Mode, Subset
from .features import FEATURE_DIFFICULTIES, iter_features
from .layout import GRIDS
from .output import (
    MANIFEST,
    Staging,
    anet_points_csv,
    annotation_document,
    lacp_points_csv,
    select_points,
    spread_selection,
    write_feature_file,
    write_json,
    write_text,
)
from .signals import DIFFICULTIES, make_signals

VERSION = "admfit-synth-0.1"


class SynthOptions(BaseModel):
    """What `admfit synth` makes. dim: feature dimension D; max_videos: per subset."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    like: Like = Like.thumos14
    mode: Mode = Mode.both
    dim: int = Field(256, ge=2, le=8192, description="feature dimension D (real I3D features: 2048)")
    seed: int = Field(0, ge=0, le=2**63 - 1)
    difficulty: Difficulty = Difficulty.medium
    subset: Subset = Subset.all
    max_videos: int | None = Field(None, ge=1, description="at most this many videos per subset, spread evenly")
    annotations: Path | None = Field(None, description="ActivityNet-1.2 annotation JSON (required for anet12)")
    simulate_missing_points: bool = False
    overwrite: bool = False


def _subsets(subset: Subset) -> tuple[str, ...]:
    return ("train", "test") if subset is Subset.all else (subset.value,)


def load_source(options: SynthOptions):
    """(videos key -> VideoAnnotation, class names, real PointLabels) of the chosen data set and subset."""
    if options.like is Like.thumos14:
        if options.annotations is not None:
            raise InputError("only anet12 takes --annotations; THUMOS'14 uses the shipped files",
                             file=str(options.annotations), field="annotations")
        every = thumos14()
        pick = {name: thumos14(name) for name in _subsets(options.subset)}
        points = load_points(data_path("thumos14", "point_gaussian.csv"))
    else:
        if options.annotations is None:
            raise InputError("ActivityNet-1.2 annotations are not shipped (no licence): pass --annotations PATH "
                             "to your copy of activity_net.v1-2.min.json", field="annotations")
        every = load_annotations(options.annotations)
        pick = {name: load_annotations(options.annotations, subset=name) for name in _subsets(options.subset)}
        points = load_points(data_path("anet12", "point_gaussian_from_hrpro_anet13.csv"))
    videos = {}
    for subset_videos in pick.values():
        videos.update(spread_selection(subset_videos, options.max_videos))
    return videos, class_names(every), points


def _metadata(options: SynthOptions, videos, pairs, outside: int) -> dict:
    grid = ("ActionFormer THUMOS'14 grid: native fps, 16-frame windows, stride 4 frames"
            if options.like is Like.thumos14 else "192 steps over each video (ActivityNet, ActionFormer resizing)")
    difficulty = options.difficulty.value
    # what admfit-torch reads the features with (its data.grid): a folder that says so is read as such
    feature_grid = "thumos14_actionformer" if options.like is Like.thumos14 else "spread"
    return {"version": VERSION, "options": options.model_dump(mode="json"), "grid": grid, "feature_grid": feature_grid,
            "videos": len(videos), "instances": sum(len(video.instances) for video in videos.values()),
            "points": len(pairs), "pointed_videos": len({point.video for point, _ in pairs}),
            "points_outside_their_instance": outside,
            "signal_difficulty": DIFFICULTIES[difficulty].model_dump(mode="json"),
            "feature_difficulty": FEATURE_DIFFICULTIES[difficulty].model_dump(mode="json")}


def _write_features(folder: Path, videos, classes, options: SynthOptions, progress) -> None:
    folder.mkdir()
    made_videos = iter_features(videos, classes, dim=options.dim, difficulty=options.difficulty.value,
                                seed=options.seed, grid_for=GRIDS[options.like.value])
    for done, (key, made) in enumerate(made_videos, start=1):
        write_feature_file(folder, key, made.features)
        if progress is not None:
            progress(done, len(videos))


def _write_signals(folder: Path, videos, classes, pairs, options: SynthOptions) -> None:
    # admfit fit wants points in every video of signals.npz: videos without points are left out.
    pointed = {point.video for point, _ in pairs}
    signals = make_signals({key: video for key, video in videos.items() if key in pointed}, classes,
                           difficulty=options.difficulty.value, seed=options.seed, grid_for=GRIDS[options.like.value])
    save_signals(folder / SIGNALS_FILE, {key: made.probs for key, made in signals.items()}, classes=classes,
                 bg_probs={key: made.bg_probs for key, made in signals.items()},
                 grids={key: made.grid for key, made in signals.items()})
    save_points_json(folder / "points.json", [point for point, _ in pairs], classes=classes)


def synthesize(out_dir: str | Path, options: SynthOptions, progress=None) -> dict:
    """Write the synthetic data set to ``out_dir``; returns the metadata written to synth.json.

    progress: optional callable(done, total) called after each video's features are written.
    """
    videos, classes, real_points = load_source(options)
    pairs, outside = select_points(videos, real_points, simulate_missing=options.simulate_missing_points,
                                   seed=options.seed, point_type=PointLabel)
    # Ids become features/<id>.npy: one such as '../x' is refused before anything is written.
    check_video_ids(videos, file=options.annotations or "the shipped THUMOS'14 annotations", field="database")
    for video in videos.values():
        GRIDS[options.like.value](video)  # fails early (no duration / fps) before anything is written
    metadata = _metadata(options, videos, pairs, outside)
    with Staging(Path(out_dir), overwrite=options.overwrite) as staging:
        write_json(staging.path / "annotations.json", annotation_document(videos, classes, VERSION))
        to_csv = lacp_points_csv if options.like is Like.thumos14 else anet_points_csv
        write_text(staging.path / "points.csv", to_csv(pairs, videos, classes))
        if options.mode in (Mode.features, Mode.both):
            _write_features(staging.path / "features", videos, classes, options, progress)
        if options.mode in (Mode.signals, Mode.both):
            _write_signals(staging.path, videos, classes, pairs, options)
        write_json(staging.path / MANIFEST, metadata)
        staging.commit()
    return metadata
