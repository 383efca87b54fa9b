"""The pseudo-label stage (paper 3.4.1, eq. 13): a trained base model's signals -> admfit.fit_instances -> Psi.

For every training video: the last pyramid level's fused class probabilities (the signal ADM fits, smoothed
and upsampled by admfit) and the first level's background probabilities (the background points), on the
grid of the model input; one ADM pseudo-label per annotated point. The pseudo-labels are written in the
format of ``admfit fit`` (so ``admfit eval-pseudo`` and ``admfit plot`` read them), with every snippet field
(``point``, ``t_star``, ``b_s``, ``b_e``, ``sigma``, ``omega``, ``start``, ``end``) in level-0 snippets of the
video's own feature grid and ``segment`` in seconds; the signals go to ``signals.npz`` (``admfit fit`` input).
Both files are written as ``admfit label`` writes them (``admfit.files.label_outputs``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from admfit import fit_instances
from admfit.errors import InputError
from admfit.files.label_outputs import DetectorSignals, write_label_file
from admfit.files.pseudo_labels import pseudo_label_rows, read_pseudo_labels
from admfit.fit.api import PseudoLabel
from admfit.fit.tuning import TuningResult, fit_tuned

from .config import DataConfig, DetectorConfig
from .data import Sample, VideoItem, inference_sample, padded_length
from .inference import RESULTS_VERSION, LevelScores, post_process, predict_levels, to_seconds


@dataclass
class VideoSignals:
    """One video's model outputs as ADM takes them, on the model-input grid (``sample`` maps it to the video)."""

    item: VideoItem
    sample: Sample
    levels: LevelScores

    @property
    def point_rows(self) -> np.ndarray:
        """(N, 2) int64 rows (nearest snippet of the model input, class id), in point order."""
        length = self.levels.fused[0].shape[0]
        snippets = np.clip(np.rint(self.sample.positions.numpy()), 0, length - 1).astype(np.int64)
        return np.stack([snippets, self.item.labels.astype(np.int64)], axis=1).reshape(-1, 2)

    @property
    def grid(self):
        """The SnippetGrid of the model input (where ``levels`` live)."""
        return self.sample.map.input_grid(self.item.grid)

    @property
    def signal_centres(self):
        """Where step j of the last level (the signal ADM fits) sits on the first level (the model's time axis)."""
        return self.levels.time_axis.level(len(self.levels.fused) - 1)


def collect_signals(model, items: Sequence[VideoItem], cfg: DetectorConfig, device: torch.device) -> list[VideoSignals]:
    """The model's outputs on every item (whole videos, as at inference)."""
    model = model.to(device).eval()
    found = []
    for item in items:
        sample = inference_sample(item, cfg.data, cfg.model.total_stride)
        found.append(VideoSignals(item, sample, predict_levels(model, sample, device, cfg.amp, cfg.amp_dtype)))
    return found


def _in_video_units(label: PseudoLabel, signals: VideoSignals, point: float) -> PseudoLabel:
    where = signals.sample.map
    t_star, b_s, b_e, start, end = where.to_video([label.t_star, label.b_s, label.b_e, label.start, label.end])
    sigma, omega = where.length_to_video([label.sigma, label.omega])
    return label._replace(point=float(point), t_star=float(t_star), b_s=float(b_s), b_e=float(b_e),
                          sigma=float(sigma), omega=float(omega), start=float(start), end=float(end))


def fit_pseudo_labels(signals: Sequence[VideoSignals], cfg: DetectorConfig
                      ) -> tuple[list[PseudoLabel], TuningResult | None]:
    """One ADM pseudo-label per point (``cfg.adm``), in point order, snippet fields in video level-0 snippets, and
    what ``cfg.adm.tuning == "auto"`` chose (None otherwise). Videos without points are left out."""
    by_video = {s.item.video: s for s in signals if len(s.item.positions)}
    if not by_video:
        return [], None
    inputs = dict(bg_probs={v: s.levels.background[0] for v, s in by_video.items()}, config=cfg.adm,
                  grid={v: s.grid for v, s in by_video.items()},
                  centres={v: s.signal_centres for v, s in by_video.items()})
    probs = {v: s.levels.fused[-1] for v, s in by_video.items()}
    points = {v: s.point_rows for v, s in by_video.items()}
    fitted, tuned = fit_tuned(probs, points, **inputs) if cfg.adm.tuning == "auto" else \
        (fit_instances(probs, points, **inputs), None)
    converted, index = [], 0
    for video, s in by_video.items():
        for point in s.item.positions.tolist():
            converted.append(_in_video_units(fitted[index], s, point))
            index += 1
    return converted, tuned


def write_pseudo_label_file(path: str | Path, labels: Sequence[PseudoLabel], items: Sequence[VideoItem],
                            classes: Sequence[str], meta: dict) -> None:
    """``admfit fit``-format JSON (segments in seconds) with each point's time."""
    grids = {item.video: item.grid for item in items}
    point_s = [float(grids[label.video].snippet_to_seconds(label.point)) for label in labels]
    rows = pseudo_label_rows(labels, list(classes), point_s)
    meta = {"segment_units": "seconds", "snippet_units": "video level-0", "classes": list(classes), **meta}
    write_label_file(path, rows, meta)


