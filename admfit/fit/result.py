"""PseudoLabel, the result of the ADM fit, and ``fit_prepared``: the labels of one prepared batch, one configuration
(``admfit.fit.api.fit_instances`` is the public entry; ``admfit.fit.tuning`` fits several configurations with it)."""
from __future__ import annotations

import gc
from collections.abc import Mapping
from itertools import repeat
from typing import NamedTuple

import numba
import numpy as np

from admfit.errors import InputError
from admfit.fit._kernels import adm as K
from admfit.fit.confidence import label_confidence
from admfit.fit.prepare import PreparedBatch, neighbours
from admfit.grid import SnippetGrid
from admfit.threads import numba_threads


class PseudoLabel(NamedTuple):
    """One pseudo-label (immutable). Snippet fields are first-level snippet indices (floats where fractional).

    video: the video's key; point: the annotated snippet t_i; label: class index; t_star: the
    peak snippet (eq. 8); b_s, b_e: the background bracket beta; sigma: the Gaussian's standard
    deviation and omega: the uniform half-width (snippets); start, end: the interval
    I = [t* - Delta, t* + Delta] clipped to [0, T - 1] (snippets); start_s, end_s: the time the
    interval's snippets cover, in seconds, when a SnippetGrid was given (else None): from half a
    snippet step before the centre of `start` to half a step after the centre of `end`;
    score: the class probability at the peak, s[t*], in [0, 1].
    confidence: in [0, 1), how much this label can be trusted (beyond the paper): how well its interval agrees
    with the half-height run of the actionness around it, times a length factor (``admfit.fit.confidence``);
    docs/adm.md reports how well it ranks labels by their true tIoU on each signal family. converged: every
    bounded Brent fit of this label stopped within ``maxiter`` (scipy's ``OptimizeResult.success``).
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


def neighbouring_points(snippets: np.ndarray, labels: np.ndarray, length: int, split: bool):
    """For each point of one video of ``length`` snippets, the nearest other point of its class before and after
    it (-1 / length: none; none at all without ``split``): ``admfit.fit.prepare.neighbours`` of one video."""
    snippets = np.asarray(snippets, dtype=np.int64).reshape(-1)
    return neighbours(np.zeros_like(snippets), snippets, np.asarray(labels, dtype=np.int64).reshape(-1),
                      np.full(snippets.shape, length, dtype=np.int64), split)


def _fit_rows(batch: PreparedBatch, num_threads: int | None, gauss_mode: int, uniform_mode: int) -> np.ndarray:
    """The numba fit of every instance of the batch: (N, K.N_COLS) rows."""
    config = batch.config
    solver = K.SOLVER_EXACT if config.uniform_solver == "exact" else K.SOLVER_BRENT
    with numba_threads(num_threads):
        n_chunks = min(batch.size, 16 * numba.get_num_threads())
        return K.fit_batch(
            columns=batch.columns, locate=batch.locate, background=batch.background,
            column_start=batch.column_start, background_start=batch.background_start, length=batch.length,
            point=batch.point, previous=batch.previous, following=batch.following, min_dip=batch.min_dip,
            delta=config.delta, g1=config.g1, g2=config.g2, xatol=config.xatol, maxiter=config.maxiter,
            solver=solver, gauss_mode=gauss_mode, uniform_mode=uniform_mode, two_sided=config.interval == "two_sided",
            select=config.select_margin if config.combine == "select" else 0.0, dip_cut=config.dip_cut,
            bg_agreement=config.bg_agreement, n_chunks=n_chunks)


def _grid_of(grid, key: str) -> SnippetGrid | None:
    if isinstance(grid, Mapping):
        if key not in grid:
            raise InputError("has no snippet grid (fps, stride)", video=key, field="grid")
        return grid[key]
    return grid


def _seconds(batch: PreparedBatch, rows: np.ndarray, grid) -> np.ndarray:
    """(N, 2) start_s, end_s: snippets start..end cover their windows, from half a step before start's centre
    to half a step after end's (NaN where a video has no grid). One conversion per distinct grid."""
    seconds = np.full((rows.shape[0], 2), np.nan)
    if grid is None or rows.shape[0] == 0:
        return seconds
    bounds = rows[:, [K.COL_START, K.COL_END]] + [-0.5, 0.5]
    if not isinstance(grid, Mapping):
        seconds[:] = grid.snippet_to_seconds(bounds)
        return seconds
    # Videos with instances, in order (the first without a grid is the one reported); equal grids grouped.
    fitted = np.unique(batch.video).tolist()
    grids: dict = {}
    group_of_video = np.full(len(batch.keys), -1, dtype=np.int64)
    for index in fitted:
        video_grid = _grid_of(grid, batch.keys[index])
        if video_grid is not None:
            same = (video_grid.fps, video_grid.stride, video_grid.num_frames) if type(video_grid) is SnippetGrid \
                else id(video_grid)
            group_of_video[index] = grids.setdefault(same, (len(grids), video_grid))[0]
    group = group_of_video[batch.video]
    order = np.argsort(group, kind="stable")
    edges = np.searchsorted(group[order], np.arange(len(grids) + 1))
    for number, video_grid in grids.values():
        members = order[edges[number]:edges[number + 1]]
        seconds[members] = video_grid.snippet_to_seconds(bounds[members])
    return seconds


