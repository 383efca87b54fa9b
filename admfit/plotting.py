"""One video, one class, as ADM sees it: a figure like Figure 2 of the ADM-Loc paper.

The upper panel holds probabilities: the class signal ADM fits, each pseudo-label's Gaussian and
uniform fits (paper eqs. 9-12), its interval as a shaded band, the annotated points and the
background snippets. The lower panel holds bar rows: the pseudo-label intervals and the ground truth.

Every position passed in is in first-level snippets (fractional where noted); the x axis shows
snippets, or seconds when a :class:`~admfit.grid.SnippetGrid` is given. matplotlib is the optional
extra ``plot``: it is imported inside the functions, and figures are built on
``matplotlib.figure.Figure`` directly, so no pyplot state and no GUI backend are involved.

``plot_fit`` is ``admfit plot``: it looks the video, the class, the fit's config and the ground truth up in the
files ``admfit fit`` read and wrote, checks them against each other, and draws and writes the figure.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from admfit.files.adm_config import load_adm_config
from admfit.files.atomic import atomic_open, check_writable
from admfit.files.pseudo_labels import read_pseudo_labels
from admfit.files.signals import SignalSet, load_signals
from admfit.files.validation import grid_options, pseudo_label_entries
from admfit.files.video_files import readable_stem
from admfit.fit.config import ADMConfig
from admfit.fit.signal import prepare_background, prepare_class_signals

from .errors import InputError, validated
from .grid import SnippetGrid
from .levels import StepCentres

_FIT_FIELDS = ("t_star", "sigma", "omega", "score", "start", "end")
_IMAGE_FORMATS = {".png": "png", ".svg": "svg"}
# Curves reach this many sigmas (or 1.5 omegas) each side of t*: far enough to show the tails fall to 0.
_GAUSSIAN_REACH_SIGMAS = 4.0
_UNIFORM_REACH_OMEGAS = 1.5
_CURVE_SAMPLES = 401
# Fixed salt: SVG element ids are hashes, salted randomly unless told otherwise.
_SVG_HASH_SALT = "admfit"

_COLOURS = {"signal": "tab:blue", "raw": "tab:blue", "gaussian": "tab:orange", "uniform": "tab:green",
            "interval": "tab:brown", "point": "black", "background": "0.55", "ground_truth": "tab:red"}


@dataclass(frozen=True)
class _TimeAxis:
    """Maps first-level snippet positions to the x unit of the figure (snippets or seconds)."""

    grid: SnippetGrid | None

    def x(self, snippets) -> np.ndarray:
        if self.grid is None:
            return np.asarray(snippets, dtype=np.float64)
        return self.grid.snippet_to_seconds(snippets)

    @property
    def label(self) -> str:
        return "time (snippets)" if self.grid is None else "time (seconds)"


@dataclass(frozen=True)
class _Fit:
    """The fields of one pseudo-label the figure draws; all in snippets except score (probability)."""

    t_star: float
    sigma: float
    omega: float
    score: float
    start: float
    end: float


def _figure_class():
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise InputError("matplotlib is not installed: pip install 'admfit[plot]'", field="plot") from None
    return Figure


def _as_fit(label, index: int) -> _Fit:
    """Read a pseudo-label given as a mapping (a JSON entry) or an object (a PseudoLabel)."""
    values = {name: _number(label.get(name) if isinstance(label, Mapping) else getattr(label, name, None))
              for name in _FIT_FIELDS}
    for name, value in values.items():
        if not np.isfinite(value):
            raise InputError(f"needs a finite number {name!r}", field=f"pseudo_labels[{index}].{name}")
    # A zero-width Gaussian has no curve to draw; the fit's lower bound is 1e-6 snippets.
    if values["sigma"] <= 0 or values["omega"] < 0:
        raise InputError("sigma must be > 0 and omega >= 0", field=f"pseudo_labels[{index}]")
    return _Fit(**values)


def _number(value) -> float:
    """float(value), or NaN for anything that is not a number (bools included)."""
    if isinstance(value, bool):
        return float("nan")
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _gaussian_curve(fit: _Fit, length: int) -> tuple[np.ndarray, np.ndarray]:
    """(t, y): ``score * exp(-0.5 ((t - t*) / sigma)^2)`` sampled inside the video, t in snippets.

    The samples include t* and t* +- sigma exactly, so the peak and the width are drawn where they are.
    """
    reach = max(_GAUSSIAN_REACH_SIGMAS * fit.sigma, 1.0)
    exact = [fit.t_star - fit.sigma, fit.t_star, fit.t_star + fit.sigma]
    t = np.union1d(np.linspace(fit.t_star - reach, fit.t_star + reach, _CURVE_SAMPLES), exact)
    t = t[(t >= -0.5) & (t <= length - 0.5)]
    return t, fit.score * np.exp(-0.5 * ((t - fit.t_star) / fit.sigma) ** 2)


def _uniform_curve(fit: _Fit, length: int) -> tuple[np.ndarray, np.ndarray]:
    """(t, y) vertices of ``score * [|t - t*| <= omega]``, t in snippets: a box with vertical sides."""
    reach = max(_UNIFORM_REACH_OMEGAS * fit.omega, fit.omega + 1.0)
    left, right = fit.t_star - fit.omega, fit.t_star + fit.omega
    t = np.array([fit.t_star - reach, left, left, right, right, fit.t_star + reach])
    y = np.array([0.0, 0.0, fit.score, fit.score, 0.0, 0.0])
    return np.clip(t, -0.5, length - 0.5), y


def _check_inputs(probs, class_index: int, bg_probs, background) -> tuple[np.ndarray, int]:
    """Validate shapes; return probs as float64 and the first-level length T (snippets)."""
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[0] == 0:
        raise InputError(f"must be a non-empty (T, C) array, got shape {probs.shape}", field="probs")
    if not 0 <= class_index < probs.shape[1]:
        raise InputError(f"class index {class_index} is outside [0, {probs.shape[1] - 1}]", field="class_index")
    length = probs.shape[0]
    for name, values in (("background", background), ("bg_probs", bg_probs)):
        if values is None:
            continue
        values = np.asarray(values)
        if values.ndim != 1 or values.shape[0] < probs.shape[0]:
            raise InputError(f"must be (T,) with T >= {probs.shape[0]} (the steps of probs), got shape "
                             f"{values.shape}", field=name)
        return probs, values.shape[0]
    return probs, length


def _background_snippets(bg_probs, background, points: np.ndarray, config: ADMConfig) -> np.ndarray:
    """Indices (snippets) of the background snippets: the mask given, else the one the fit computes."""
    if background is not None:
        return np.flatnonzero(np.asarray(background, dtype=bool))
    if bg_probs is None:
        return np.empty(0, dtype=np.int64)
    return np.flatnonzero(prepare_background(np.asarray(bg_probs, dtype=np.float64), config, points))


def _legend_label(text: str, drawn: set[str]) -> str:
    """One legend entry per kind of artist, however many of them are drawn."""
    if text in drawn:
        return "_nolegend_"
    drawn.add(text)
    return text


def _draw_signal(ax, axis: _TimeAxis, probs: np.ndarray, class_index: int, length: int, config: ADMConfig,
                 centres: StepCentres | None) -> None:
    prepared = prepare_class_signals(probs[:, [class_index]], length, config, centres)[0][:, 0]
    ax.plot(axis.x(np.arange(length)), prepared, color=_COLOURS["signal"], linewidth=1.4,
            zorder=3, label="class probability (as fitted)", gid="signal")
    if probs.shape[0] != length:
        # Each coarse step drawn where the fit put it (upsample_signal's centres).
        where = centres or StepCentres.window_aligned(probs.shape[0], length)
        ax.plot(axis.x(where.positions(probs.shape[0])), probs[:, class_index], color=_COLOURS["raw"], linewidth=0.7, alpha=0.45,
                marker="o", markersize=2.5, label="class probability (as given)", gid="raw")


def _draw_fits(ax, axis: _TimeAxis, fits: list[_Fit], length: int) -> None:
    drawn: set[str] = set()
    for fit in fits:
        # The band covers the time of its snippets: half a step beyond the centres of start and end.
        ax.axvspan(*axis.x([fit.start - 0.5, fit.end + 0.5]), color=_COLOURS["interval"], alpha=0.25, linewidth=0,
                   label=_legend_label("pseudo-label interval", drawn), gid="interval")
        t, y = _gaussian_curve(fit, length)
        ax.plot(axis.x(t), y, color=_COLOURS["gaussian"], linestyle="--", linewidth=1.2,
                label=_legend_label("Gaussian fit", drawn), gid="gaussian")
        t, y = _uniform_curve(fit, length)
        ax.plot(axis.x(t), y, color=_COLOURS["uniform"], linestyle="-.", linewidth=1.2,
                label=_legend_label("uniform fit", drawn), gid="uniform")


def _draw_points(ax, axis: _TimeAxis, points: np.ndarray, background: np.ndarray) -> None:
    drawn: set[str] = set()
    for point in points:
        ax.axvline(float(axis.x(point)), color=_COLOURS["point"], linestyle=":", linewidth=1.0,
                   label=_legend_label("annotated point", drawn), gid="point")
    if background.size:
        ax.plot(axis.x(background), np.zeros(background.size), linestyle="none", marker="|", markersize=6,
                color=_COLOURS["background"], clip_on=False, label="background snippet", gid="background")


def _draw_rows(ax, axis: _TimeAxis, fits: list[_Fit], ground_truth) -> None:
    """Bar rows under the probabilities: pseudo-labels on top, ground truth (red) below, as in the paper."""
    rows = [("pseudo-labels", "interval", [(fit.start - 0.5, fit.end + 0.5) for fit in fits])]
    if ground_truth is not None:
        rows.append(("ground truth", "ground_truth", [tuple(map(float, segment)) for segment in ground_truth]))
    for row, (name, kind, segments) in enumerate(reversed(rows)):
        edges = [axis.x([start, end]) for start, end in segments]
        ax.broken_barh([(begin, end - begin) for begin, end in edges], (row + 0.15, 0.7),
                       color=_COLOURS[kind], alpha=0.8, gid=kind)
    ax.set_yticks([row + 0.5 for row in range(len(rows))], [name for name, _, _ in reversed(rows)])
    ax.set_ylim(0, len(rows))
    ax.tick_params(axis="y", length=0)


def plot_video_class(probs, *, class_index: int, bg_probs=None, pseudo_labels: Iterable = (), points: Iterable = (),
                     ground_truth: Iterable | None = None, config: ADMConfig | None = None,
                     grid: SnippetGrid | None = None, title: str | None = None, class_name: str | None = None,
                     background=None, centres: StepCentres | None = None):
    """Draw one video's class ``class_index``: its signal, ADM fits, pseudo-labels and ground truth.

    probs: (T_l, C) class probabilities, as ``fit_instances`` takes them; the signal drawn is the one
        ADM fits (smoothed by ``config.smoothing_sigma`` and upsampled to T), and the raw one too
        when T_l != T.
    bg_probs: (T,) background probabilities: background snippets are those ``background_mask`` gives
        with ``config`` and ``points``. background: a (T,) bool mask to draw as is instead (e.g. one that
        excludes the points of every class, as the fit does). T = their length, else T_l.
    pseudo_labels: mappings or objects with ``t_star, sigma, omega, start, end`` (snippets) and
        ``score`` (probability), e.g. ``PseudoLabel``s or ``admfit fit`` JSON entries of this class.
    points: annotated snippets of this class. ground_truth: (start, end) positions in snippets
        (fractional, e.g. ``grid.seconds_to_snippet(seconds)``); None draws no ground-truth row.
    grid: show seconds on the x axis instead of snippets. centres: where step j of a coarser ``probs`` sits on
        the T snippets, as ``fit_instances`` takes it (None: window-aligned). Returns a ``matplotlib.figure.Figure``.
    """
    Figure = _figure_class()
    config = config or ADMConfig(tuning="off")
    probs, length = _check_inputs(probs, class_index, bg_probs, background)
    points = np.asarray(list(points), dtype=np.int64).reshape(-1)
    fits = [_as_fit(label, index) for index, label in enumerate(pseudo_labels)]
    ground_truth = None if ground_truth is None else list(ground_truth)
    axis = _TimeAxis(grid)

    figure = Figure(figsize=(12, 5), dpi=100, layout="constrained")
    probs_ax, rows_ax = figure.subplots(2, 1, sharex=True, height_ratios=[4, 1])
    _draw_signal(probs_ax, axis, probs, class_index, length, config, centres)
    _draw_fits(probs_ax, axis, fits, length)
    _draw_points(probs_ax, axis, points, _background_snippets(bg_probs, background, points, config))
    _draw_rows(rows_ax, axis, fits, ground_truth)

    probs_ax.set_ylim(0, 1.05)
    probs_ax.set_xlim(*axis.x([-0.5, length - 0.5]))
    probs_ax.set_ylabel("probability")
    probs_ax.set_title(title or (class_name if class_name is not None else f"class {class_index}"))
    # Outside the axes, so the legend never hides the signal.
    probs_ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize="small")
    rows_ax.set_xlabel(axis.label)
    return figure


def figure_format(path) -> str:
    """'png' or 'svg' from the suffix of ``path``; anything else is an InputError on field 'output'."""
    suffix = Path(path).suffix.lower()
    if suffix not in _IMAGE_FORMATS:
        raise InputError(f"unsupported image format {suffix or '(no suffix)'!r}: use .png or .svg",
                         file=str(path), field="output")
    return _IMAGE_FORMATS[suffix]


def save_figure(figure, path) -> None:
    """Write ``figure`` as PNG or SVG (from the suffix), atomically, with the same bytes for the same figure.

    The timestamp and version-stamped metadata are left out, and SVG ids use a fixed hash salt.
    """
    image_format = figure_format(path)
    import matplotlib

    metadata = {"Software": None} if image_format == "png" else {"Date": None}
    with matplotlib.rc_context({"svg.hashsalt": _SVG_HASH_SALT}), atomic_open(path, "wb", field="output") as handle:
        figure.savefig(handle, format=image_format, metadata=metadata)


# What `admfit plot` draws: one video and class of a signals file and the pseudo-labels fitted on it.


@dataclass(frozen=True)
class PlottedFit:
    """What ``plot_fit`` drew: ``path`` (the image written), ``count`` pseudo-labels of the class ``class_index``
    (named ``class_name`` when the files name it) in ``video``."""

    path: Path
    video: str
    class_index: int
    class_name: str | None
    count: int

    @property
    def class_label(self) -> str:
        return self.class_name or str(self.class_index)


def recorded_config(config_path: Path | None, meta: Mapping, pseudo_path: Path) -> ADMConfig:
    """``config_path`` (YAML of ADMConfig fields) when given, else the config the fit recorded in the
    pseudo-labels' ``meta``, else the defaults."""
    if config_path is not None or not isinstance(meta.get("config"), Mapping):
        return load_adm_config(config_path)
    return validated(ADMConfig, meta["config"], file=str(pseudo_path), prefix="meta.config")


