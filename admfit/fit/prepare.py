"""prepare_instances: every video's inputs checked and prepared at once, as the flat arrays of one fit.

Why one pass over all videos: a numpy call costs microseconds, and preparing videos one at a time (a dozen calls
each) cost more than the fit itself on thousands of short videos. Here what only Python sees (types, shapes, the
arrays' addresses) is read for all videos by functions mapped over them; the points of all videos are checked,
grouped by (video, class) and given their neighbours as columns (one sort); then one parallel kernel,
prepare_videos, takes every video in turn: checks every value of its probabilities while gathering the class
columns that have points into one flat array (each (video, class) one segment), measures their noise and despikes
them, and turns its background probabilities into its mask. Smoothing and upsampling then run over the segments,
by prepare_class_signals' recipe (admfit.fit.signal.class_signals). The kernels are admfit.fit._kernels.prepare
and admfit.fit._kernels.signal. The result is bitwise the per-video preparation's
(admfit.fit.signal.prepare_class_signals, prepare_background; tests/core/test_adm_batch.py).

Bad input: any check that fails sends the inputs through the per-video checks in the order of the videos, so
the first problem is reported as it always was, one InputError naming video and field.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from operator import attrgetter
from typing import NamedTuple

import numpy as np

from admfit.errors import InputError
from admfit.fit._kernels.addresses import address
from admfit.fit._kernels.confidence import (
    BACKGROUND_FLOAT32,
    BACKGROUND_FLOAT64,
    BACKGROUND_MASK,
    actionness_segments,
)
from admfit.fit._kernels.prepare import in_unit_interval, prepare_videos
from admfit.fit._kernels.signal import filter_segments, resample_segments
from admfit.fit.confidence import CONFIDENCE_SIGMA
from admfit.fit.config import ADMConfig
from admfit.fit.signal import class_signals, smoothing_weights
from admfit.levels import StepCentres
from admfit.threads import numba_threads


@dataclass(frozen=True, eq=False)
class PreparedBatch:
    """Every instance of ``prepare_instances``, ready for ``fit_prepared``: N instances of V videos.

    config: the ADMConfig the signals were prepared with (the fit uses it too); keys: the V videos of
    ``points``, in order (some may have no points); video, point, label: (N,) int64 per instance, its video's
    index in keys, its snippet and class. The rest are the fit's flat inputs: columns (float64), each (video,
    class) with points one segment of its video's length T; locate, the same smoothed for the decisions (the
    same array when both smoothings are equal); background (bool), every video's mask in turn; per instance
    column_start, background_start, length (T), previous / following (the nearest other point of its class,
    -1 / T: none) and min_dip (the dip depth of a split). actionness: in the columns' layout, what the labels'
    confidence reads (``admfit.fit.confidence``: the cleaned class column and the background, smoothed).
    """

    config: ADMConfig
    keys: list[str]
    video: np.ndarray
    point: np.ndarray
    label: np.ndarray
    columns: np.ndarray
    locate: np.ndarray
    background: np.ndarray
    column_start: np.ndarray
    background_start: np.ndarray
    length: np.ndarray
    previous: np.ndarray
    following: np.ndarray
    min_dip: np.ndarray
    actionness: np.ndarray

    @property
    def size(self) -> int:
        return int(self.point.shape[0])


class _Inputs(NamedTuple):
    """The user's arguments, per video of ``points`` in order (masks / bgs / centres: None where not given)."""

    keys: list[str]
    probs: list
    points: list
    masks: list
    bgs: list
    centres: list


