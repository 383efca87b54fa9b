"""From annotation, point and feature files to training items: grids and point positions (snippets)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from admfit.errors import InputError
from admfit_torch.config import preset
from admfit_torch.sources import load_split


@pytest.fixture
def files(tmp_path):
    database = {"a": {"subset": "training", "duration": 10.0, "fps": 25.0,
                      "annotations": [{"label": "Jump", "segment": [4.0, 6.0]}]},
                "b": {"subset": "validation", "duration": 8.0, "fps": 30.0,
                      "annotations": [{"label": "Run", "segment": [1.0, 2.0]}]}}
    (tmp_path / "gt.json").write_text(json.dumps({"database": database}))
    (tmp_path / "features").mkdir()
    np.save(tmp_path / "features" / "a.npy", np.zeros((20, 4), np.float32))
    np.save(tmp_path / "features" / "b.npy", np.zeros((56, 4), np.float32))
    (tmp_path / "clicks.txt").write_text("a,5.0,Jump\n\nb,1.5,Run\n")
    return tmp_path


def test_spread_grid_spreads_the_rows_over_the_duration(files):
    cfg = preset("cpu-small", model={"input_dim": 4}, data={"grid": "spread"})
    split = load_split(files / "gt.json", files / "features", cfg, subset="train", points_path=files / "clicks.txt")
    (item,) = split.items
    assert item.video == "a" and split.classes == ["Jump", "Run"]
    # 20 rows over 10 s at 25 fps: stride 12.5 frames; 5.0 s -> 5 * 25 / 12.5 - 12.5 / (2 * 12.5) = 9.5
    assert item.grid.stride == 12.5 and item.positions.tolist() == [9.5]
    assert item.labels.tolist() == [0]


def test_actionformer_grid_at_the_native_fps(files):
    cfg = preset("cpu-small", model={"input_dim": 4})
    split = load_split(files / "gt.json", files / "features", cfg, subset="test", points_path=files / "clicks.txt")
    (item,) = split.items
    # 30 fps, stride 4, 16-frame windows: 1.5 s -> 1.5 * 30 / 4 - 16 / 8 = 9.25
    assert item.video == "b" and item.positions.tolist() == [9.25] and item.labels.tolist() == [1]


def test_spread_grid_needs_a_duration(files):
    database = json.loads((files / "gt.json").read_text())
    del database["database"]["a"]["duration"]
    (files / "gt.json").write_text(json.dumps(database))
    cfg = preset("cpu-small", model={"input_dim": 4}, data={"grid": "spread"})
    with pytest.raises(InputError) as caught:
        load_split(files / "gt.json", files / "features", cfg, subset="train")
    assert caught.value.video == "a" and caught.value.field == "duration"
