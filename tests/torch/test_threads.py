"""One thread count for the process: the ADM fit leaves torch's alone; `train --threads N` sets all of them.

The first parallel fit of a process is what used to move torch's count (numba's OpenMP pool starts then),
so each case runs in a fresh interpreter.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ..core.test_threads_default import assert_one_thread_everywhere, several_threads  # noqa: F401 (a fixture)
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


SET_THREADS = """
import os, sys
from admfit.threads import set_threads
set_threads(1)
import numba, numpy, torch  # loaded after: as the plug-in of `admfit label` loads torch
print(torch.get_num_threads(), numba.get_num_threads(), os.environ.get("OMP_NUM_THREADS"),
      os.environ.get("OPENBLAS_NUM_THREADS"))
"""


def test_set_threads_reaches_the_libraries_loaded_after_it():
    env = {name: value for name, value in os.environ.items() if not name.endswith("_NUM_THREADS")}
    result = subprocess.run([sys.executable, "-c", SET_THREADS], capture_output=True, text=True, env=env,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", "1", "1", "1"]


def _torch_command(name, tmp_path):
    from admfit_cli.torch_main import app

    absent = ("--features", tmp_path / "absent", "--annotations", tmp_path / "absent.json")
    arguments = {"train": ("--output", tmp_path / "run", "--config", "cpu-small", *absent, "--points",
                           tmp_path / "absent.csv"),
                 "infer": ("--checkpoint", tmp_path / "absent.pt", *absent, "--output", tmp_path / "out.json"),
                 "eval": ("--checkpoint", tmp_path / "absent.pt", *absent)}
    return app, (name, *arguments[name])


def _label_command(tmp_path):
    from admfit_cli.main import app

    return app, ("label", "--detector", "admfit_torch", "--detector-arg", f"checkpoint={tmp_path / 'absent.pt'}",
                 "--features", tmp_path / "absent", "--points", tmp_path / "absent.json", "--output", tmp_path / "out")


COMMANDS = {"train": lambda tmp: _torch_command("train", tmp), "infer": lambda tmp: _torch_command("infer", tmp),
            "eval": lambda tmp: _torch_command("eval", tmp), "label": _label_command}


@pytest.mark.parametrize("command", COMMANDS)
def test_threads_option_sets_torch_numba_and_blas_first(command, tmp_path, several_threads):
    """`admfit label`'s plug-in runs torch: its pool follows --threads as well as numba's."""
    app, arguments = COMMANDS[command](tmp_path)
    # The threads are set before anything else, so even a run that stops at its first input has them.
    code, out, err = invoke(app, *arguments, "--threads", "1")
    assert_one_line_error(code, out, err, "absent")
    assert_one_thread_everywhere()


def test_torch_commands_use_one_thread_on_a_small_machine(tmp_path, several_threads, monkeypatch):
    from admfit import threads

    monkeypatch.setattr(threads, "available_cores", lambda: 2)
    app, arguments = COMMANDS["eval"](tmp_path)
    code, out, err = invoke(app, *arguments)
    assert_one_line_error(code, out, err, "absent")
    notes = [line for line in err.splitlines() if line.startswith("note: ")]
    assert len(notes) == 1 and "--threads N" in notes[0]
    assert_one_thread_everywhere()
