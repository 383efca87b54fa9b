"""fit_instances: one ADM pseudo-label per annotated point, for many videos at once (paper eq. 13)."""
from __future__ import annotations

import gc
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator, NamedTuple

import numba
import numpy as np

from . import _kernels as K
from .config import ADMConfig
from .errors import InputError
from .grid import SnippetGrid
from .levels import StepCentres
from .signal import prepare_background, prepare_class_signals


class PseudoLabel(NamedTuple):
    """One pseudo-label (immutable). Snippet fields are first-level snippet indices (floats where fractional).

    video: the video's key; point: the annotated snippet t_i; label: class index; t_star: the
    peak snippet (eq. 8); b_s, b_e: the background bracket beta; sigma: the Gaussian's standard
    deviation and omega: the uniform half-width (snippets); start, end: the interval
    I = [t* - Delta, t* + Delta] clipped to [0, T - 1] (snippets); start_s, end_s: the time the
    interval's snippets cover, in seconds, when a SnippetGrid was given (else None): from half a
    snippet step before the centre of `start` to half a step after the centre of `end`;
    score: the class probability at the peak, s[t*], in [0, 1].
    confidence: in [0, 1], how much this label can be trusted (beyond the paper): from the peak height
    s[t*] and the interval's length (``confidence_of``); docs/adm.md reports how well it ranks labels by
    their true tIoU on each signal family, a weak but consistent ranking. converged: every bounded Brent fit of this label stopped within ``maxiter``
    (scipy's ``OptimizeResult.success``).
    """

    video: str
    point: int
    label: int
    t_star: int
    b_s: int
    b_e: int
    sigma: float
    omega: float
    start: float
    end: float
    start_s: float | None
    end_s: float | None
    score: float
    confidence: float
    converged: bool

    def to_dict(self) -> dict:
        return self._asdict()


@dataclass(frozen=True)
class _Video:
    key: str
    columns: np.ndarray     # (T, K) float64: the prepared signals of the K classes that have points (fitted)
    locate: np.ndarray      # (T, K) float64: the same, smoothed for the decisions (peak, splits)
    column_of: np.ndarray   # (N,) int64: each point's column in `columns`
    background: np.ndarray  # (T,) bool
    points: np.ndarray      # (N,) int64 snippets
    labels: np.ndarray      # (N,) int64 class indices
    previous: np.ndarray    # (N,) int64: the nearest other same-class point before, -1 if none (or not splitting)
    following: np.ndarray   # (N,) int64: the nearest after, T if none
    min_dip: np.ndarray     # (N,) float64: the dip depth (probability) that places a split at the lowest snippet


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


def _check_probs(video: str, field: str, array, ndim: int) -> np.ndarray:
    values = np.asarray(array)
    if values.dtype not in (np.float32, np.float64):
        try:
            values = values.astype(np.float64)
        except (TypeError, ValueError):
            raise InputError("is not numeric", video=video, field=field) from None
    if values.ndim != ndim or values.shape[0] == 0 or (ndim == 2 and values.shape[1] == 0):
        raise InputError(f"must be a non-empty {ndim}-D array, got shape {values.shape}", video=video, field=field)
    if not K.in_unit_interval(values):
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


def _prepare_video(key: str, probs, points, mask, bg_probs, config: ADMConfig, centres=None) -> _Video:
    signal = _check_probs(key, "probs", probs, 2)
    if mask is not None:
        background = np.asarray(mask)
        if background.ndim != 1 or background.size == 0 or background.dtype != np.bool_:
            raise InputError(f"must be a non-empty 1-D bool array, got {background.dtype} {background.shape}",
                             video=key, field="background")
    elif bg_probs is not None:
        background = _check_probs(key, "bg_probs", bg_probs, 1)
    else:
        raise InputError("no background given: pass background (mask) or bg_probs", video=key, field="background")
    length = background.shape[0]
    if signal.shape[0] > length:
        raise InputError(f"has {signal.shape[0]} steps, more than the {length} background snippets", video=key,
                         field="probs")
    snippets, labels = _check_points(key, points, length, signal.shape[1])
    # Only the classes that have points are prepared and fitted: a video holds one or two of them.
    used = sorted(set(labels.tolist()))
    column_of = np.searchsorted(used, labels)
    columns, locate, noise = prepare_class_signals(signal[:, used], length, config, centres)
    if mask is None:
        background = prepare_background(background, config, snippets)
    previous, following = neighbouring_points(snippets, labels, length, config.split_at_points)
    min_dip = config.split_min_dip * noise[column_of]
    return _Video(key, columns, locate, column_of.astype(np.int64), background, snippets, labels, previous,
                  following, min_dip)


