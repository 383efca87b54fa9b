"""The snippet grid of an annotated video: which SnippetGrid turns its seconds into snippets."""
from __future__ import annotations

from typing import Literal

from admfit.datasets.annotations import VideoAnnotation
from admfit.errors import InputError
from admfit.grid import SnippetGrid, anet12, thumos14_actionformer, thumos14_lacp

GridPreset = Literal["thumos14_actionformer", "thumos14_lacp", "anet12"]


def grid_for(record: VideoAnnotation, preset: GridPreset = "thumos14_actionformer", *,
             stride: float | None = None, num_frames: float | None = None) -> SnippetGrid:
    """The SnippetGrid of ``record`` under a feature preset.

    ``thumos14_actionformer``: the video's native fps (needs ``record.fps``), 16-frame
    windows every 4 frames (the grid ADM-Loc states). ``thumos14_lacp``: 25 fps,
    non-overlapping 16-frame chunks. ``anet12``: 25 fps, 16-frame windows, stride 16.
    ``stride`` / ``num_frames`` (frames) override the preset's.
    """
    if preset == "thumos14_actionformer":
        if record.fps is None:
            raise InputError("the ActionFormer grid needs the fps of the video's features, and the annotation file "
                             "gives none", video=record.video, field="fps")
        grid = thumos14_actionformer(record.fps)
    elif preset == "thumos14_lacp":
        grid = thumos14_lacp()
    elif preset == "anet12":
        grid = anet12()
    else:
        raise InputError(f"unknown grid preset {preset!r}", video=record.video, field="preset")
    overrides = {k: v for k, v in (("stride", stride), ("num_frames", num_frames)) if v is not None}
    return SnippetGrid(**{**grid.model_dump(), **overrides}) if overrides else grid
