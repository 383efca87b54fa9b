"""Which snippet grid a synthetic video lives on, and how many snippets it has.

A *grid function* takes a ``VideoAnnotation`` and returns ``(SnippetGrid, num_snippets)``.

* THUMOS'14 (ActionFormer grid, the one ADM-Loc states; docs/spec.md section 3): native fps, 16-frame
  windows every 4 frames, ``T = floor((frames - 16) / 4) + 1`` with ``frames = duration_s * fps``.
* ActivityNet-1.2: every video linearly interpolated to 192 steps (ActionFormer's practice). The
  192 steps then cover the whole video: step ``i`` is centred at ``(i + 0.5) * duration_s / 192``
  seconds, which is ActionFormer's resized grid (there: stride = num_frames = duration_s * fps / 192
  frames, and the fps cancels out). It is expressed here as ``fps = 192 / duration_s`` steps per
  second with ``stride = num_frames = 1``, so that every video shares one stride and one window
  (signals.npz stores those once, and the fps per video).
"""
from __future__ import annotations

from ..errors import InputError
from ..grid import SnippetGrid

THUMOS_STRIDE_FRAMES = 4
THUMOS_WINDOW_FRAMES = 16
ANET_NUM_SNIPPETS = 192


def _duration_s(video) -> float:
    if video.duration_s is None or not video.duration_s > 0:
        raise InputError("a positive duration in seconds is needed to lay out snippets", video=video.video,
                         field="duration")
    return float(video.duration_s)


def thumos14_grid(video) -> tuple[SnippetGrid, int]:
    """ActionFormer THUMOS'14 grid at the video's native fps; at least one snippet."""
    if video.fps is None or not video.fps > 0:
        raise InputError("a positive native fps is needed for the THUMOS'14 grid", video=video.video, field="fps")
    frames = _duration_s(video) * video.fps
    num_snippets = max(1, int((frames - THUMOS_WINDOW_FRAMES) // THUMOS_STRIDE_FRAMES) + 1)
    return SnippetGrid(fps=video.fps, stride=THUMOS_STRIDE_FRAMES, num_frames=THUMOS_WINDOW_FRAMES), num_snippets


def anet12_grid(video) -> tuple[SnippetGrid, int]:
    """192 steps spread over the whole video (ActionFormer's resized ActivityNet grid)."""
    steps_per_second = ANET_NUM_SNIPPETS / _duration_s(video)
    return SnippetGrid(fps=steps_per_second, stride=1, num_frames=1), ANET_NUM_SNIPPETS


GRIDS = {"thumos14": thumos14_grid, "anet12": anet12_grid}