def neighbouring_points(snippets: np.ndarray, labels: np.ndarray, length: int, split: bool):
    """For each point, the nearest other point of its class before and after it (-1 / length: none)."""
    previous = np.full(snippets.shape, -1, dtype=np.int64)
    following = np.full(snippets.shape, length, dtype=np.int64)
    if not split:
        return previous, following
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        positions = np.unique(snippets[members])  # points on one snippet mark one instance
        rank = np.searchsorted(positions, snippets[members])
        previous[members] = np.where(rank > 0, positions[np.maximum(rank - 1, 0)], -1)
        following[members] = np.where(rank + 1 < positions.size, positions[np.minimum(rank + 1, positions.size - 1)],
                                      length)
    return previous, following


@contextmanager
def _threads(num_threads: int | None) -> Iterator[None]:
    # numba's OpenMP layer (when a user chooses it) resets the OpenMP thread count, which is torch's:
    # give torch its count back (admfit/threads.py). Looked up, never imported: the core is torch-free.
    import sys

    torch = sys.modules.get("torch")
    torch_threads = torch.get_num_threads() if torch is not None else None
    previous = numba.get_num_threads()
    if num_threads is not None:
        numba.set_num_threads(max(1, min(int(num_threads), numba.config.NUMBA_NUM_THREADS)))
    try:
        yield
    finally:
        numba.set_num_threads(previous)
        if torch_threads is not None and torch.get_num_threads() != torch_threads:
            torch.set_num_threads(torch_threads)


def _run_kernel(videos: list[_Video], config: ADMConfig, num_threads: int | None,
                gauss_mode: int, uniform_mode: int | None) -> np.ndarray:
    columns = np.concatenate([v.columns.T.reshape(-1) for v in videos])
    locate = np.concatenate([v.locate.T.reshape(-1) for v in videos])
    background = np.concatenate([v.background for v in videos])
    lengths = np.array([v.background.shape[0] for v in videos], dtype=np.int64)
    counts = np.array([v.points.shape[0] for v in videos], dtype=np.int64)
    video_offsets = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    column_offsets = np.concatenate(([0], np.cumsum(lengths * [v.columns.shape[1] for v in videos])[:-1]))
    column_of = np.concatenate([v.column_of for v in videos])
    column_start = np.repeat(column_offsets, counts) + column_of * np.repeat(lengths, counts)
    solver = K.SOLVER_EXACT if config.uniform_solver == "exact" else K.SOLVER_BRENT
    if uniform_mode is None:
        uniform_mode = K.UNIFORM_LITERAL
    with _threads(num_threads):
        n_chunks = min(int(counts.sum()), 16 * numba.get_num_threads())
        return K.fit_batch(
            columns=columns, locate=locate, background=background, column_start=column_start,
            background_start=np.repeat(video_offsets, counts), length=np.repeat(lengths, counts),
            point=np.concatenate([v.points for v in videos]), previous=np.concatenate([v.previous for v in videos]),
            following=np.concatenate([v.following for v in videos]),
            min_dip=np.concatenate([v.min_dip for v in videos]), delta=config.delta, g1=config.g1, g2=config.g2,
            xatol=config.xatol, maxiter=config.maxiter, solver=solver, gauss_mode=gauss_mode,
            uniform_mode=uniform_mode, two_sided=config.interval == "two_sided",
            select=config.select_margin if config.combine == "select" else 0.0, dip_cut=config.dip_cut,
            bg_agreement=config.bg_agreement, n_chunks=n_chunks)


def _grid_of(grid, key: str) -> SnippetGrid | None:
    if isinstance(grid, Mapping):
        if key not in grid:
            raise InputError("has no snippet grid (fps, stride)", video=key, field="grid")
        return grid[key]
    return grid


def _to_labels(videos: list[_Video], rows: np.ndarray, grid) -> list[PseudoLabel]:
    # Plain Python lists: building tuples from numpy scalars one field at a time costs more than the fit;
    # and the cyclic GC, woken by every few hundred new tuples, would rescan the growing lists.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _build_labels(videos, rows, grid)
    finally:
        if gc_was_enabled:
            gc.enable()


def _build_labels(videos: list[_Video], rows: np.ndarray, grid) -> list[PseudoLabel]:
    seconds = np.full((rows.shape[0], 2), np.nan)
    if grid is not None:
        first = 0
        for video in videos:
            last = first + video.points.shape[0]
            video_grid = _grid_of(grid, video.key)
            if video_grid is not None:
                # Snippets start..end cover their windows: from half a step before start's centre to half after end's.
                bounds = rows[first:last, [K.COL_START, K.COL_END]] + [-0.5, 0.5]
                seconds[first:last] = video_grid.snippet_to_seconds(bounds)
            first = last
    keys = [video.key for video in videos for _ in range(video.points.shape[0])]
    points = np.concatenate([video.points for video in videos]).tolist()
    labels = np.concatenate([video.labels for video in videos]).tolist()
    integers = rows[:, [K.COL_T_STAR, K.COL_B_S, K.COL_B_E]].astype(np.int64).tolist()
    floats = rows[:, [K.COL_SIGMA, K.COL_OMEGA, K.COL_START, K.COL_END, K.COL_SCORE]].tolist()
    times = [(None, None) if start != start else (start, end) for start, end in seconds.tolist()]
    confidence = confidence_of(rows).tolist()
    converged = (rows[:, K.COL_STATUS] == 0).tolist()
    make = PseudoLabel._make
    return [make((key, point, label, t_star, b_s, b_e, sigma, omega, start, end, start_s, end_s, score, trust, done))
            for key, point, label, (t_star, b_s, b_e), (sigma, omega, start, end, score), (start_s, end_s), trust, done
            in zip(keys, points, labels, integers, floats, times, confidence, converged)]


