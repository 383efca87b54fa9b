"""One thread count for the process: the ADM fit leaves torch's alone; `train --threads N` sets all of them.

The first parallel fit of a process is what used to move torch's count (numba's OpenMP pool starts then),
so each case runs in a fresh interpreter.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ..helpers import assert_one_line_error, invoke

FIT_BETWEEN = """
import torch, numpy as np
torch.set_num_threads(1)
before = torch.get_num_threads()  # torch has set up its pool, as it has in a training run
from admfit import fit_instances
fit_instances({"v": np.full((50, 2), 0.5)}, {"v": [[10, 0], [30, 1]]}, bg_probs={"v": np.zeros(50)})
fit_instances({"v": np.full((50, 2), 0.5)}, {"v": [[10, 0]]}, bg_probs={"v": np.zeros(50)}, num_threads=1)
print(before, torch.get_num_threads())
"""


@pytest.mark.parametrize("layer", [None, "omp"], ids=["admfit's choice", "OpenMP layer chosen by the user"])
def test_fit_leaves_torch_thread_count_alone(layer):
    # numba's pool has 2 threads: an OpenMP reset would show as torch going from 1 to 2.
    env = {**os.environ, "NUMBA_NUM_THREADS": "2"}
    env.pop("NUMBA_THREADING_LAYER", None)
    if layer is not None:
        env["NUMBA_THREADING_LAYER"] = layer
    result = subprocess.run([sys.executable, "-c", FIT_BETWEEN], capture_output=True, text=True, env=env,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", "1"]


USE_THREADS = """
import os, sys
from admfit.threads import use_threads
applied = use_threads(int(sys.argv[1]) if len(sys.argv) > 1 else None)
import numba, numpy, torch
print(applied, torch.get_num_threads(), numba.get_num_threads(), os.environ.get("OMP_NUM_THREADS"),
      os.environ.get("OPENBLAS_NUM_THREADS"))
"""


def test_use_threads_sets_torch_numba_and_blas_alike():
    env = {name: value for name, value in os.environ.items() if not name.endswith("_NUM_THREADS")}
    run = lambda *args: subprocess.run([sys.executable, "-c", USE_THREADS, *args], capture_output=True, text=True,
                                       env=env, timeout=300)
    result = run("1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", "1", "1", "1", "1"]
    # Default: the count torch chose, given to numba as well (BLAS keeps its own).
    result = run()
    assert result.returncode == 0, result.stderr
    applied, torch_count, numba_count = result.stdout.split()[:3]
    assert applied == torch_count and int(numba_count) == min(int(torch_count), os.cpu_count())


def test_train_threads_option(tmp_path, monkeypatch):
    import numba
    import torch

    from admfit_cli.torch_main import app

    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        monkeypatch.setenv(name, os.environ.get(name, "1"))  # restored after the test
    numba_before = numba.get_num_threads()
    try:
        # The threads are set before anything else, so even a run that stops at its first input has them.
        code, out, err = invoke(app, "train", "--output", tmp_path / "run", "--config", "cpu-small", "--threads", "1",
                                "--features", tmp_path / "absent", "--annotations", tmp_path / "absent.json",
                                "--points", tmp_path / "absent.csv")
        assert_one_line_error(code, out, err, "absent")
        assert torch.get_num_threads() == 1 and numba.get_num_threads() == 1
        assert os.environ["OMP_NUM_THREADS"] == "1"
    finally:
        numba.set_num_threads(numba_before)
    code, _, err = invoke(app, "train", "--output", tmp_path / "run", "--threads", "0")
    assert code == 2 and "--threads" in err
