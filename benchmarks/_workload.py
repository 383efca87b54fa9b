"""THUMOS'14-shaped ADM workloads: the real training videos, instances and points, synthetic signals.

Videos, durations, instances and points are the annotation files shipped in the package; the
signals come from :func:`admfit.synthetic.make_signals` on the ActionFormer grid (native fps,
16-frame windows, stride 4). Replicas (keys ``video#r``) get other noise from other seeds.
"""
from __future__ import annotations

import numpy as np

from admfit.data import data_path
from admfit.datasets import class_names, load_points, points_by_video, thumos14
from admfit.synthetic import make_signals


def train_set():
    """(videos, classes, points by video) of the THUMOS'14 training split, as shipped."""
    videos = thumos14("train")
    points = points_by_video(load_points(data_path("thumos14", "point_gaussian.csv")))
    return videos, class_names(videos), points


def point_rows(signal, points, classes) -> np.ndarray:
    """(N, 2) int rows (snippet index, class index) of a video's points on its signal's grid."""
    snippets = signal.grid.seconds_to_index([p.time_s for p in points], signal.num_snippets)
    return np.stack([snippets, [classes.index(p.label) for p in points]], axis=1).astype(np.int64)


def thumos14_workload(min_instances: int, seed: int, difficulty: str = "medium"):
    """(probs, bg_probs, points) dicts keyed 'video#replica' with at least min_instances points.

    probs: (T, 20) float32; bg_probs: (T,) float32; points: (N, 2) int (snippet, class index).
    """
    videos, classes, points = train_set()
    pointed = {key: video for key, video in videos.items() if key in points}
    per_replica = sum(len(points[key]) for key in pointed)
    replicas = max(1, -(-min_instances // per_replica))
    keyed = {f"{key}#{r}": video for r in range(replicas) for key, video in pointed.items()}
    signals = make_signals(keyed, classes, difficulty=difficulty, seed=seed)
    probs = {key: signal.probs for key, signal in signals.items()}
    bg_probs = {key: signal.bg_probs for key, signal in signals.items()}
    rows = {key: point_rows(signal, points[key.split("#")[0]], classes) for key, signal in signals.items()}
    return probs, bg_probs, rows