# Interval length (snippets) at which the length factor of the confidence is one half.
_CONFIDENCE_LENGTH = 16.0


def confidence_of(rows: np.ndarray) -> np.ndarray:
    """(N,) in [0, 1]: sqrt(s[t*] x L / (L + 16)), L the interval's length in snippets (PseudoLabel.confidence).

    Of the quantities a fit can measure (peak height, the fits' R^2, how far the signal falls at the
    bracket's ends, agreement with the half-height run, the length), the peak height and the length
    ranked labels by their true tIoU with a positive correlation on every signal family tried; the
    others helped on some families and hurt on others (docs/adm.md, "Confidence").
    """
    length = np.maximum(rows[:, K.COL_END] - rows[:, K.COL_START], 0.0)
    return np.sqrt(rows[:, K.COL_SCORE].clip(0.0, 1.0) * length / (length + _CONFIDENCE_LENGTH))


def fit_instances(probs, points, *, background=None, bg_probs=None, config: ADMConfig | None = None,
                  grid: SnippetGrid | Mapping[str, SnippetGrid] | None = None,
                  num_threads: int | None = None,
                  centres: StepCentres | Mapping[str, StepCentres] | None = None) -> list[PseudoLabel]:
    """Fit one ADM pseudo-label per annotated point (paper section 3.4.1, docs/spec.md section 1).

    Parameters
    ----------
    probs : dict video -> (T_l, C) array, or a list of them
        Class probabilities in [0, 1] (float32 or float64), e.g. the fused score of eq. 1. When
        T_l is shorter than the background (a detector's last pyramid level), the signal is
        smoothed (``config.smoothing_sigma``, in its own steps) and linearly upsampled to T;
        otherwise it is only smoothed.
    points : dict video -> (N, 2) integer rows (snippet index in [0, T), class index in [0, C)),
        or a list aligned with ``probs``.
    background : dict video -> (T,) bool mask of background snippets, or a list; or
    bg_probs : dict video -> (T,) background probabilities; background = bg_probs >
        ``config.bg_threshold``, except within ``config.point_radius`` snippets of any point.
    config : ADMConfig, optional
    grid : SnippetGrid, or dict video -> SnippetGrid, optional
        Snippet timing; when given, ``start_s`` and ``end_s`` are filled in (seconds).
    num_threads : int, optional
        Numba threads for the fit (default: numba's setting). Results do not depend on it.
    centres : StepCentres, or dict video -> StepCentres, optional
        Where step j of a coarser ``probs`` sits on the background's snippets (``admfit.levels``; a detector's
        ``Pyramid.level(l)``). None: window-aligned, step j covers snippets [j r, (j + 1) r), r = T / T_l.

    Returns
    -------
    list of PseudoLabel, one per input point, in input order (videos in the order of ``points``,
    points in the order given within each video). Raises InputError on bad input.
    """
    return _fit(probs, points, background, bg_probs, config or ADMConfig(), grid, num_threads,
                K.GAUSS_RECURRENCE, None, centres)


def _check_same_classes(probs_by_video: dict, keys) -> None:
    """Class indices refer to one class list, so every video must have the same number of classes."""
    counts = {key: np.shape(probs_by_video[key])[-1] for key in keys}
    first = next(iter(counts.values()), None)
    for key, count in counts.items():
        if count != first:
            raise InputError(f"has {count} classes, other videos {first}", video=key, field="probs")


def _fit(probs, points, background, bg_probs, config, grid, num_threads, gauss_mode, uniform_mode, centres=None):
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
    centres_of = centres if isinstance(centres, Mapping) else {key: centres for key in points_by_video}
    for key in points_by_video:
        if key not in centres_of:
            raise InputError("has no step centres (a dict of centres must name every video)", video=key,
                             field="centres")
    videos = [_prepare_video(key, probs_by_video[key], points_by_video[key], masks.get(key), bgs.get(key), config,
                             centres_of.get(key)) for key in points_by_video]
    _check_same_classes(probs_by_video, points_by_video)
    videos = [video for video in videos if video.points.size]
    if not videos:
        return []
    rows = _run_kernel(videos, config, num_threads, gauss_mode, uniform_mode)
    return _to_labels(videos, rows, grid)
