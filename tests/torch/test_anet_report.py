"""ActivityNet-1.2 as the paper reports it: the anet12 preset scores at tIoU 0.5:0.95 (step 0.05) and shows Table 1's
columns (0.5, 0.75, 0.95, average) in report.md / report.json and in ``admfit-torch eval``.

A tiny ANet-shaped run: our own 8-video ActivityNet-style annotation file (VERSION 1.2, training / validation),
``admfit synth --like anet12`` on it (features resized to 192 steps), the anet12 preset with a small model.
The numbers mean nothing after one epoch; what is checked is which thresholds and columns are reported.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from admfit.evaluation import ANET_TIOUS, THUMOS14_TIOUS, table_columns
from admfit_cli.main import app as admfit_app
from admfit_cli.torch_main import app as torch_app
from admfit_torch.config import preset
from admfit_torch.run.layout import RunLayout

from ..helpers import invoke

LABELS = ["Archery", "Ballet", "Bathing dog"]
SMALL = ["--set", "model.input_dim=16", "--set", "model.embed_dim=16", "--set", "model.num_heads=2",
         "--set", "model.stem_blocks=1", "--set", "model.head_convs=1", "--set", "model.levels=3",
         "--set", "data.grid=spread", "--set", "data.input_length=64", "--set", "optim.epochs=1",
         "--set", "optim.warmup_epochs=0", "--set", "optim.batch_size=4", "--set", "run.figures=0"]


def _annotations(path):
    database = {}
    for i in range(8):
        instances = [{"label": LABELS[(i + k) % 3], "segment": [5.0 + 25 * k, 17.0 + 25 * k + i]} for k in range(2)]
        database[f"anet{i:02d}"] = {"subset": "training" if i < 4 else "validation", "duration": 60.0 + 10 * i,
                                    "resolution": "640x360", "url": "", "annotations": instances}
    path.write_text(json.dumps({"version": "VERSION 1.2", "taxonomy": [], "database": database}))


@pytest.fixture(scope="module")
def anet_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("anet")
    _annotations(folder / "anet_small.json")
    data = folder / "synth"
    code, _, stderr = invoke(admfit_app, "synth", data, "--like", "anet12", "--annotations", folder / "anet_small.json",
                             "--mode", "features", "--dim", 16, "--seed", 0, "--simulate-missing-points")
    assert code == 0, stderr
    inputs = ["--features", data / "features", "--annotations", data / "annotations.json"]
    out = folder / "run"
    code, _, stderr = invoke(torch_app, "train", "--config", "anet12", *SMALL, "--no-progress", *inputs,
                             "--points", data / "points.csv", "--output", out)
    assert code == 0, stderr
    return out, inputs


def test_the_anet12_preset_reports_at_05_to_095():
    assert preset("anet12").run.tious == "anet"
    assert preset("thumos14").run.tious == "thumos14"
    assert table_columns(ANET_TIOUS) == (0.5, 0.75, 0.95)
    assert table_columns(THUMOS14_TIOUS) == THUMOS14_TIOUS  # THUMOS'14 reports are shown in full
    assert table_columns((0.5, 0.7)) == (0.5, 0.7)


def test_report_has_table_1_columns_and_every_threshold(anet_run):
    out, _ = anet_run
    layout = RunLayout(out)
    report = json.loads(layout.report_json.read_text())
    assert report["tious"] == list(ANET_TIOUS) and report["columns"] == [0.5, 0.75, 0.95]
    for entry in (report["base"], report["main"], report["pseudo_labels"]["adm"],
                  report["pseudo_labels"]["base_proposals"]):
        assert len(entry["map"]) == 10 and list(entry["by_tiou"]) == [f"{t:g}" for t in ANET_TIOUS]
        assert entry["average"] == pytest.approx(np.mean(entry["map"]), abs=0.01)
    assert report["pseudo_labels"]["tious"] == list(ANET_TIOUS)
    markdown = layout.report_md.read_text()
    header = "| model | mAP@0.5 | mAP@0.75 | mAP@0.95 | AVG (0.5:0.95) |"
    assert header in markdown and "| source | alpha | mean tIoU (%) | mAP@0.5 | mAP@0.75 | mAP@0.95 |" in markdown
    assert "mAP@0.55" not in markdown and "all 10 thresholds" in markdown
    main = report["main"]
    row = (f"| ADM-Loc main model | {main['by_tiou']['0.5']:.1f} | {main['by_tiou']['0.75']:.1f} | "
           f"{main['by_tiou']['0.95']:.1f} | **{main['average']:.1f}** |")
    assert row in markdown


def test_eval_defaults_to_the_checkpoints_thresholds(anet_run):
    out, inputs = anet_run
    code, stdout, stderr = invoke(torch_app, "eval", "--checkpoint", out / "main", *inputs)
    assert code == 0, stderr
    assert stdout.splitlines()[1].split()[2:] == [f"{100 * t:g}" for t in ANET_TIOUS] + ["Avg"]
    report = json.loads(RunLayout(out).report_json.read_text())["main"]
    table = next(line for line in stdout.splitlines() if line.startswith("Table 1 "))
    assert table.startswith("Table 1 (mAP in %): mAP@50% ") and ", mAP@75% " in table and ", mAP@95% " in table
    assert table.endswith(f"AVG (50:95%) {report['average']:.2f}")  # the eval stage's detections, scored again
    code, stdout, _ = invoke(torch_app, "eval", "--checkpoint", out / "main", *inputs, "--tiou", "0.5")
    assert code == 0 and "Table 1" not in stdout and stdout.splitlines()[1].split()[2:] == ["50", "Avg"]


def test_a_synth_folder_is_read_on_the_grid_it_declares(anet_run, tmp_path):
    """`admfit synth --like anet12` resizes to 192 steps and says so in synth.json (feature_grid: spread): the anet12
    preset reads it as such, with a note, without --set data.grid=spread; a grid set explicitly is kept."""
    _, inputs = anet_run
    data = inputs[1].parent
    assert json.loads((data / "synth.json").read_text())["feature_grid"] == "spread"
    small = [arg for arg in SMALL if arg != "data.grid=spread"]
    small = [arg for i, arg in enumerate(small) if not (arg == "--set" and small[i + 1] == "--set")]
    assert "data.grid=spread" not in small and len(small) == len(SMALL) - 2
    out = tmp_path / "run"
    code, _, stderr = invoke(torch_app, "train", "--config", "anet12", *small, "--no-progress", *inputs, "--points",
                             data / "points.csv", "--output", out, "--stage", "base")
    assert code == 0, stderr
    assert "note: data.grid='spread', as " in stderr and "synth.json says of its features" in stderr
    assert "grid: spread" in (out / "config.yaml").read_text()
    code, _, stderr = invoke(torch_app, "train", "--config", "anet12", *small, "--set", "data.grid=anet12",
                             "--no-progress", *inputs, "--points", data / "points.csv", "--output", tmp_path / "x",
                             "--stage", "base")
    assert code == 2 and "is kept, as set" in stderr and "field 'T'" in stderr
