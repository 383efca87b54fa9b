"""Simulated point labels: one frame per ground-truth instance, as in SF-Net / LACP.

Two recipes (all positions are integer **frame indices at the video's native fps**, as
in LACP's ``point_labels.csv``):

* ``uniform`` (SF-Net's simulated protocol): a frame drawn uniformly from the instance's
  frames ``[start_frame, stop_frame]``.
* ``gaussian``: a frame drawn from a normal distribution around the instance centre,
  truncated to the instance, then rounded:
  ``centre = (start_frame + stop_frame) / 2 + shift_frames`` and
  ``sigma = sigma_frames + sigma_rel * (stop_frame - start_frame)``.
  No published recipe states LACP's parameters; the defaults (shift -1.5 frames,
  sigma 1.0 frame, sigma_rel 0) are estimated from LACP's shipped THUMOS'14 file, whose
  offsets from the centre do not grow with the instance length (mean -1.5, sd 1.05 frames
  including rounding; see docs/datasets.md). ``sigma_rel > 0`` gives the other common
  reading, a spread proportional to the duration.

``start_frame = round(start_s * fps)`` and ``stop_frame = round(min(end_s, duration_s) * fps)``:
an instance is clipped to its video. Instances that start at or after the video's end
(4 in THUMOS'14 train, which LACP's file also lacks) cannot be clicked: they are skipped
and listed in ``SimulatedPoints.skipped``, never dropped silently.

Each video draws from its own stream seeded by ``(seed, crc32(video))`` (``admfit.synthetic.noise.video_rng``):
the same seed gives the same points, whatever subset of videos is simulated.
"""
from __future__ import annotations

import csv
import io
from typing import Literal, Mapping, NamedTuple, Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy.stats import truncnorm

from admfit.datasets.annotations import Instance, VideoAnnotation, class_index, load_annotations, thumos14_fps
from admfit.datasets.points import LACP_COLUMNS, PointLabel
from admfit.datasets.rates import SHIPPED_TABLE, ClickRates, click_rates
from admfit.errors import InputError
from admfit.files.validation import MAX_FRAMES
from admfit.synthetic.noise import video_rng


class SimulationConfig(BaseModel):
    """How points are drawn. Frame quantities are at each video's native fps."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dist: Literal["gaussian", "uniform"] = "gaussian"
    seed: int = Field(default=0, ge=0)
    # Bounded: a shift of 1e300 frames is a typo, and truncnorm fails on it far from the instance.
    shift_frames: float = Field(default=-1.5, ge=-MAX_FRAMES, le=MAX_FRAMES, allow_inf_nan=False,
                                description="gaussian: centre offset from the instance middle, frames")
    sigma_frames: float = Field(default=1.0, ge=0, le=MAX_FRAMES, allow_inf_nan=False,
                                description="gaussian: constant part of the spread, frames")
    sigma_rel: float = Field(default=0.0, ge=0, le=1000.0, allow_inf_nan=False,
                             description="gaussian: spread per frame of instance length (fraction)")


class SimulatedPoint(BaseModel):
    """One row of the LACP point CSV. Frames are integer indices at the video's native fps."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    label: str
    label_id: int = Field(ge=0)
    start_frame: int = Field(ge=0)
    stop_frame: int = Field(ge=0)
    video: str
    point: int = Field(ge=0)
    fps: float = Field(gt=0)

    def to_point_label(self) -> PointLabel:
        return PointLabel(video=self.video, label=self.label, label_id=self.label_id,
                          time_s=self.point / self.fps, frame=float(self.point))


class SkippedInstance(NamedTuple):
    video: str
    instance: Instance
    reason: str


class SimulatedPoints(NamedTuple):
    points: list[SimulatedPoint]
    skipped: list[SkippedInstance]


def _video_fps(record: VideoAnnotation, fps: ClickRates | Mapping[str, float] | None, source: str) -> float:
    if isinstance(fps, ClickRates):  # the one conversion of click frames (admfit.datasets.rates)
        return fps.fps(record.video, file=source, field="fps")
    value = (fps or {}).get(record.video, record.fps)
    if value is None or not np.isfinite(value) or value <= 0:
        raise InputError("no native fps for this video (give an fps table)", file=source,
                         video=record.video, field="fps")
    return float(value)