def write_signal_file(path: str | Path, signals: Sequence[VideoSignals], classes: Sequence[str]) -> None:
    """The fitted signals (videos with points) as ``admfit fit`` reads them (last-level probs, first-level
    background, model grid, and where the last level's steps sit on the first: ``step_origin``, ``step_spacing``).

    Only videos sharing the first video's model grid stride are comparable in one file (crop mode: all)."""
    signals = [s for s in signals if len(s.item.positions)]
    centres = {s.signal_centres for s in signals}
    if len(centres) > 1:  # one model, one number of levels: cannot happen unless signals of two models are mixed
        raise ValueError(f"signals of different pyramids in one file: {sorted(centres, key=str)}")
    collected = DetectorSignals()
    for s in signals:
        collected.keep(s.item.video, s.levels.fused[-1], s.levels.background[0], s.grid, s.item.duration_s,
                       s.signal_centres)
    collected.save(path, list(classes))


def attach_pseudo_labels(items: Sequence[VideoItem], path: str | Path,
                         classes: Sequence[str] | None = None) -> list[VideoItem]:
    """Items with each point's pseudo-label interval and sigma; InputError when the file does not match the points,
    or its class vocabulary (``meta.classes``) is not ``classes``."""
    if not Path(path).is_file():
        raise InputError("no pseudo-labels: run the pseudo-label stage first", file=str(path), field="pseudo_labels")
    rows, meta = read_pseudo_labels(path)
    if classes is not None and meta.get("classes") is not None and list(meta["classes"]) != list(classes):
        raise InputError(f"the pseudo-labels hold {len(meta['classes'])} classes, the run's vocabulary "
                         f"{len(classes)} other ones; rerun the pseudo stage with --force", file=str(path),
                         field="meta.classes")
    by_video: dict[str, list[dict]] = {}
    for row in rows:
        by_video.setdefault(row["video"], []).append(row)
    attached = []
    for item in items:
        entries = by_video.get(item.video, [])
        points = np.array([e["point"] for e in entries], dtype=np.float64)
        labels = np.array([e["label_id"] for e in entries], dtype=np.int64)
        intervals = np.array([[e["start"], e["end"]] for e in entries], dtype=np.float64).reshape(-1, 2)
        sigmas = np.array([e["sigma"] for e in entries], dtype=np.float64)
        if (len(entries) != len(item.positions) or not np.allclose(points, item.positions, atol=1e-6)
                or not np.array_equal(labels, item.labels)):
            raise InputError(f"{len(entries)} pseudo-labels for {len(item.positions)} points that do not match them "
                             "(other points file or subset?): rerun the pseudo stage with --force", file=str(path),
                             video=item.video, field="results")
        attached.append(VideoItem(item.video, item.features, item.grid, item.positions, item.labels, intervals, sigmas,
                                  item.duration_s))
    return attached


def sample_scale(item: VideoItem, cfg: DataConfig, multiple: int) -> float:
    """Video snippets per model-input snippet: T / input length when resizing, else 1."""
    return item.num_snippets / padded_length(cfg.input_length, multiple) if cfg.length_mode == "resize" else 1.0


@dataclass(frozen=True)
class SigmaStatistics:
    """Of a pseudo-label set, in level-0 snippets of the model input: the sigma head's scale (a quantile of the
    sigmas), the largest sigma, and the median interval length (the default K of the sigma head, docs/spec.md 5.7,
    before rounding up)."""

    sigma_scale: float
    sigma_max: float
    median_length: float

    @property
    def default_samples(self) -> int:
        return max(2, math.ceil(self.median_length))


def sigma_statistics(items: Sequence[VideoItem], cfg: DataConfig, multiple: int,
                     scale_quantile: float = 1.0) -> SigmaStatistics:
    sigmas, lengths = [], []
    for item in items:
        if item.sigmas is None or item.intervals is None or not len(item.sigmas):
            continue
        scale = sample_scale(item, cfg, multiple)
        sigmas.append(item.sigmas / scale)
        lengths.append((item.intervals[:, 1] - item.intervals[:, 0]) / scale)
    if not sigmas:
        raise InputError("no pseudo-labels on the training videos", field="pseudo_labels")
    every = np.concatenate(sigmas)
    scale = float(np.quantile(every, scale_quantile))
    return SigmaStatistics(scale if scale > 0 else 1.0, float(every.max()), float(np.median(np.concatenate(lengths))))


def proposals_document(signals: Sequence[VideoSignals], classes: Sequence[str], cfg: DetectorConfig) -> dict:
    """The detector's proposals on these videos (the usual post-processing of their signals), ActivityNet results."""
    results = {s.item.video: to_seconds(post_process(s.levels, cfg.inference), s.sample, s.item, classes)
               for s in signals}
    return {"version": RESULTS_VERSION, "results": results, "external_data": {}}
