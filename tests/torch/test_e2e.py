"""End to end on THUMOS'14-shaped synthetic data (``admfit synth``): train a tiny base model for a few epochs
on CPU with ``admfit-torch train --stage base``, then its test mAP@0.5 must clearly beat an untrained model's."""
from __future__ import annotations

import pytest
import torch
from typer.testing import CliRunner

from admfit_cli.main import app as admfit_app
from admfit_cli.torch_main import app as torch_app
from admfit_torch.checkpoint import load_point_detector
from admfit_torch.inference import detect
from admfit_torch.models import PointDetector
from admfit_torch.run.scoring import evaluate_detections
from admfit_torch.sources import load_split

EPOCHS = 25


def _map_at_05(model, cfg, classes, data) -> float:
    split = load_split(data / "annotations.json", data / "features", cfg, subset="test", classes=classes)
    document = detect(model, split.items, classes, cfg, torch.device("cpu"))
    return float(evaluate_detections(data / "annotations.json", "test", document, tious=[0.5]).map[0])


def test_trained_base_model_beats_an_untrained_one(tmp_path):
    data, run = tmp_path / "synth", tmp_path / "run"
    made = CliRunner().invoke(admfit_app, ["synth", str(data), "--like", "thumos14", "--mode", "features", "--dim",
                                           "64", "--seed", "0", "--max-videos", "20"])
    if made.exit_code != 0 and "No such command" in made.output:
        pytest.skip("admfit synth is not available")
    assert made.exit_code == 0, made.output
    trained = CliRunner().invoke(torch_app, [
        "train", "--stage", "base", "--features", str(data / "features"), "--annotations",
        str(data / "annotations.json"), "--points", str(data / "points.csv"), "--output", str(run),
        "--config", "cpu-small", "--set", f"optim.epochs={EPOCHS}", "--set", "data.input_length=256",
        "--no-progress"])
    assert trained.exit_code == 0, trained.stderr

    model, cfg, classes = load_point_detector(run / "base" / "checkpoint.pt")
    torch.manual_seed(cfg.seed)  # the trained run started from exactly these weights
    untrained = PointDetector(cfg.model, len(classes)).eval()
    after, before = _map_at_05(model, cfg, classes, data), _map_at_05(untrained, cfg, classes, data)
    print(f"mAP@0.5 on the synthetic test videos: untrained {before:.4f}, trained {after:.4f}")
    assert after > before + 0.08 and after > 3 * before