def _as_mapping(name: str, value, keys: list[str] | None) -> dict:
    """Ragged inputs come as a dict keyed by video or as a sequence aligned with `keys`."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (list, tuple)):
        if keys is None:
            return {str(i): item for i, item in enumerate(value)}
        if len(value) != len(keys):
            raise InputError(f"has {len(value)} entries for {len(keys)} videos", field=name)
        return dict(zip(keys, value))
    raise InputError(f"must be a dict keyed by video or a list of per-video arrays, got {type(value).__name__}",
                     field=name)


def _inputs(probs, points, background, bg_probs, centres=None) -> _Inputs:
    if background is not None and bg_probs is not None:
        raise InputError("give either background or bg_probs, not both", field="background")
    probs_by_video = _as_mapping("probs", probs, None)
    keys = [str(key) for key in probs_by_video]
    probs_by_video = dict(zip(keys, probs_by_video.values()))
    points_by_video = _as_mapping("points", points, keys)
    masks = _as_mapping("background", background, keys)
    bgs = _as_mapping("bg_probs", bg_probs, keys)
    for key in points_by_video:
        if str(key) not in probs_by_video:
            raise InputError("has points but no probs", video=str(key), field="points")
    points_by_video = {str(key): value for key, value in points_by_video.items()}
    # Output follows the order of the points, the user's list of annotations.
    order = list(points_by_video)
    centres_of = centres if isinstance(centres, Mapping) else {key: centres for key in order}
    for key in order:
        if key not in centres_of:
            raise InputError("has no step centres (a dict of centres must name every video)", video=key,
                             field="centres")
    return _Inputs(order, [probs_by_video[key] for key in order], list(points_by_video.values()),
                   [masks.get(key) for key in order], [bgs.get(key) for key in order],
                   [centres_of.get(key) for key in order])


# ---- the per-video checks: the reference for the messages (and what a failed fast check falls back to) ----

def _check_probs(video: str, field: str, array, ndim: int) -> np.ndarray:
    values = np.asarray(array)
    if values.dtype not in (np.float32, np.float64):
        try:
            values = values.astype(np.float64)
        except (TypeError, ValueError):
            raise InputError("is not numeric", video=video, field=field) from None
    if values.ndim != ndim or values.shape[0] == 0 or (ndim == 2 and values.shape[1] == 0):
        raise InputError(f"must be a non-empty {ndim}-D array, got shape {values.shape}", video=video, field=field)
    if not in_unit_interval(values.reshape(-1)):
        if not np.all(np.isfinite(values)):
            raise InputError("holds NaN or inf", video=video, field=field)
        raise InputError(f"holds values outside [0, 1] (min {values.min():.4g}, max {values.max():.4g})",
                         video=video, field=field)
    return values


def _check_points(video: str, points, num_snippets: int, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    array = np.asarray(points)
    if array.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    if array.ndim != 2 or array.shape[1] != 2:
        raise InputError(f"must be (N, 2) rows of (snippet, class), got shape {array.shape}", video=video,
                         field="points")
    if not np.issubdtype(array.dtype, np.integer):
        if not np.all(np.isfinite(array.astype(np.float64))) or np.any(array != np.round(array)):
            raise InputError("snippet and class indices must be integers", video=video, field="points")
    snippets, labels = array[:, 0].astype(np.int64), array[:, 1].astype(np.int64)
    if snippets.min() < 0 or snippets.max() >= num_snippets:
        bad = snippets[(snippets < 0) | (snippets >= num_snippets)][0]
        raise InputError(f"point at snippet {bad} is outside the video [0, {num_snippets - 1}]", video=video,
                         field="points")
    if labels.min() < 0 or labels.max() >= num_classes:
        bad = labels[(labels < 0) | (labels >= num_classes)][0]
        raise InputError(f"class index {bad} is outside [0, {num_classes - 1}]", video=video, field="points")
    return snippets, labels


def _check_same_classes(inputs: _Inputs) -> None:
    """Class indices refer to one class list, so every video must have the same number of classes."""
    counts = {key: np.shape(probs)[-1] for key, probs in zip(inputs.keys, inputs.probs)}
    first = next(iter(counts.values()), None)
    for key, count in counts.items():
        if count != first:
            raise InputError(f"has {count} classes, other videos {first}", video=key, field="probs")


def _check_per_video(inputs: _Inputs) -> None:
    """Every check, one video after the other: raises the first problem."""
    for key, probs, points, mask, bg_probs in zip(*inputs[:5]):
        signal = _check_probs(key, "probs", probs, 2)
        if mask is not None:
            background = np.asarray(mask)
            if background.ndim != 1 or background.size == 0 or background.dtype != np.bool_:
                raise InputError(f"must be a non-empty 1-D bool array, got {background.dtype} {background.shape}",
                                 video=key, field="background")
        elif bg_probs is not None:
            background = _check_probs(key, "bg_probs", bg_probs, 1)
        else:
            raise InputError("no background given: pass background (mask) or bg_probs", video=key,
                             field="background")
        if signal.shape[0] > background.shape[0]:
            raise InputError(f"has {signal.shape[0]} steps, more than the {background.shape[0]} background "
                             "snippets", video=key, field="probs")
        _check_points(key, points, background.shape[0], signal.shape[1])
    _check_same_classes(inputs)


# ---- the fast path: structure per video, values of all videos in one parallel pass, points as columns ----

class _Invalid(Exception):
    """Some check failed: the per-video checks will say which, in their order."""


_FLOAT32, _FLOAT64, _BOOL = np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.bool_)
# C-level attribute reads, mapped over every video's array at once (a Python loop costs microseconds per video).
_DTYPE, _NDIM, _FLAGS, _SIZE = (attrgetter(name) for name in ("dtype", "ndim", "flags", "size"))


def _integers(values) -> np.ndarray:
    return np.array(list(values), dtype=np.int64)  # faster than np.fromiter


def _arrays(values: list) -> list:
    return [item if type(item) is np.ndarray else np.asarray(item) for item in values]


def _shapes(arrays: list, ndim: int) -> np.ndarray:
    """(V, ndim) int64 shapes of arrays (1 or 2 dimensions) that must all have ndim dimensions, none of length 0.
    From len() and .size: numpy's .shape builds a new tuple each time, slower."""
    if any(rank != ndim for rank in map(_NDIM, arrays)):
        raise _Invalid
    length = _integers(map(len, arrays))
    size = _integers(map(_SIZE, arrays))
    if np.any(size == 0):
        raise _Invalid
    return length[:, None] if ndim == 1 else np.stack((length, size // length), axis=1)


class _Floats(NamedTuple):
    """Every video's array of one kind of probabilities, ready for prepare_videos."""

    arrays: list      # C-contiguous and aligned, float32 or float64: alive until the kernel has run
    at: np.ndarray    # (V,) int64 addresses
    double: np.ndarray  # (V,) bool: float64, else float32
    shapes: np.ndarray  # (V, ndim) int64


def _floats(values: list, ndim: int) -> _Floats:
    """Probability arrays (values unchecked), converted as _check_probs converts them, of ndim dimensions."""
    arrays = _arrays(values)
    for index, dtype in enumerate(map(_DTYPE, arrays)):
        if dtype is not _FLOAT32 and dtype is not _FLOAT64:  # identity first: cheap
            arrays[index] = _float_array(arrays[index])
    shapes = _shapes(arrays, ndim)
    for index, flags in enumerate(map(_FLAGS, arrays)):
        if not (flags.c_contiguous and flags.aligned):  # prepare_videos reads them flat through their address
            arrays[index] = np.array(arrays[index], order="C")
    return _Floats(arrays, _integers(map(address, arrays)),
                   np.array([dtype is _FLOAT64 for dtype in map(_DTYPE, arrays)], dtype=np.bool_), shapes)


def _float_array(values: np.ndarray) -> np.ndarray:
    """float32 stays float32 (a dtype equal to it but another instance: a copy with numpy's own); the rest, as
    _check_probs converts them, float64."""
    if values.dtype == _FLOAT32:
        return values.astype(np.float32)
    try:
        return values.astype(np.float64)
    except (TypeError, ValueError):
        raise _Invalid from None


def _point_table(points: list) -> tuple[np.ndarray, np.ndarray]:
    """(counts (V,), all videos' (N, 2) point rows as one int64 table), as _check_points reads them (ranges
    unchecked)."""
    tables = _arrays(points)
    counts = np.zeros(len(tables), np.int64)
    given = [index for index, size in enumerate(map(_SIZE, tables)) if size]
    if not given:
        return counts, np.empty((0, 2), np.int64)
    tables = [tables[index] for index in given]
    shapes = _shapes(tables, 2)
    if np.any(shapes[:, 1] != 2):
        raise _Invalid
    counts[given] = shapes[:, 0]
    table = np.concatenate(tables)
    if table.dtype.kind not in "iu":  # np.issubdtype(dtype, np.integer), which costs microseconds
        try:
            exact = np.all(np.isfinite(table.astype(np.float64))) and not np.any(table != np.round(table))
        except (TypeError, ValueError):
            raise _Invalid from None
        if not exact:
            raise _Invalid
    return counts, table.astype(np.int64, copy=False)


class _Videos(NamedTuple):
    """The fast path's view of the inputs, per video (V): arrays, shapes, addresses."""

    probs: _Floats
    bgs: _Floats | None  # None when masks are given
    masks: list          # the given masks, else empty
    lengths: np.ndarray  # (V,) background snippets
    counts: np.ndarray   # (V,) points
    points: np.ndarray   # (N, 2) int64


def _videos(inputs: _Inputs) -> _Videos:
    """What only Python can see of the inputs, checked for every video at once: types, shapes, addresses.
    Raises _Invalid."""
    probs = _floats(inputs.probs, 2)
    masks, bgs = [], None
    if all(mask is not None for mask in inputs.masks):
        masks = _arrays(inputs.masks)
        lengths = _shapes(masks, 1)[:, 0]
        if not all(dtype is _BOOL or dtype == _BOOL for dtype in map(_DTYPE, masks)):
            raise _Invalid
    elif all(values is not None for values in inputs.bgs):
        bgs = _floats(inputs.bgs, 1)
        lengths = bgs.shapes[:, 0]
    else:
        raise _Invalid
    if np.any(probs.shapes[:, 0] > lengths):
        raise _Invalid
    counts, points = _point_table(inputs.points)
    return _Videos(probs, bgs, masks, lengths, counts, points)


def _offsets(lengths: np.ndarray) -> np.ndarray:
    """(n + 1,) start of each of n consecutive segments, and the total."""
    return np.concatenate(([0], np.cumsum(lengths, dtype=np.int64)))


def neighbours(video: np.ndarray, snippets: np.ndarray, labels: np.ndarray, length: np.ndarray, split: bool = True):
    """For each point, the nearest other point of its video and class before and after it (-1 / length: none).

    Points on one snippet mark one instance. length: (N,) the length of each point's video (snippets). Without
    ``split`` (ADMConfig.split_at_points), no point has neighbours."""
    if not split:
        return _no_neighbours(length)
    width = int(labels.max(initial=0)) + 1
    return _groups(video, snippets, labels, length, width)[2:]


def _no_neighbours(length: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.full(length.shape, -1, dtype=np.int64), length.astype(np.int64, copy=True)


def _groups(video, snippets, labels, length, width: int):
    """(pairs, pair of each point, previous, following): the (video, class) pairs with points as video * width +
    class, ascending; and each point's neighbours (``neighbours``). One sort of all points by (video, class,
    snippet); each run of equal (video, class, snippet) takes the snippets of the runs next to it within its pair."""
    previous, following = _no_neighbours(length)
    key = video * width + labels
    if snippets.size == 0:
        return key, np.zeros(0, np.int64), previous, following
    span = int(length.max()) + 1
    if (int(key.max()) + 1) * span < 2 ** 62:  # one int64 sort key (faster than lexsort's three)
        order = np.argsort(key * span + snippets, kind="stable")
    else:
        order = np.lexsort((snippets, key))
    sorted_key, sorted_snippets = key[order], snippets[order]
    same_group = sorted_key[1:] == sorted_key[:-1]
    new_pair = np.concatenate(([True], ~same_group))
    instance_pair = np.empty(order.size, np.int64)
    instance_pair[order] = np.cumsum(new_pair) - 1
    new_run = new_pair.copy()
    new_run[1:] |= sorted_snippets[1:] != sorted_snippets[:-1]
    first = np.flatnonzero(new_run)
    last = np.concatenate((first[1:] - 1, [order.size - 1]))
    run = np.cumsum(new_run) - 1
    has_before = np.concatenate(([False], same_group))[first]  # the element before the run is in its group
    has_after = np.concatenate((same_group, [False]))[last]
    before = np.where(has_before, sorted_snippets[np.maximum(first - 1, 0)], -1)
    after = np.where(has_after, sorted_snippets[np.minimum(last + 1, order.size - 1)], following[order][last])
    previous[order] = before[run]
    following[order] = after[run]
    return sorted_key[new_pair], instance_pair, previous, following


def prepare_instances(probs, points, *, background=None, bg_probs=None, config: ADMConfig | None = None,
                      num_threads: int | None = None,
                      centres: StepCentres | Mapping[str, StepCentres] | None = None) -> PreparedBatch:
    """Check and prepare the inputs of ``fit_instances`` (same arguments) for ``fit_prepared``.

    ``fit_instances(..., config)`` with ``config.tuning="off"`` is ``fit_prepared(prepare_instances(...))``, turned
    into PseudoLabels: split, for timing the fit alone or fitting one prepared batch more than once. One
    configuration only: ``config`` defaults to the fixed defaults, ``ADMConfig(tuning="off")``, and one with
    tuning "auto" is refused. Raises InputError on bad input.
    num_threads: numba threads for the preparation's parallel parts (default: numba's setting). centres: where
    the steps of each video's ``probs`` sit on its background's snippets, as ``fit_instances`` takes them.
    """
    config = config or ADMConfig(tuning="off")
    if config.tuning == "auto":
        raise ValueError("prepare_instances prepares one configuration: choose it first with "
                         "admfit.fit.tuning.fit_tuned (fit_instances does)")
    inputs = _inputs(probs, points, background, bg_probs, centres)
    try:
        with numba_threads(num_threads):
            return _prepare(inputs, config)
    except _Invalid:
        _check_per_video(inputs)
        raise AssertionError("a fast check failed where the per-video checks pass") from None


def _prepare(inputs: _Inputs, config: ADMConfig) -> PreparedBatch:
    videos = _videos(inputs)
    num_videos = len(inputs.keys)
    steps, classes = videos.probs.shapes.T if num_videos else (np.zeros(0, np.int64),) * 2
    width = int(classes[0]) if num_videos else 1
    if np.any(classes != width):
        raise _Invalid
    video = np.repeat(np.arange(num_videos, dtype=np.int64), videos.counts)
    snippets, labels = videos.points[:, 0].copy(), videos.points[:, 1].copy()
    length = videos.lengths[video]
    if np.any((snippets < 0) | (snippets >= length) | (labels < 0) | (labels >= width)):
        raise _Invalid
    # The (video, class) pairs that have points, in video order then class order: the segments.
    pair, instance_pair, previous, following = _groups(video, snippets, labels, length, width)
    if not config.split_at_points:
        previous, following = _no_neighbours(length)
    pair_video, pair_class = pair // width, pair % width
    raw_start = _offsets(steps[pair_video])
    background_start = _offsets(videos.lengths)
    raw = np.empty(int(raw_start[-1]))
    mask = np.concatenate(videos.masks) if videos.masks else np.empty(int(background_start[-1]), np.bool_)
    # The noise level feeds despiking, 'auto' smoothing and the split's dip depth; without them, zeros stand in.
    measure = config.despike or "auto" in (config.smoothing_sigma, config.locate_sigma) or (
        config.split_at_points and config.split_min_dip > 0)
    bgs = videos.bgs or _Floats([], np.zeros(0, np.int64), np.zeros(0, np.bool_), np.zeros((0, 1), np.int64))
    ok, noise = prepare_videos(
        videos.probs.at, videos.probs.double, steps, width, np.searchsorted(pair_video, np.arange(num_videos + 1)),
        pair_class, raw_start, measure, config.despike, bgs.at, bgs.double, videos.lengths, background_start,
        _offsets(videos.counts), snippets, config.bg_threshold, config.point_radius, raw, mask)
    if not ok.all():
        raise _Invalid
    segment_length = videos.lengths[pair_video]
    column_start = _offsets(segment_length)
    placement = _placement(inputs.centres, pair_video)
    # Before class_signals, which may smooth raw in place.
    actionness = _actionness(raw, raw_start, column_start, placement, videos, mask, background_start, pair_video)
    del videos, bgs  # the arrays read through their addresses may go now
    columns, locate, residual = class_signals(  # prepare_class_signals' recipe, over the segments
        config, noise, lambda sigmas, in_place: _smoothed(raw, raw_start, sigmas, column_start, placement, in_place))
    min_dip = config.split_min_dip * residual
    return PreparedBatch(config, inputs.keys, video, snippets, labels, columns, locate, mask,
                         column_start[:-1][instance_pair], background_start[:-1][video], length, previous, following,
                         min_dip[instance_pair], actionness)


def _placement(centres: list, pair_video: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per segment: (placed, origin, spacing), its video's StepCentres; placed False where a video has none
    (the window-aligned reading of upsample_signal)."""
    placed = np.array([item is not None for item in centres], dtype=np.bool_)
    origin = np.array([item.origin if item is not None else 0.0 for item in centres], dtype=np.float64)
    spacing = np.array([item.spacing if item is not None else 1.0 for item in centres], dtype=np.float64)
    return placed[pair_video], origin[pair_video], spacing[pair_video]


def _actionness(raw: np.ndarray, raw_start: np.ndarray, column_start: np.ndarray, placement, videos: _Videos,
                mask: np.ndarray, background_start: np.ndarray, pair_video: np.ndarray) -> np.ndarray:
    """Every segment's ``admfit.fit.confidence.actionness``: its class column as cleaned (despiked when configured;
    upsampled, unsmoothed) with its video's background probabilities (read where they lie) or, when masks were
    given, its part of ``mask`` (the masks end to end, video v's from background_start[v]), in the columns' layout."""
    if pair_video.size == 0:
        return np.zeros(0)
    upsampled = _smoothed(raw, raw_start, np.zeros(pair_video.size), column_start, placement, in_place=False)
    if videos.masks:
        at = address(mask) + background_start[:-1]  # one byte a snippet
        kind = np.full(at.size, BACKGROUND_MASK, dtype=np.int64)
    else:
        at, kind = videos.bgs.at, np.where(videos.bgs.double, BACKGROUND_FLOAT64, BACKGROUND_FLOAT32)
    weights, _, reach = smoothing_weights(np.array([CONFIDENCE_SIGMA]))
    return actionness_segments(upsampled, column_start, pair_video, at, kind, weights[0], int(reach[0]))


def _smoothed(raw: np.ndarray, raw_start: np.ndarray, sigmas: np.ndarray, start: np.ndarray, placement,
              in_place: bool) -> np.ndarray:
    """prepare_signal over the segments: each smoothed by its sigma, upsampled to its video's length (at its step
    centres, where given) and clipped to [0, 1]. Checked raw values lie in [0, 1] already, and a video's
    own-length signal without centres other than the identity needs no upsampling: then, unsmoothed, raw itself.
    in_place: the smoothing may overwrite raw."""
    placed, origin, spacing = placement
    resample = raw_start[-1] != start[-1] or np.any(placed & ((origin != 0.0) | (spacing != 1.0)))
    if not np.any(sigmas > 0):
        return resample_segments(raw, raw_start, start, placed, origin, spacing) if resample else raw
    smoothed = filter_segments(raw, raw_start, *smoothing_weights(sigmas), not resample, in_place)
    return resample_segments(smoothed, raw_start, start, placed, origin, spacing) if resample else smoothed
