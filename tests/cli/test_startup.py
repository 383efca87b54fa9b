"""Start-up: `--help` imports no heavy library; each command imports what it needs when it runs.

Run in a fresh interpreter (this test process has long imported everything) and judged by
``sys.modules``, not by time: the list of imports is what makes start-up slow, and it does not
depend on how busy the machine is.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

# Runs APP's command line ARGS, then reports the top-level packages imported (on stderr, after the help).
PROBE = """
import importlib, json, sys
module, args = sys.argv[1], sys.argv[2:]
sys.argv = [module] + args
try:
    importlib.import_module(module).app()
except SystemExit as done:
    code = done.code
print(json.dumps({"code": code, "modules": sorted({name.split(".")[0] for name in sys.modules})}), file=sys.stderr)
"""

# What makes `import admfit_cli.main` slow: numba and llvmlite, scipy, torch, matplotlib, numpy,
# pydantic (the configs), yaml, rich (typer's rich help renderer).
HEAVY = {"numba", "llvmlite", "scipy", "torch", "matplotlib", "numpy", "pydantic", "yaml", "rich"}
# A command's own --help builds its options; typer 0.2x would convert them with pydantic, which
# admfit_cli/_plain_values.py spares them.
HEAVY_FOR_COMMAND_HELP = HEAVY

ADMFIT_COMMANDS = ["fit", "eval", "eval-pseudo", "simulate-points", "synth", "plot", "export", "label", "detectors"]
TORCH_COMMANDS = ["train", "infer", "eval", "config"]


def _imports(module: str, *args: str) -> set[str]:
    result = subprocess.run([sys.executable, "-c", PROBE, module, *args], capture_output=True, text=True,
                            timeout=120)
    report = json.loads(result.stderr.strip().splitlines()[-1])
    assert report["code"] in (0, None), result.stderr
    assert "Usage:" in result.stdout, result.stdout
    return set(report["modules"])


@pytest.mark.parametrize("module", ["admfit_cli.main", "admfit_cli.torch_main"])
def test_top_level_help_imports_nothing_heavy(module):
    assert _imports(module, "--help") & HEAVY == set()


@pytest.mark.parametrize("module, command", [("admfit_cli.main", name) for name in ADMFIT_COMMANDS]
                         + [("admfit_cli.torch_main", name) for name in TORCH_COMMANDS])
def test_command_help_imports_nothing_heavy(module, command):
    assert _imports(module, command, "--help") & HEAVY_FOR_COMMAND_HELP == set()


def test_every_command_is_covered():
    """A new command must join the lists above, so that its start-up is checked too."""
    from typer.main import get_command

    from admfit_cli.main import app
    from admfit_cli.torch_main import app as torch_app

    assert sorted(get_command(app).commands) == sorted(ADMFIT_COMMANDS)
    assert sorted(get_command(torch_app).commands) == sorted(TORCH_COMMANDS)


# `admfit eval` on real files: the numpy evaluator, no numba (its start alone is twice the command's time
# budget, docs/evaluation.md), no scipy; the ground truth as columns, not as pydantic models, and its
# options without pydantic either (admfit_cli/_plain_values.py); rich only for a table on a terminal. Every module
# name is reported, not just the top-level packages.
EVAL_PROBE = PROBE.replace('name.split(".")[0] for name in sys.modules', "name for name in sys.modules")
EVAL_MUST_NOT_LOAD = {"numba", "llvmlite", "scipy", "torch", "matplotlib", "rich", "yaml", "pandas", "pydantic"}


def test_eval_imports_no_numba_nor_the_annotation_models(tmp_path):
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps({"database": {"v": {"subset": "test", "annotations": [
        {"label": "A", "segment": [0, 10]}, {"label": "A", "segment": [20, 30]}]}}}))
    pred = tmp_path / "pred.json"
    pred.write_text(json.dumps({"results": {"v": [{"label": "A", "segment": [0, 10], "score": 0.9},
                                                  {"label": "A", "segment": [1, 9], "score": 0.8}]}}))
    assert "name.split" not in EVAL_PROBE  # the replacement above took
    result = subprocess.run([sys.executable, "-c", EVAL_PROBE, "admfit_cli.main", "eval", str(gt), str(pred), "--json"],
                            capture_output=True, text=True, timeout=120)
    report = json.loads(result.stderr.strip().splitlines()[-1])
    assert report["code"] in (0, None), result.stderr
    assert json.loads(result.stdout)["num_predictions"] == 2  # it did evaluate
    modules = set(report["modules"])
    assert {name.split(".")[0] for name in modules} & EVAL_MUST_NOT_LOAD == set()
    assert "admfit.evaluation._kernels" in modules and "admfit.datasets.annotations" not in modules


# `admfit eval` multiplies no matrices: numpy's BLAS starts no thread pool (admfit.threads.one_blas_thread).
THREADS_PROBE = """
import os, sys
sys.argv = ["admfit"] + sys.argv[1:]
from admfit_cli.main import app
try:
    app()
except SystemExit:
    pass
print(len(os.listdir("/proc/self/task")), os.environ.get("OPENBLAS_NUM_THREADS"), file=sys.stderr)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts the threads in /proc")
def test_eval_starts_no_blas_thread_pool(tmp_path):
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps({"database": {"v": {"subset": "test", "annotations": [{"label": "A", "segment": [0, 10]}]}}}))
    pred = tmp_path / "pred.json"
    pred.write_text(json.dumps({"results": {"v": [{"label": "A", "segment": [0, 10], "score": 0.9}]}}))
    environment = {name: value for name, value in os.environ.items()
                   if name not in ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    result = subprocess.run([sys.executable, "-c", THREADS_PROBE, "eval", str(gt), str(pred), "--json"],
                            capture_output=True, text=True, timeout=120, env=environment)
    assert json.loads(result.stdout)["num_predictions"] == 1, result.stderr
    # one thread, and the variable set for numpy's import is gone again
    assert result.stderr.split() == ["1", "None"], result.stderr
