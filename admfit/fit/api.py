"""fit_instances: one ADM pseudo-label per annotated point, for many videos at once (paper eq. 13)."""
from __future__ import annotations

from collections.abc import Mapping

from admfit.fit.config import ADMConfig
from admfit.fit.prepare import prepare_instances
# The result type and the fit of one prepared batch live in admfit.fit.result; they are re-exported here, where
# callers have always imported them from.
from admfit.fit.result import (  # noqa: F401
    PseudoLabel,
    _fit_rows,
    _labels,
    _table,
    confidence_of,
    fit_prepared,
    neighbouring_points,
)
from admfit.fit.tuning import fit_tuned
from admfit.grid import SnippetGrid
from admfit.levels import StepCentres
from admfit.threads import numba_threads


def fit_instances(probs, points, *, background=None, bg_probs=None, config: ADMConfig | None = None,
                  grid: SnippetGrid | Mapping[str, SnippetGrid] | None = None, num_threads: int | None = None,
                  centres: StepCentres | Mapping[str, StepCentres] | None = None,
                  as_table: bool = False) -> list[PseudoLabel] | dict[str, np.ndarray]:
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
        Default ``ADMConfig()``. ``config.tuning="auto"`` (the default): the labels of
        ``admfit.fit.tuning.fit_tuned`` (chosen among ``admfit.fit.tuning.candidates(config)`` by their boundary
        contrast; fit_tuned also says which and why). ``tuning="off"``: config's options as they are
        (``ADMConfig(tuning="off")``: the fixed defaults). Self-tuning chooses once for the whole input, so a
        label can change when other videos are added; pass tuning "off" where it must not.
    grid : SnippetGrid, or dict video -> SnippetGrid, optional
        Snippet timing; when given, ``start_s`` and ``end_s`` are filled in (seconds).
    num_threads : int, optional
        Numba threads for the preparation and the fit (default: numba's setting). Results do not depend on it.
    centres : StepCentres, or dict video -> StepCentres, optional
        Where step j of a coarser ``probs`` sits on the background's snippets (``admfit.levels``; a detector's
        ``Pyramid.level(l)``). None: window-aligned, step j covers snippets [j r, (j + 1) r), r = T / T_l.
    as_table : bool, default False
        Return the labels as columns instead of objects: a dict of N-long arrays keyed by PseudoLabel's
        field names, in its order (``pandas.DataFrame(table)`` makes a frame of it). Row i is label i of the
        list; video is an object array of the keys, start_s / end_s hold NaN where the list holds None,
        converged is bool, the snippet fields int64 or float64 as in PseudoLabel. For millions of points,
        where making the objects would cost more than the fit.

    Returns
    -------
    list of PseudoLabel (or the table), one per input point, in input order (videos in the order of
    ``points``, points in the order given within each video). Raises InputError on bad input.
    ``prepare_instances`` and ``fit_prepared`` are the two halves of the work.
    """
    config = ADMConfig() if config is None else config
    if config.tuning == "auto":
        return fit_tuned(probs, points, background=background, bg_probs=bg_probs, config=config, grid=grid,
                         centres=centres, num_threads=num_threads, as_table=as_table)[0]
    with numba_threads(num_threads):
        table = fit_prepared(prepare_instances(probs, points, background=background, bg_probs=bg_probs,
                                               config=config, centres=centres), grid=grid)
    return table if as_table else _labels(table)
