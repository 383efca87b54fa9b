"""prepare_instances: every video's inputs checked and prepared at once, as the flat arrays of one fit.

Why one pass over all videos: a numpy call costs microseconds, and preparing videos one at a time (a dozen calls
each) cost more than the fit itself on thousands of short videos. Here the points of all videos are checked,
grouped by (video, class) and given their neighbours as columns; the class signals that have points are gathered
into one flat array, each (video, class) one segment, by one kernel call per video that also checks every value;
noise levels, despiking, smoothing and upsampling then run over the segments. The result is bitwise the
per-video preparation's (admfit.signal.prepare_class_signals, prepare_background; tests/core/test_adm_batch.py).

Bad input: any check that fails sends the inputs through the per-video checks in the order of the videos, so
the first problem is reported as it always was, one InputError naming video and field.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit

from .config import ADMConfig
from .errors import InputError
from .levels import StepCentres
from .signal import _sigmas, clean_segments, clear_around, residual_noise, resample_segments, smooth_segments
from .threads import numba_threads


@dataclass(frozen=True, eq=False)
class PreparedBatch:
    """Every instance of ``prepare_instances``, ready for ``fit_prepared``: N instances of V videos.

    config: the ADMConfig the signals were prepared with (the fit uses it too); keys: the V videos of
    ``points``, in order (some may have no points); video, point, label: (N,) int64 per instance, its video's
    index in keys, its snippet and class. The rest are the fit's flat inputs: columns (float64), each (video,
    class) with points one segment of its video's length T; locate, the same smoothed for the decisions (the
    same array when both smoothings are equal); background (bool), every video's mask in turn; per instance
    column_start, background_start, length (T), previous / following (the nearest other point of its class,
    -1 / T: none) and min_dip (the dip depth of a split).
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


# ---- the fast path: structure per video, values in one pass per array, points as columns ----

class _Invalid(Exception):
    """Some check failed: the per-video checks will say which, in their order."""


@njit(cache=True, nogil=True)
def in_unit_interval(values):
    """True when every value of a 1-D array is finite and within [0, 1] (NaN fails every comparison).

    Blocks without a branch per value, so that the comparisons vectorise: a pass at memory speed.
    """
    n = values.shape[0]
    for first in range(0, n, 4096):
        bad = False
        for j in range(first, min(first + 4096, n)):
            value = values[j]
            bad |= not (value >= 0.0) or value > 1.0
        if bad:
            return False
    return True