def _draw_frames(starts: np.ndarray, stops: np.ndarray, config: SimulationConfig,
                 rng: np.random.Generator) -> np.ndarray:
    """Integer frames in ``[starts, stops]`` (both int arrays, frames), one per instance."""
    if config.dist == "uniform":
        return rng.integers(starts, stops, endpoint=True)
    centre = (starts + stops) / 2.0 + config.shift_frames
    sigma = config.sigma_frames + config.sigma_rel * (stops - starts)
    frames = np.clip(np.rint(centre), starts, stops)
    # truncnorm needs a scale whose reciprocal is finite and a non-empty interval; others keep the rounded
    # centre (a draw of width below a millionth of a frame rounds to it anyway).
    drawn = (sigma > 1e-6) & (stops > starts)
    if drawn.any():
        scale = sigma[drawn] if np.ndim(sigma) else np.full(drawn.sum(), sigma)
        loc = centre[drawn]
        values = truncnorm.rvs((starts[drawn] - loc) / scale, (stops[drawn] - loc) / scale,
                               loc=loc, scale=scale, random_state=rng)
        frames[drawn] = np.clip(np.rint(values), starts[drawn], stops[drawn])
    return frames.astype(np.int64)


def _simulate_video(record: VideoAnnotation, fps: float, ids: Mapping[str, int],
                    config: SimulationConfig) -> SimulatedPoints:
    kept, skipped = [], []
    for inst in record.instances:
        if record.duration_s is not None and inst.start_s >= record.duration_s:
            skipped.append(SkippedInstance(record.video, inst, "starts after the video ends"))
        else:
            kept.append(inst)
    if not kept:
        return SimulatedPoints([], skipped)
    end_s = np.array([min(i.end_s, record.duration_s or np.inf) for i in kept])
    starts = np.rint(np.array([i.start_s for i in kept]) * fps).astype(np.int64)
    stops = np.maximum(np.rint(end_s * fps).astype(np.int64), starts)
    frames = _draw_frames(starts, stops, config, video_rng(config.seed, record.video))
    points = [SimulatedPoint(label=inst.label, label_id=inst.label_id if inst.label_id is not None else ids[inst.label],
                             start_frame=int(s), stop_frame=int(e), video=record.video, point=int(p), fps=fps)
              for inst, s, e, p in zip(kept, starts, stops, frames)]
    return SimulatedPoints(points, skipped)


def simulate_points(annotations: Mapping[str, VideoAnnotation], config: SimulationConfig, *,
                    fps: ClickRates | Mapping[str, float] | None = None,
                    source: str = "annotations") -> SimulatedPoints:
    """One simulated point per instance, videos in sorted order, instances in file order.

    ``fps``: native frames per second per video: ClickRates (``admfit.datasets.rates.click_rates``, what
    ``admfit simulate-points`` passes, so that ``load_points`` reads the frames back at the same rates), or a
    mapping whose missing videos take the record's own ``fps``; when None, each record's own ``fps`` is used,
    then the shipped THUMOS'14 ``fps_dict.json``. A video with no fps -> InputError.
    """
    if fps is None and any(record.fps is None for record in annotations.values()):  # library default
        fps = thumos14_fps()
    ids = class_index(annotations)
    points, skipped = [], []
    for video in sorted(annotations):
        record = annotations[video]
        result = _simulate_video(record, _video_fps(record, fps, source), ids, config)
        points.extend(result.points)
        skipped.extend(result.skipped)
    return SimulatedPoints(points, skipped)


def simulate_file(annotations_file, config: SimulationConfig, *, subset: str | None = "train",
                  points_fps=SHIPPED_TABLE) -> SimulatedPoints:
    """``admfit simulate-points``: one point per instance of the annotation file's ``subset`` (None or 'all': every
    video), its frames at the native fps ``points_fps`` names (``admfit.datasets.rates.click_rates``: thumos14, a
    JSON {video: fps}, or annotations), so that ``load_points`` reads them back at the same rates."""
    records = load_annotations(annotations_file, subset=None if subset in (None, "all") else subset)
    if not records:
        raise InputError("no videos to simulate", file=str(annotations_file), field="subset")
    rates = click_rates(points_fps, annotations=records, annotations_file=annotations_file)
    return simulate_points(records, config, fps=rates, source=str(annotations_file))


def points_csv(points: Sequence[SimulatedPoint]) -> str:
    """The LACP point CSV text (header ``class,class_index,start_frame,stop_frame,video_id,point``)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(LACP_COLUMNS)
    for p in points:
        writer.writerow([p.label, p.label_id, p.start_frame, p.stop_frame, p.video, p.point])
    return buffer.getvalue()


def relative_positions(points: Sequence[SimulatedPoint]) -> np.ndarray:
    """``(point - start_frame) / (stop_frame - start_frame)`` per point; NaN for one-frame instances."""
    start = np.array([p.start_frame for p in points], dtype=np.float64)
    span = np.array([p.stop_frame for p in points], dtype=np.float64) - start
    point = np.array([p.point for p in points], dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(span > 0, (point - start) / span, np.nan)