def _object_array(items: list) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


def _table(batch: PreparedBatch, rows: np.ndarray, grid) -> dict[str, np.ndarray]:
    seconds = _seconds(batch, rows, grid)
    integers = rows[:, [K.COL_T_STAR, K.COL_B_S, K.COL_B_E]].astype(np.int64)
    return {
        "video": _object_array(batch.keys)[batch.video], "point": batch.point,
        "label": batch.label, "t_star": integers[:, 0], "b_s": integers[:, 1], "b_e": integers[:, 2],
        "sigma": rows[:, K.COL_SIGMA], "omega": rows[:, K.COL_OMEGA], "start": rows[:, K.COL_START],
        "end": rows[:, K.COL_END], "start_s": seconds[:, 0], "end_s": seconds[:, 1], "score": rows[:, K.COL_SCORE],
        "confidence": confidence_of(batch, rows), "converged": rows[:, K.COL_STATUS] == 0,
    }


def _labels(table: dict[str, np.ndarray]) -> list[PseudoLabel]:
    # Plain Python lists zipped into tuples by C code: building tuples from numpy scalars one field at a time
    # costs more than the fit; and the cyclic GC, woken by every few hundred new tuples, would rescan the
    # growing list.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        fields = {name: table[name].tolist() for name in PseudoLabel._fields}
        no_time = np.isnan(table["start_s"])
        if no_time.all():
            fields["start_s"] = fields["end_s"] = [None] * no_time.size
        elif no_time.any():
            for name in ("start_s", "end_s"):
                fields[name] = [None if missing else value for missing, value in zip(no_time.tolist(), fields[name])]
        return list(map(tuple.__new__, repeat(PseudoLabel), zip(*fields.values())))
    finally:
        if gc_was_enabled:
            gc.enable()


def confidence_of(batch: PreparedBatch, rows: np.ndarray) -> np.ndarray:
    """(N,) PseudoLabel.confidence of the fitted rows of ``batch`` (``admfit.fit.confidence``).

    Of the quantities measured against the true tIoU on every signal family (peak height, length, the fits' R^2,
    the bracket's fall, the boundary contrast, agreement between configurations, the half-height run of the
    actionness at several levels, smoothings and reaches), the run agreement times a length factor ranked labels
    best at the worst family (docs/adm.md, "Confidence").
    """
    return label_confidence(batch.actionness, batch.column_start, batch.length, rows[:, K.COL_START],
                            rows[:, K.COL_END])


def fit_prepared(batch: PreparedBatch, *, grid: SnippetGrid | Mapping[str, SnippetGrid] | None = None,
                 num_threads: int | None = None) -> dict[str, np.ndarray]:
    """Fit every instance of ``prepare_instances(...)``'s batch with its config: the table of
    ``fit_instances(..., as_table=True)`` (grid and num_threads as there)."""
    return _table(batch, _fit_rows(batch, num_threads, K.GAUSS_RECURRENCE, K.UNIFORM_LITERAL), grid)