def _video_entries(rows: list[dict], video: str, path: Path) -> list[dict]:
    """The video's pseudo-labels (rows of admfit.files.pseudo_labels.read_pseudo_labels)."""
    entries = [row for row in rows if row["video"] == video]
    if not entries:
        raise InputError("has no pseudo-labels for this video", file=str(path), video=video, field="video")
    return entries


def _video_arrays(signals: SignalSet, video: str, pseudo_videos, path: Path):
    """(probs, bg_probs, background) of the video; a one-video npz without names is that of the pseudo-labels."""
    key = video
    if "" in signals.probs and list(pseudo_videos) == [video]:
        key = ""
    if key not in signals.probs:
        raise InputError("is not in the signals file", file=str(path), video=video, field="video")
    probs = signals.probs[key]
    if probs.ndim != 2:
        raise InputError(f"must be (T, C), got shape {probs.shape}", file=str(path), video=video, field="probs")
    return probs, signals.bg_probs.get(key), signals.background.get(key)


def class_of(label: str, classes: list[str] | None, num_classes: int, signals_path: Path) -> tuple[int, str | None]:
    """(class index, class name or None) of ``label``, given by name or by index (ASCII digits only: int() and
    regular expressions' \\d also take other scripts' digits: an Arabic-Indic two would draw class 2)."""
    if classes and label in classes:
        return classes.index(label), label
    if re.fullmatch(r"[0-9]+", label.strip()):
        index = int(label)
        if index >= num_classes:
            raise InputError(f"class index {index} (--label) is outside [0, {num_classes - 1}]", file=str(signals_path),
                             field="label")
        return index, classes[index] if classes and index < len(classes) else None
    known = f" (known: {', '.join(classes)})" if classes else " (no class names are known: give an index)"
    raise InputError(f"unknown class {label!r} for --label{known}", file=str(signals_path), field="label")


