"""Regenerate examples/thumos14_mini: five real THUMOS'14 training videos with their real point labels.

Run from the repository root: ``python examples/make_thumos14_mini.py``. The annotations and points
are the MIT-licensed files shipped in admfit/data (LACP); the probability signals are synthetic,
shaped around each video's real instances (see benchmarks/_workload.py), on the ActionFormer grid
(native fps, 16-frame windows, stride 4). Deterministic.
"""
from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from admfit.data import data_path  # noqa: E402
from admfit.fit_io import save_signals  # noqa: E402
from admfit.grid import SnippetGrid  # noqa: E402
from benchmarks._workload import NUM_FRAMES, STRIDE, thumos14_workload  # noqa: E402

VIDEOS = ["video_validation_0000051", "video_validation_0000160", "video_validation_0000413",
          "video_validation_0000690", "video_validation_0000934"]
OUT = ROOT / "examples" / "thumos14_mini"


def main() -> None:
    database = json.loads(data_path("thumos14", "gt_full.json").read_text())["database"]
    classes = sorted({a["label"] for video in database.values() for a in video["annotations"]})
    probs, bg_probs, _ = thumos14_workload(1, seed=0)
    points: dict[str, list[dict]] = {video: [] for video in VIDEOS}
    with data_path("thumos14", "point_gaussian.csv").open() as handle:
        for row in csv.DictReader(handle):
            if row["video_id"] in points:
                fps = database[row["video_id"]]["fps"]
                points[row["video_id"]].append({"time_s": round(int(row["point"]) / fps, 3), "label": row["class"]})
    save_signals(OUT / "signals.npz", {v: probs[f"{v}#0"] for v in VIDEOS}, classes=classes,
                 bg_probs={v: bg_probs[f"{v}#0"] for v in VIDEOS},
                 grids={v: SnippetGrid(fps=database[v]["fps"], stride=STRIDE, num_frames=NUM_FRAMES) for v in VIDEOS})
    (OUT / "points.json").write_text(json.dumps({"classes": classes, "points": points}, indent=1) + "\n")
    gt = {"database": {v: {"subset": "train", "duration": database[v]["duration"], "fps": database[v]["fps"],
                           "annotations": [{"label": a["label"], "segment": a["segment"]}
                                           for a in database[v]["annotations"]]} for v in VIDEOS}}
    (OUT / "gt.json").write_text(json.dumps(gt, indent=1) + "\n")
    print(f"wrote {OUT}: {sum(len(p) for p in points.values())} points in {len(VIDEOS)} videos")


if __name__ == "__main__":
    main()
