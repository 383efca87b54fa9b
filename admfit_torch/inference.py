"""Inference and post-processing (docs/spec.md section 4), vectorised numpy, no compiled extension.

Per video: forward pass on the whole video -> fused class scores and actionness (1 - p_bg) per level
-> classes selected by their video-level score -> for each kept class and level, the scores upsampled
to the level-0 grid (between the level's step centres, ``PointDetector.time_axis``) and thresholded at
every value of two sweeps -> runs of consecutive snippets -> outer-inner-contrast score -> NMS per class
(hard or soft, ``nms.py``) -> optional top-N -> seconds.

Positions: a segment ``[s, e)`` covers level-0 snippets s..e-1 of the model input; its boundaries are
snippet positions s - 0.5 and e - 0.5, mapped to video snippets by the sample's SnippetMap (``Sample.map``) and to
seconds by the video's SnippetGrid.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch

from admfit.fit.signal import upsample_signal
from admfit.levels import Pyramid, StepCentres

from .config import DetectorConfig, InferenceConfig, LevelFusion, NMSMethod
from .data import Sample, VideoItem, collate, inference_sample
from .ddp import autocast
from .models import PointDetector, fuse
from .nms import hard_nms, soft_nms

RESULTS_VERSION = "admfit_torch-0.1"


@dataclass
class LevelScores:
    """One video's model outputs, padding removed: ``fused[l]`` (T_l, C) eq. 1 scores and
    ``background[l]`` (T_l,) background probabilities, float32 numpy; level 0 is the finest. ``time_axis``: where
    level-l step j sits on level 0 (the model's ``PointDetector.time_axis``)."""

    fused: list[np.ndarray]
    background: list[np.ndarray]
    time_axis: Pyramid

    def level_mean(self) -> "LevelScores":
        """One level on the level-0 grid: every level's fused scores and background probabilities upsampled to
        level 0 (at its step centres) and averaged over levels (``inference.level_fusion = mean``)."""
        length = self.fused[0].shape[0]
        fused = np.mean([upsample_to(f, self.time_axis.level(l), length) for l, f in enumerate(self.fused)], axis=0)
        background = np.mean([upsample_to(b, self.time_axis.level(l), length) for l, b in enumerate(self.background)],
                             axis=0)
        return LevelScores([fused], [background], self.time_axis)


@torch.no_grad()
def predict_levels(model: PointDetector, sample: Sample, device: torch.device, amp: bool = False,
                   amp_dtype: str = "bfloat16") -> LevelScores:
    batch = collate([sample])
    with autocast(device, amp, amp_dtype):
        output = model(batch.features.to(device), batch.masks.to(device))
    # Every level's probabilities and mask in one table, so that the host waits for the device once per video.
    table = torch.cat([torch.cat([probs[0], mask[0].unsqueeze(1).float()], dim=1)
                       for probs, mask in zip(output.probabilities(), output.masks)]).cpu()
    fused, background = [], []
    for level in torch.split(table, [mask.shape[1] for mask in output.masks]):
        valid = int(level[:, -1].sum())
        probs = level[:valid, :-1]
        # post-processing reads one class (a column) at a time: columns contiguous, as the head's layout gave them
        fused.append(np.asfortranarray(fuse(probs).numpy()))
        background.append(np.ascontiguousarray(probs[:, -1].numpy()))
    return LevelScores(fused, background, model.time_axis)


def video_scores(fused: Sequence[np.ndarray], divisor: int) -> np.ndarray:
    """(C,): per level the mean of the top max(1, T_l // divisor) scores of each class, averaged over levels."""
    per_level = []
    for scores in fused:
        k = max(1, scores.shape[0] // divisor)
        per_level.append(-np.sort(-scores, axis=0)[:k].mean(axis=0))
    return np.mean(per_level, axis=0)


def select_classes(scores: np.ndarray, threshold: float) -> np.ndarray:
    """Indices of classes with video score >= threshold; the top class alone if none passes."""
    kept = np.flatnonzero(scores >= threshold)
    return kept if kept.size else np.array([int(np.argmax(scores))])


def upsample_to(values: np.ndarray, centres: StepCentres, length: int) -> np.ndarray:
    """(T_l, ...) values of one level -> (length, ...) on level 0, linear between the level's step centres
    (``centres``: ``LevelScores.time_axis.level(l)``), constant beyond the first and last; admfit's upsample_signal,
    so that proposals and ADM's signal share one time axis."""
    if centres.is_identity:
        return values[:length]
    return upsample_signal(values, length, centres)


def runs(active: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of True in each row of (K, T) bool -> (row, start, end) arrays, end exclusive."""
    edges = np.diff(np.pad(active.astype(np.int8), ((0, 0), (1, 1))), axis=1)
    rows, columns = np.nonzero(edges)
    # each row's edges alternate start (+1), end (-1), and nonzero walks rows in order
    return rows[0::2], columns[0::2], columns[1::2]


def outer_inner_contrast(signal: np.ndarray, starts: np.ndarray, ends: np.ndarray, lam: float) -> np.ndarray:
    """Mean of ``signal`` on [s, e) minus its mean on the flanks of floor(lam (e - s)) snippets each side
    (clipped to the video; 0 when both flanks are empty), as LACP scores proposals."""
    total = np.concatenate([[0.0], np.cumsum(signal, dtype=np.float64)])
    inner = (total[ends] - total[starts]) / (ends - starts)
    flank = np.floor(lam * (ends - starts)).astype(np.int64)
    left, right = np.maximum(starts - flank, 0), np.minimum(ends + flank, signal.shape[0])
    outer_sum = (total[starts] - total[left]) + (total[right] - total[ends])
    outer_len = (starts - left) + (right - ends)
    outer = np.divide(outer_sum, outer_len, out=np.zeros_like(outer_sum), where=outer_len > 0)
    return inner - outer


@dataclass
class Proposals:
    """Segments (N, 2) in level-0 snippet positions [start, end), scores (N,), class ids (N,)."""

    segments: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    scores: np.ndarray = field(default_factory=lambda: np.zeros(0))
    labels: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


def class_proposals(levels: LevelScores, c: int, video_score: float, cfg: InferenceConfig) -> tuple[np.ndarray, np.ndarray]:
    """All levels and thresholds of class c, duplicates merged (max score): (segments (N, 2), scores (N,))."""
    length = levels.fused[0].shape[0]
    class_thr = np.asarray(cfg.class_score_thresholds, dtype=np.float64)[:, None]
    action_thr = np.asarray(cfg.actionness_thresholds, dtype=np.float64)[:, None]
    found = []
    for level, (fused, background) in enumerate(zip(levels.fused, levels.background)):
        centres = levels.time_axis.level(level)
        signal = upsample_to(fused[:, c], centres, length)
        actionness = upsample_to(1.0 - background, centres, length)
        _, starts, ends = runs(np.concatenate([signal >= class_thr, actionness >= action_thr]))
        if starts.size:
            score = outer_inner_contrast(signal, starts, ends, cfg.oic_lambda) + cfg.oic_gamma * video_score
            found.append(np.stack([starts, ends, score], axis=1))
    if not found:
        return np.zeros((0, 2)), np.zeros(0)
    table = np.concatenate(found)
    table = table[np.lexsort((-table[:, 2], table[:, 1], table[:, 0]))]  # per (start, end): best score first
    first = np.ones(len(table), dtype=bool)
    first[1:] = np.any(table[1:, :2] != table[:-1, :2], axis=1)
    return table[first, :2], table[first, 2]


def post_process(levels: LevelScores, cfg: InferenceConfig) -> Proposals:
    """Proposals of one video after class selection, scoring, NMS per class and top-N."""
    scores = video_scores(levels.fused, cfg.topk_divisor)  # from every level, whatever the fusion
    if cfg.level_fusion is LevelFusion.mean:
        levels = levels.level_mean()
    parts = []
    for c in select_classes(scores, cfg.class_threshold):
        segments, seg_scores = class_proposals(levels, int(c), float(scores[c]), cfg)
        if cfg.nms is NMSMethod.hard:
            keep = hard_nms(segments, seg_scores, cfg.nms_iou)
            kept_scores = seg_scores[keep]
        else:
            keep, kept_scores = soft_nms(segments, seg_scores, cfg.soft_nms_sigma, cfg.soft_nms_min_score)
        parts.append(Proposals(segments[keep], kept_scores, np.full(len(keep), int(c))))
    merged = Proposals(np.concatenate([p.segments for p in parts]), np.concatenate([p.scores for p in parts]),
                       np.concatenate([p.labels for p in parts]))
    order = np.argsort(-merged.scores, kind="stable")[:cfg.top_n]
    return Proposals(merged.segments[order], merged.scores[order], merged.labels[order])


def to_seconds(proposals: Proposals, sample: Sample, item: VideoItem, classes: Sequence[str]) -> list[dict]:
    """ActivityNet result entries: segment [start_s, end_s] (seconds), label, score, label_id."""
    boundaries = proposals.segments - 0.5
    snippets = sample.map.to_video(boundaries)
    seconds = item.grid.snippet_to_seconds(snippets)
    return [{"segment": [round(float(s), 4), round(float(e), 4)], "label": classes[int(c)], "score": float(p),
             "label_id": int(c)}
            for (s, e), p, c in zip(seconds, proposals.scores, proposals.labels)]


@dataclass
class InferenceTiming:
    """Seconds spent in the model (forward, incl. host copies) and in post-processing, over all videos."""

    forward_s: float = 0.0
    post_s: float = 0.0
    videos: int = 0


def detect(model: PointDetector, items: Sequence[VideoItem], classes: Sequence[str], cfg: DetectorConfig,
           device: torch.device, timing: InferenceTiming | None = None) -> dict:
    """Detections of every item, as an ActivityNet results document."""
    model = model.to(device).eval()
    results = {}
    for item in items:
        sample = inference_sample(item, cfg.data, cfg.model.total_stride)
        started = time.perf_counter()
        levels = predict_levels(model, sample, device, cfg.amp, cfg.amp_dtype)
        between = time.perf_counter()
        results[item.video] = to_seconds(post_process(levels, cfg.inference), sample, item, classes)
        if timing is not None:
            timing.forward_s += between - started
            timing.post_s += time.perf_counter() - between
            timing.videos += 1
    return {"version": RESULTS_VERSION, "results": results, "external_data": {}}