def _class_names(signals: SignalSet, entries: list[dict]) -> list[str] | None:
    """The signals' class names, else those the pseudo-labels name (by label_id)."""
    if signals.classes:
        return list(signals.classes)
    named = {int(entry["label_id"]): entry["label"] for entry in entries if entry["label"]}
    if not named:
        return None
    return [named.get(index, str(index)) for index in range(max(named) + 1)]


def _ground_truth(gt_path: Path, video: str, class_index: int, class_name: str | None,
                  grid: SnippetGrid | None, signals_path: Path) -> list[tuple[float, float]]:
    """The video's instances of the class in the annotation file ``gt_path`` (seconds), as (start, end) fractional
    snippet positions."""
    from admfit.datasets.annotations import load_annotations

    annotations = load_annotations(gt_path)
    if video not in annotations:
        raise InputError("is not in the ground-truth file", file=str(gt_path), video=video, field="video")
    if grid is None:
        raise InputError("ground truth is in seconds but the fps is unknown (give --fps or VIDEO/fps)",
                         file=str(signals_path), video=video, field="fps")
    chosen = [inst for inst in annotations[video].instances
              if (inst.label == class_name if class_name is not None else inst.label_id == class_index)]
    return [tuple(map(float, grid.seconds_to_snippet([inst.start_s, inst.end_s]))) for inst in chosen]


