"""The per-video fit_instances that admfit.fit.prepare replaced (frozen copy), the reference of tests/core/test_adm_batch.py.

Each video was validated and prepared on its own (admfit.fit.signal.prepare_class_signals, prepare_background), then
all instances were fitted by one fit_batch call and turned into PseudoLabels. The vectorised preparation must give
bitwise the same labels.
"""
from __future__ import annotations

import numpy as np

from admfit.fit._kernels import adm as K
from admfit.fit.api import PseudoLabel
from admfit.fit.confidence import actionness, length_factor, run_agreement
from admfit.fit.prepare import _check_points, _check_probs, _inputs
from admfit.fit.signal import despike, noise_level, prepare_background, prepare_class_signals, upsample_signal


def _neighbouring_points(snippets, labels, length, split):
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


def _prepare_video(key, probs, points, mask, bg_probs, config, centres=None):
    signal = _check_probs(key, "probs", probs, 2)
    if mask is not None:
        background = np.asarray(mask)
    else:
        background = _check_probs(key, "bg_probs", bg_probs, 1)
    length = background.shape[0]
    snippets, labels = _check_points(key, points, length, signal.shape[1])
    used = sorted(set(labels.tolist()))
    column_of = np.searchsorted(used, labels)
    columns, locate, noise = prepare_class_signals(signal[:, used], length, config, centres)
    # The confidence reads the class columns as the fit cleaned them (despiked when configured), unsmoothed.
    used_columns = np.asarray(signal[:, used], dtype=np.float64)
    cleaned = despike(used_columns, noise_level(used_columns)) if config.despike else used_columns
    raw_columns = upsample_signal(cleaned, length, centres)
    action = [actionness(raw_columns[:, k], background) for k in range(len(used))]
    if mask is None:
        background = prepare_background(background, config, snippets)
    previous, following = _neighbouring_points(snippets, labels, length, config.split_at_points)
    min_dip = config.split_min_dip * noise[column_of]
    return dict(key=key, columns=columns, locate=locate, column_of=column_of.astype(np.int64), background=background,
                actionness=action, points=snippets, labels=labels, previous=previous, following=following,
                min_dip=min_dip)


def _run_kernel(videos, config):
    columns = np.concatenate([v["columns"].T.reshape(-1) for v in videos])
    locate = np.concatenate([v["locate"].T.reshape(-1) for v in videos])
    background = np.concatenate([v["background"] for v in videos])
    lengths = np.array([v["background"].shape[0] for v in videos], dtype=np.int64)
    counts = np.array([v["points"].shape[0] for v in videos], dtype=np.int64)
    video_offsets = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    widths = [v["columns"].shape[1] for v in videos]
    column_offsets = np.concatenate(([0], np.cumsum(lengths * widths)[:-1]))
    column_of = np.concatenate([v["column_of"] for v in videos])
    column_start = np.repeat(column_offsets, counts) + column_of * np.repeat(lengths, counts)
    solver = K.SOLVER_EXACT if config.uniform_solver == "exact" else K.SOLVER_BRENT
    return K.fit_batch(
        columns=columns, locate=locate, background=background, column_start=column_start,
        background_start=np.repeat(video_offsets, counts), length=np.repeat(lengths, counts),
        point=np.concatenate([v["points"] for v in videos]), previous=np.concatenate([v["previous"] for v in videos]),
        following=np.concatenate([v["following"] for v in videos]),
        min_dip=np.concatenate([v["min_dip"] for v in videos]), delta=config.delta, g1=config.g1, g2=config.g2,
        xatol=config.xatol, maxiter=config.maxiter, solver=solver, gauss_mode=K.GAUSS_RECURRENCE,
        uniform_mode=K.UNIFORM_LITERAL, two_sided=config.interval == "two_sided",
        select=config.select_margin if config.combine == "select" else 0.0, dip_cut=config.dip_cut,
        bg_agreement=config.bg_agreement, n_chunks=min(int(counts.sum()), 16))


def _build_labels(videos, rows, grid):
    seconds = np.full((rows.shape[0], 2), np.nan)
    if grid is not None:
        first = 0
        for video in videos:
            last = first + video["points"].shape[0]
            video_grid = grid.get(video["key"]) if isinstance(grid, dict) else grid
            if video_grid is not None:
                bounds = rows[first:last, [K.COL_START, K.COL_END]] + [-0.5, 0.5]
                seconds[first:last] = video_grid.snippet_to_seconds(bounds)
            first = last
    keys = [video["key"] for video in videos for _ in range(video["points"].shape[0])]
    points = np.concatenate([video["points"] for video in videos]).tolist()
    labels = np.concatenate([video["labels"] for video in videos]).tolist()
    integers = rows[:, [K.COL_T_STAR, K.COL_B_S, K.COL_B_E]].astype(np.int64).tolist()
    floats = rows[:, [K.COL_SIGMA, K.COL_OMEGA, K.COL_START, K.COL_END, K.COL_SCORE]].tolist()
    times = [(None, None) if start != start else (start, end) for start, end in seconds.tolist()]
    action = [video["actionness"][column] for video in videos for column in video["column_of"]]
    agreement = np.array([run_agreement(values, start, end)
                          for values, start, end in zip(action, rows[:, K.COL_START], rows[:, K.COL_END])])
    confidence = np.nan_to_num(agreement * length_factor(rows[:, K.COL_START], rows[:, K.COL_END]), nan=0.0).tolist()
    converged = (rows[:, K.COL_STATUS] == 0).tolist()
    return [PseudoLabel(key, point, label, t_star, b_s, b_e, sigma, omega, start, end, start_s, end_s, score, trust,
                        done)
            for key, point, label, (t_star, b_s, b_e), (sigma, omega, start, end, score), (start_s, end_s), trust, done
            in zip(keys, points, labels, integers, floats, times, confidence, converged)]


def fit_per_video(probs, points, *, background=None, bg_probs=None, config, grid=None,
                  centres=None) -> list[PseudoLabel]:
    """fit_instances as it was, for valid inputs (centres: one StepCentres or None for all, or a dict naming every
    video, as main's per-video path took them)."""
    inputs = _inputs(probs, points, background, bg_probs)
    centres_of = centres if isinstance(centres, dict) else {key: centres for key in inputs.keys}
    videos = [_prepare_video(key, p, pts, mask, bg, config, centres_of[key])
              for key, p, pts, mask, bg in zip(inputs.keys, inputs.probs, inputs.points, inputs.masks, inputs.bgs)]
    videos = [video for video in videos if video["points"].size]
    if not videos:
        return []
    return _build_labels(videos, _run_kernel(videos, config), grid)
