"""The rate each input counts at, and the one conversion of click frames to seconds (docs/spec.md section 3.6).

* **Click files** in LACP's layout (``point_gaussian.csv``, ``admfit simulate-points``) hold frame indices at
  each video's **native** fps: ``time_s = frame / native_fps[video]``. The native rates come from a
  :class:`ClickRates` table: the shipped THUMOS'14 ``fps_dict.json`` (``thumos14``, the default), a JSON file
  ``{video: fps}`` (``--points-fps`` / ``run.points_fps``), or the annotation file's ``fps`` when the user says
  it is the native one (``annotations``). A video missing from the table is refused, never converted at a guessed
  rate: the annotation file's fps is often the **features'** rate (ActionFormer's THUMOS'14 JSON says 30 for
  every video, ``video_validation_0000411`` was recorded at 24), so using it for clicks moves them by seconds.
* The ActivityNet derived CSV carries its own seconds (``point_time``) and SF-Net clicks are in seconds: no rate.
* **Features** count snippets of the grid they were extracted on (the features' fps: ``--fps``, or the annotation
  file's); seconds become snippets through :class:`admfit.grid.SnippetGrid` only.
* **Annotations** are in seconds.

Where a click's native rate and its video's feature rate differ, that is expected (features resampled to 30 fps);
:func:`note_rate_disagreement` says once which rate the clicks were converted at.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from admfit.errors import InputError, Notice

SHIPPED_TABLE = "thumos14"
FROM_ANNOTATIONS = "annotations"
# What to give when a video's native rate is unknown (the same words in every command's error).
REMEDY = ("give --points-fps: a JSON {video: native fps}, or 'annotations' when the annotation file's fps are the "
          "videos' native rates")


@dataclass(frozen=True)
class ClickRates:
    """Native frames per second per video, to turn click frames into seconds; ``source`` names the table."""

    table: Mapping[str, float]
    source: str

    def fps(self, video: str, *, file=None, line: int | None = None, field: str = "video_id") -> float:
        """The native fps of ``video``; InputError naming the video (and the click file's line) when unknown."""
        try:
            return float(self.table[video])
        except KeyError:
            where = f"line {line}: " if line is not None else ""
            raise InputError(f"{where}no native fps for this video in {self.source}, so its click frames cannot "
                             f"become seconds ({REMEDY})", file=None if file is None else str(file), video=video,
                             field=field) from None


def shipped_rates() -> ClickRates:
    """The shipped THUMOS'14 native rates (LACP's fps_dict.json, 2,584 videos)."""
    from admfit.datasets.annotations import thumos14_fps

    return ClickRates(thumos14_fps(), "the shipped THUMOS'14 fps table (fps_dict.json)")


def click_rates(source=SHIPPED_TABLE, *, annotations: Mapping | None = None, annotations_file=None) -> ClickRates:
    """The native rates named by ``source``: ``thumos14`` (or None), ``annotations`` (each record's ``fps`` of
    ``annotations``, a mapping video -> VideoAnnotation), or a JSON file ``{video: fps}``."""
    if source is None or (str(source) == SHIPPED_TABLE and not Path(str(source)).exists()):
        return shipped_rates()
    if str(source) == FROM_ANNOTATIONS and not Path(str(source)).exists():
        if annotations is None:
            raise InputError("'annotations' needs an annotation file to take the native fps from (--annotations)",
                             field="points_fps")
        where = f" ({annotations_file})" if annotations_file is not None else ""
        return ClickRates({video: record.fps for video, record in annotations.items() if record.fps},
                          f"the annotation file's fps{where}")
    from admfit.datasets.shipped import load_fps_table

    return ClickRates(load_fps_table(source), str(source))


def as_rates(fps) -> ClickRates:
    """``fps`` as ClickRates: itself, a mapping {video: native fps}, or None (the shipped THUMOS'14 table)."""
    if isinstance(fps, ClickRates):
        return fps
    if fps is None:
        return shipped_rates()
    return ClickRates(dict(fps), "the fps table given")


def note_rate_disagreement(points: Sequence, rates: ClickRates, feature_fps: Mapping[str, float] | float, *,
                           points_file=None) -> None:
    """One Notice when a video's clicks were converted at a native rate other than its features' rate.

    ``points``: PointLabels (those with a ``frame`` came from frames); ``feature_fps``: video -> the fps of its
    features' grid, or one fps for every video. Only the videos of ``feature_fps`` (those used) are compared."""
    if not isinstance(feature_fps, Mapping):
        feature_fps = dict.fromkeys((point.video for point in points), float(feature_fps))
    differing = {}
    for point in points:
        video = point.video
        if point.frame is None or video in differing or video not in feature_fps or video not in rates.table:
            continue
        native = float(rates.table[video])
        if abs(native - float(feature_fps[video])) > 1e-6 * native:
            differing[video] = (native, float(feature_fps[video]))
    if not differing:
        return
    video, (native, features) = next(iter(differing.items()))
    clicked = len({point.video for point in points if point.frame is not None and point.video in feature_fps})
    where = f"{points_file}: " if points_file is not None else ""
    warnings.warn(Notice(
        f"{where}click frames converted at each video's native fps from {rates.source}, not at the features' fps: "
        f"they differ for {len(differing)} of {clicked} clicked videos, e.g. {video} ({native:g} native, "
        f"{features:g} features)"), stacklevel=2)
