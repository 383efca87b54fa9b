"""Multi-process training: the whole loop under torchrun with 2 gloo processes on CPU through the real CLI
(bounded by a timeout): both training stages on both ranks, pseudo-labels and evaluation on rank 0."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import torch

from admfit_torch.checkpoint import load_checkpoint

from .toydata import write_toy_dataset


def test_torchrun_two_gloo_processes(tmp_path):
    paths = write_toy_dataset(tmp_path / "data", 8, length=96, seed=5)
    out = tmp_path / "run"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nnodes", "1", "--nproc_per_node", "2",
               "-m", "admfit_cli.torch_main", "train", "--features", str(paths["features"]),
               "--annotations", str(paths["annotations"]), "--points", str(paths["points"]), "--output", str(out),
               "--config", "cpu-small", "--set", "optim.epochs=2", "--set", "optim.batch_size=2", "--set", "run.figures=0",
               "--device", "cpu", "--no-progress"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("base: running") == 1 and done.stdout.count("eval: running") == 1  # rank 0 alone reports
    assert (out / "report.json").is_file()
    stages = json.loads((out / "stages.json").read_text())
    assert all(stages[name]["finished"] for name in ("base", "pseudo", "main", "eval"))
    assert load_checkpoint(out / "main" / "checkpoint.pt")["stage"] == "main"
    state = load_checkpoint(out / "base" / "checkpoint.pt")
    assert state["epoch"] == 1
    assert not any(key.startswith("module.") for key in state["model"])  # saved unwrapped from DDP
    assert all(torch.isfinite(v).all() for v in state["model"].values() if v.is_floating_point())
    records = [json.loads(line) for line in (out / "base" / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [0, 1]
    # 4 videos, 2 processes, batch 2 per process -> 1 step per epoch
    assert records[-1]["step"] == 2 and records[-1]["processes"] == 2