def default_figure_path(video: str, class_label: str) -> Path:
    """``VIDEO_LABEL.png`` in the working folder; class names such as "Cricket/Bowling" must not become folders."""
    return Path(readable_stem(f"{video}_{class_label}") + ".png")


@dataclass(frozen=True)
class _Picked:
    """One video's class as the files hold it: its arrays, the video's pseudo-labels (every class) and the class."""

    probs: np.ndarray
    bg_probs: np.ndarray | None
    background: np.ndarray | None
    entries: list[dict]
    class_index: int
    class_name: str | None

    @property
    def chosen(self) -> list[dict]:
        return [entry for entry in self.entries if int(entry["label_id"]) == self.class_index]


def _pick(signals: SignalSet, rows: list[dict], video: str, label: str, signals_path: Path,
          pseudo_path: Path) -> _Picked:
    """The video's arrays and pseudo-labels, checked against each other, and the class ``label`` names."""
    entries = _video_entries(rows, video, pseudo_path)
    probs, bg_probs, background = _video_arrays(signals, video, {row["video"] for row in rows}, signals_path)
    length = next(array for array in (background, bg_probs, probs) if array is not None).shape[0]
    pseudo_label_entries(entries, file=str(pseudo_path), video=video, length=length, num_classes=probs.shape[1])
    class_index, class_name = class_of(label, _class_names(signals, entries), probs.shape[1], signals_path)
    return _Picked(probs, bg_probs, background, entries, class_index, class_name)


