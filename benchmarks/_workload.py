"""A THUMOS'14-sized ADM workload for speed measurements: real videos, instances and points.

Durations, instances and points come from the annotation files shipped in the package (read
with the standard library, so this depends on nothing but admfit's data). The signals are only
as realistic as a speed test needs: each instance a plateau or a bell of its real length on the
ActionFormer grid (stride 4, 16-frame windows, native fps), smoothed noise elsewhere, background
high outside actions. The brackets, peaks and fits thus have THUMOS'14's sizes.
"""
from __future__ import annotations

import csv
import json

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.special import expit

from admfit.data import data_path
from admfit.grid import SnippetGrid

STRIDE, NUM_FRAMES = 4, 16


def _train_videos():
    database = json.loads(data_path("thumos14", "gt_full.json").read_text())["database"]
    train = [line.strip() for line in data_path("thumos14", "split_train.txt").read_text().split() if line.strip()]
    return {video: database[video] for video in train if video in database}


def _train_points():
    by_video: dict[str, list[tuple[int, int]]] = {}
    with data_path("thumos14", "point_gaussian.csv").open() as handle:
        for row in csv.DictReader(handle):
            by_video.setdefault(row["video_id"], []).append((int(row["point"]), int(row["class_index"])))
    return by_video


def _signal(video: dict, grid: SnippetGrid, length: int, rng: np.random.Generator) -> np.ndarray:
    probs = np.clip(gaussian_filter1d(rng.normal(0.08, 0.08, (length, 20)), 2, axis=0), 0, 1)
    times = np.arange(length)
    for annotation in video["annotations"]:
        start, end = grid.seconds_to_snippet(np.asarray(annotation["segment"], dtype=np.float64))
        centre, half = (start + end) / 2, max((end - start) / 2, 0.5)
        if rng.random() < 0.5:
            shape = expit((half - np.abs(times - centre)) / rng.uniform(0.5, 2.0))
        else:
            shape = np.exp(-0.5 * ((times - centre) / (half / rng.uniform(1.5, 2.5))) ** 2)
        level = rng.uniform(0.5, 0.95)
        column = annotation["label_id"]
        probs[:, column] = np.maximum(probs[:, column], level * shape)
    noise = gaussian_filter1d(rng.normal(0, 0.05, probs.shape), 1.5, axis=0)
    return np.clip(probs + noise, 0, 1).astype(np.float32)


def thumos14_workload(min_instances: int, seed: int):
    """(probs, bg_probs, points) dicts keyed 'video#replica' with at least min_instances points.

    probs: (T, 20) float32; bg_probs: (T,) float32; points: (N, 2) int (snippet, class index).
    """
    videos, points = _train_videos(), _train_points()
    probs, bg_probs, rows = {}, {}, {}
    replica, total = 0, 0
    while total < min_instances:
        rng = np.random.default_rng([seed, replica])
        for video_id, video in videos.items():
            if video_id not in points:
                continue
            grid = SnippetGrid(fps=video["fps"], stride=STRIDE, num_frames=NUM_FRAMES)
            length = max(1, int((video["duration"] * video["fps"] - NUM_FRAMES) // STRIDE) + 1)
            signal = _signal(video, grid, length, rng)
            frames = np.array([frame for frame, _ in points[video_id]], dtype=np.float64)
            snippets = grid.seconds_to_index(frames / video["fps"], length)
            key = f"{video_id}#{replica}"
            probs[key] = signal
            noise = gaussian_filter1d(rng.normal(0, 0.1, length), 2)
            bg_probs[key] = np.clip(1 - signal.max(axis=1) + noise, 0, 1).astype(np.float32)
            rows[key] = np.stack([snippets, [label for _, label in points[video_id]]], axis=1)
            total += len(snippets)
        replica += 1
    return probs, bg_probs, rows
