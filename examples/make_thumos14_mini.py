"""Regenerate examples/thumos14_mini: five real THUMOS'14 training videos with their real point labels.

Run from the repository root: ``python examples/make_thumos14_mini.py``. The annotations and points
are the MIT-licensed files shipped in admfit/data (LACP, HR-Pro); the probability signals are
synthetic (``admfit.synthetic.make_signals``, "medium" difficulty, seed 0), shaped around each
video's real instances on the ActionFormer grid (native fps, 16-frame windows, stride 4).
"""
from __future__ import annotations

import json
from pathlib import Path

from admfit.data import data_path
from admfit.datasets import class_names, load_points, points_by_video, thumos14
from admfit.files.signals import save_signals
from admfit.synthetic import make_signals

VIDEOS = ["video_validation_0000051", "video_validation_0000160", "video_validation_0000413",
          "video_validation_0000690", "video_validation_0000934"]
OUT = Path(__file__).resolve().parent / "thumos14_mini"


def main() -> None:
    train = thumos14("train")
    classes = class_names(train)
    videos = {key: train[key] for key in VIDEOS}
    signals = make_signals(videos, classes, difficulty="medium", seed=0)
    points = points_by_video(load_points(data_path("thumos14", "point_gaussian.csv")))
    save_signals(OUT / "signals.npz", {key: s.probs for key, s in signals.items()}, classes=classes,
                 bg_probs={key: s.bg_probs for key, s in signals.items()},
                 grids={key: s.grid for key, s in signals.items()})
    document = {"classes": classes,
                "points": {key: [{"time_s": round(p.time_s, 3), "label": p.label} for p in points[key]]
                           for key in VIDEOS}}
    (OUT / "points.json").write_text(json.dumps(document, indent=1) + "\n")
    gt = {"database": {key: {"subset": "train", "duration": v.duration_s, "fps": v.fps,
                             "annotations": [{"label": i.label, "segment": [i.start_s, i.end_s]}
                                             for i in v.instances]} for key, v in videos.items()}}
    (OUT / "gt.json").write_text(json.dumps(gt, indent=1) + "\n")
    print(f"wrote {OUT}: {sum(len(points[key]) for key in VIDEOS)} points in {len(VIDEOS)} videos")


if __name__ == "__main__":
    main()