def _draw(picked: _Picked, video: str, config: ADMConfig, grid: SnippetGrid | None, ground_truth,
          centres: StepCentres | None, signals_path: Path, pseudo_path: Path):
    """plot_video_class of the picked class; a drawing error blames the file it came from."""
    background = picked.background
    if background is None and picked.bg_probs is not None:
        # As in the fit: no background within point_radius of any point of the video, whatever its class.
        every_point = np.array([entry["point"] for entry in picked.entries], dtype=np.int64)
        background = prepare_background(picked.bg_probs, config, every_point)
    name = picked.class_name
    try:
        return plot_video_class(picked.probs, class_index=picked.class_index, background=background,
                                pseudo_labels=picked.chosen, points=[int(entry["point"]) for entry in picked.chosen],
                                ground_truth=ground_truth, config=config, grid=grid, class_name=name,
                                title=f"{video}: {name or f'class {picked.class_index}'}", centres=centres)
    except InputError as error:
        blamed = pseudo_path if (error.field or "").startswith("pseudo_labels") else signals_path
        raise InputError(error.message, file=str(blamed), video=video, field=error.field) from None


def plot_fit(signals_path: Path, pseudo_path: Path, *, video: str, label: str, output: Path | None = None,
             gt_path: Path | None = None, config_path: Path | None = None, fps: float | None = None,
             stride: float | None = None, num_frames: float | None = None) -> PlottedFit:
    """Draw ``video``'s class ``label`` (a name or an index) from the signals file ADM fitted and the pseudo-labels
    it wrote (``admfit plot``), with the ground truth of ``gt_path`` when given, and write the figure to ``output``
    (default: ``default_figure_path``). The fit's config: ``config_path``, else the one the pseudo-labels record.
    ``fps``, ``stride`` (frames between snippets), ``num_frames`` (frames per snippet): the signals' grid, None:
    the file's. Every file is checked before the figure is written."""
    fps, stride, num_frames = grid_options(fps, stride, num_frames)
    if output is not None:
        figure_format(output)
        check_writable(output)
    signals = load_signals(signals_path)
    rows, meta = read_pseudo_labels(pseudo_path)
    config = recorded_config(config_path, meta, pseudo_path)
    picked = _pick(signals, rows, video, label, signals_path, pseudo_path)
    if output is None:
        output = check_writable(default_figure_path(video, picked.class_name or str(picked.class_index)))
    grid = signals.grid(video, fps=fps, stride=stride, num_frames=num_frames)
    ground_truth = (_ground_truth(gt_path, video, picked.class_index, picked.class_name, grid, signals_path)
                    if gt_path is not None else None)
    figure = _draw(picked, video, config, grid, ground_truth, signals.centres, signals_path, pseudo_path)
    save_figure(figure, output)
    return PlottedFit(Path(output), video, picked.class_index, picked.class_name, len(picked.chosen))