@njit(cache=True, nogil=True)
def gather_columns(flat, width, used, out):
    """Check a (T, width) array (given flat, C order) and copy its columns ``used`` into out (K x T, float64).

    Both in one pass, block by block of rows: the columns of a row share its cache lines, so gathering after a
    separate check would read the whole array from memory twice. Returns False at the first block with a value
    outside [0, 1] (or NaN).
    """
    rows = flat.shape[0] // width
    block = max(1, 4096 // width)
    for first in range(0, rows, block):
        last = min(rows, first + block)
        if not in_unit_interval(flat[first * width:last * width]):
            return False
        for k in range(used.shape[0]):
            column = used[k]
            target = out[k * rows:(k + 1) * rows]
            for t in range(first, last):
                target[t] = flat[t * width + column]
    return True


_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _structure(values, ndim: int) -> np.ndarray:
    """A probability array of the right shape (values unchecked), as _check_probs converts it."""
    values = np.asarray(values)
    dtype = values.dtype
    if dtype is not _FLOATS[0] and dtype is not _FLOATS[1] and dtype not in _FLOATS:  # identity first: cheaper
        try:
            values = values.astype(np.float64)
        except (TypeError, ValueError):
            raise _Invalid from None
    if values.ndim != ndim or values.shape[0] == 0 or (ndim == 2 and values.shape[1] == 0):
        raise _Invalid
    return values


def _rows(points) -> np.ndarray:
    """(N, 2) int64 rows as _check_points reads them (ranges unchecked)."""
    array = np.asarray(points)
    if array.size == 0:
        return np.empty((0, 2), np.int64)
    if array.ndim != 2 or array.shape[1] != 2:
        raise _Invalid
    if array.dtype.kind not in "iu":  # np.issubdtype(dtype, np.integer), which costs microseconds
        try:
            exact = np.all(np.isfinite(array.astype(np.float64))) and not np.any(array != np.round(array))
        except (TypeError, ValueError):
            raise _Invalid from None
        if not exact:
            raise _Invalid
    return array.astype(np.int64, copy=False)


def _background(mask, bg_probs) -> np.ndarray:
    if mask is not None:
        background = np.asarray(mask)
        if background.ndim != 1 or background.size == 0 or background.dtype != np.bool_:
            raise _Invalid
        return background
    if bg_probs is None:
        raise _Invalid
    return _structure(bg_probs, 1)


def _offsets(lengths: np.ndarray) -> np.ndarray:
    """(n + 1,) start of each of n consecutive segments, and the total."""
    return np.concatenate(([0], np.cumsum(lengths, dtype=np.int64)))


def neighbours(video: np.ndarray, snippets: np.ndarray, labels: np.ndarray, length: np.ndarray):
    """For each point, the nearest other point of its video and class before and after it (-1 / length: none).

    Points on one snippet mark one instance. One sort of all points by (video, class, snippet); each run of
    equal (video, class, snippet) takes the snippets of the runs next to it within its (video, class).
    """
    previous = np.full(snippets.shape, -1, dtype=np.int64)
    following = length.astype(np.int64, copy=True)
    if snippets.size == 0:
        return previous, following
    order = np.lexsort((snippets, labels, video))
    group_video, group_label, sorted_snippets = video[order], labels[order], snippets[order]
    same_group = (group_video[1:] == group_video[:-1]) & (group_label[1:] == group_label[:-1])
    new_run = np.concatenate(([True], ~same_group | (sorted_snippets[1:] != sorted_snippets[:-1])))
    first = np.flatnonzero(new_run)
    last = np.concatenate((first[1:] - 1, [order.size - 1]))
    run = np.cumsum(new_run) - 1
    has_before = np.concatenate(([False], same_group))[first]  # the element before the run is in its group
    has_after = np.concatenate((same_group, [False]))[last]
    before = np.where(has_before, sorted_snippets[np.maximum(first - 1, 0)], -1)
    after = np.where(has_after, sorted_snippets[np.minimum(last + 1, order.size - 1)], following[order][last])
    previous[order] = before[run]
    following[order] = after[run]
    return previous, following


def prepare_instances(probs, points, *, background=None, bg_probs=None, config: ADMConfig | None = None,
                      num_threads: int | None = None,
                      centres: StepCentres | Mapping[str, StepCentres] | None = None) -> PreparedBatch:
    """Check and prepare the inputs of ``fit_instances`` (same arguments) for ``fit_prepared``.

    ``fit_instances(...)`` is ``fit_prepared(prepare_instances(...))``, turned into PseudoLabels: split, for
    timing the fit alone or fitting one prepared batch more than once. Raises InputError on bad input.
    num_threads: numba threads for the preparation's parallel parts (default: numba's setting). centres: where
    the steps of each video's ``probs`` sit on its background's snippets, as ``fit_instances`` takes them.
    """
    config = config or ADMConfig()
    inputs = _inputs(probs, points, background, bg_probs, centres)
    try:
        with numba_threads(num_threads):
            return _prepare(inputs, config)
    except _Invalid:
        _check_per_video(inputs)
        raise AssertionError("a fast check failed where the per-video checks pass") from None


def _prepare(inputs: _Inputs, config: ADMConfig) -> PreparedBatch:
    signals, backgrounds, rows = [], [], []
    for probs, points, mask, bg_probs in zip(inputs.probs, inputs.points, inputs.masks, inputs.bgs):
        signal = _structure(probs, 2)
        video_background = _background(mask, bg_probs)
        if signal.shape[0] > video_background.shape[0]:
            raise _Invalid
        signals.append(signal)
        backgrounds.append(video_background)
        rows.append(_rows(points))
    num_videos = len(signals)
    steps = np.array([signal.shape[0] for signal in signals], dtype=np.int64)
    classes = np.array([signal.shape[1] for signal in signals], dtype=np.int64)
    lengths = np.array([mask.shape[0] for mask in backgrounds], dtype=np.int64)
    counts = np.array([row.shape[0] for row in rows], dtype=np.int64)
    table = np.concatenate(rows) if rows else np.empty((0, 2), np.int64)
    video = np.repeat(np.arange(num_videos, dtype=np.int64), counts)
    snippets, labels = table[:, 0].copy(), table[:, 1].copy()
    length = lengths[video]
    if np.any((snippets < 0) | (snippets >= length) | (labels < 0) | (labels >= classes[video])):
        raise _Invalid
    if num_videos and np.any(classes != classes[0]):
        raise _Invalid
    # The (video, class) pairs that have points, in video order then class order: the segments.
    pair, instance_pair = np.unique(video * (int(classes[0]) if num_videos else 1) + labels, return_inverse=True)
    width = int(classes[0]) if num_videos else 1
    pair_video, pair_class = pair // width, pair % width
    raw_start = _offsets(steps[pair_video])
    raw = _gather(signals, pair_video, pair_class, raw_start, num_videos)
    background_start = _offsets(lengths)
    mask = _background_mask(backgrounds, inputs.masks, config, background_start, lengths, video, snippets)

    placement = _placement(inputs.centres, pair_video)
    columns, locate, noise = _class_columns(raw, raw_start, lengths[pair_video], config, placement)
    min_dip = config.split_min_dip * noise
    column_start = _offsets(lengths[pair_video])[:-1]
    previous, following = (neighbours(video, snippets, labels, length) if config.split_at_points else
                           (np.full(snippets.shape, -1, dtype=np.int64), length.copy()))
    return PreparedBatch(config, inputs.keys, video, snippets, labels, columns, locate, mask,
                         column_start[instance_pair], background_start[:-1][video], length, previous, following,
                         min_dip[instance_pair])


def _gather(signals: list, pair_video, pair_class, raw_start, num_videos: int) -> np.ndarray:
    """Every signal's values checked, the used columns of each copied into one flat float64 array."""
    raw = np.empty(int(raw_start[-1]))
    bounds = np.searchsorted(pair_video, np.arange(num_videos + 1)).tolist()
    starts = raw_start.tolist()
    for index, signal in enumerate(signals):
        first, last = bounds[index], bounds[index + 1]
        flat = (signal if signal.flags.c_contiguous else np.ascontiguousarray(signal)).reshape(-1)
        if not gather_columns(flat, signal.shape[1], pair_class[first:last], raw[starts[first]:starts[last]]):
            raise _Invalid
    return raw


def _background_mask(backgrounds: list, masks: list, config: ADMConfig, background_start, lengths, video,
                     snippets) -> np.ndarray:
    """Every video's background mask in turn: as given, or from its probabilities (prepare_background)."""
    if not backgrounds:
        return np.empty(0, dtype=np.bool_)
    if masks[0] is not None:
        return np.concatenate(backgrounds)
    values = np.concatenate(backgrounds, dtype=np.float64)
    if not in_unit_interval(values):
        raise _Invalid
    if config.despike:
        clean_segments(values, background_start, True, True)
    mask = values > config.bg_threshold
    if snippets.size:
        start = background_start[video]
        clear_around(mask, start + snippets, config.point_radius, start, start + lengths[video])
    return mask


def _placement(centres: list, pair_video: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per segment: (placed, origin, spacing), its video's StepCentres; placed False where a video has none
    (the window-aligned reading of upsample_signal)."""
    placed = np.array([item is not None for item in centres], dtype=np.bool_)
    origin = np.array([item.origin if item is not None else 0.0 for item in centres], dtype=np.float64)
    spacing = np.array([item.spacing if item is not None else 1.0 for item in centres], dtype=np.float64)
    return placed[pair_video], origin[pair_video], spacing[pair_video]


def _class_columns(raw: np.ndarray, raw_start: np.ndarray, lengths: np.ndarray, config: ADMConfig, placement):
    """prepare_class_signals over the segments of raw (in place): (fit, locate, residual noise per segment)."""
    noisy = "auto" in (config.smoothing_sigma, config.locate_sigma)
    # The noise level feeds despiking, 'auto' smoothing and the split's dip depth; without them, zeros stand in.
    need_noise = config.despike or noisy or (config.split_at_points and config.split_min_dip > 0)
    noise = clean_segments(raw, raw_start, need_noise, config.despike)
    fit_sigma = _sigmas(config.smoothing_sigma, noise, config)
    locate_sigma = _sigmas(config.locate_sigma, noise, config)
    start = _offsets(lengths)
    columns = _resample(smooth_segments(raw, raw_start, fit_sigma), raw, raw_start, start, placement)
    if config.locate_sigma == config.smoothing_sigma:
        locate = columns
    else:
        locate = _resample(smooth_segments(raw, raw_start, locate_sigma), raw, raw_start, start, placement)
    return columns, locate, residual_noise(noise, locate_sigma)


def _resample(smoothed: np.ndarray, raw: np.ndarray, raw_start: np.ndarray, start: np.ndarray,
              placement) -> np.ndarray:
    """The segments upsampled to their videos' lengths (at their step centres, where given) and clipped to
    [0, 1] (prepare_signal). Checked raw values lie in [0, 1] already, and a video's own-length signal without
    centres other than the identity needs no upsampling: then nothing is done."""
    placed, origin, spacing = placement
    if raw_start[-1] != start[-1] or np.any(placed & ((origin != 0.0) | (spacing != 1.0))):
        return resample_segments(smoothed, raw_start, start, placed, origin, spacing)
    return smoothed if smoothed is raw else np.clip(smoothed, 0.0, 1.0, out=smoothed)
