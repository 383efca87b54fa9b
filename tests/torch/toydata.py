"""A tiny, seeded toy data set for tests and the quick benchmark (not a substitute for ``admfit synth``).

Each video has ``length`` snippets of ``dim`` features on a 30 fps, stride-4, 16-frame grid; 2-4 action
instances of 8-40 snippets, each carrying its class prototype (plus noise) inside the instance, noise
elsewhere; one point per instance, drawn near the instance centre. Written as the files the CLI reads:
``features/<video>.npy``, an ActivityNet-style ``annotations.json`` (even videos "train", odd "test")
and an SF-Net-format ``points.csv`` (``video,time_s,Class``: seconds, so no native-fps table is needed).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from admfit.grid import SnippetGrid

FPS, STRIDE, NUM_FRAMES = 30.0, 4, 16


@dataclass(frozen=True)
class ToyPoint:
    """PointLabel-like: what ``data.make_items`` reads."""

    video: str
    label: str
    time_s: float


def toy_videos(num_videos: int, *, length: int = 128, dim: int = 64, num_classes: int = 3, seed: int = 0,
               noise: float = 1.0, strength: float = 1.5):
    """Returns (features {video: (T, D) float32}, ground truth {video: [(label, start_s, end_s)]}, points, classes)."""
    rng = np.random.default_rng(seed)
    classes = [f"class{c}" for c in range(num_classes)]
    prototypes = rng.normal(size=(num_classes, dim)) * strength
    grid = SnippetGrid(fps=FPS, stride=STRIDE, num_frames=NUM_FRAMES)
    features, truth, points = {}, {}, []
    for v in range(num_videos):
        video = f"video_{v:03d}"
        x = rng.normal(size=(length, dim)) * noise
        instances = []
        cursor = int(rng.integers(2, 10))
        for _ in range(int(rng.integers(2, 5))):
            size = int(rng.integers(8, 41))
            if cursor + size >= length - 2:
                break
            c = int(rng.integers(num_classes))
            x[cursor:cursor + size] += prototypes[c]
            start_s, end_s = grid.snippet_to_seconds([cursor - 0.5, cursor + size - 0.5])
            instances.append((classes[c], float(start_s), float(end_s)))
            point = cursor + size / 2 + rng.normal() * size / 8
            points.append(ToyPoint(video, classes[c], float(grid.snippet_to_seconds(np.clip(point, cursor, cursor + size - 1)))))
            cursor += size + int(rng.integers(4, 30))
        features[video] = x.astype(np.float32)
        truth[video] = instances
    return features, truth, points, classes


def write_toy_dataset(folder: str | Path, num_videos: int, **kwargs) -> dict[str, Path]:
    """Write the toy set under ``folder``; returns the paths {'features', 'annotations', 'points'}."""
    folder = Path(folder)
    features, truth, points, _ = toy_videos(num_videos, **kwargs)
    (folder / "features").mkdir(parents=True, exist_ok=True)
    database = {}
    for i, (video, array) in enumerate(sorted(features.items())):
        np.save(folder / "features" / f"{video}.npy", array)
        duration = float((array.shape[0] * STRIDE + NUM_FRAMES) / FPS)
        database[video] = {"subset": "train" if i % 2 == 0 else "test", "duration": duration, "fps": FPS,
                           "annotations": [{"label": label, "segment": [s, e]} for label, s, e in truth[video]]}
    (folder / "annotations.json").write_text(json.dumps({"database": database}), encoding="utf-8")
    # SF-Net's click layout, in seconds: toy videos are in no native-fps table (LACP frames would need one)
    rows = [f"{p.video},{p.time_s!r},{p.label}" for p in points]
    (folder / "points.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return {"features": folder / "features", "annotations": folder / "annotations.json", "points": folder / "points.csv"}
