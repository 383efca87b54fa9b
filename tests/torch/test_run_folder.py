"""Run folders: the lock of a run in progress, no folder left by a refused run, damaged outputs are not `done`."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from admfit.errors import InputError, Notice
from admfit_cli.torch_main import app
from admfit_torch.run.layout import RunLayout
from admfit_torch.run.state import StageState, run_lock

from ..helpers import assert_one_line_error, invoke
from .toydata import write_toy_dataset

FAST = ["--config", "cpu-small", "--set", "optim.epochs=1", "--set", "optim.warmup_epochs=0", "--set", "run.figures=0", "--no-progress"]


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    return write_toy_dataset(tmp_path_factory.mktemp("toy"), 6, length=96, seed=3)


def _data(toy):
    return ["--features", toy["features"], "--annotations", toy["annotations"], "--points", toy["points"]]


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_the_lock_refuses_a_second_holder_and_is_released_on_errors(tmp_path):
    with run_lock(tmp_path) as lock:
        assert lock.read_text().split()[0] == str(os.getpid())
        holder = subprocess.run([sys.executable, "-c", "import sys; from admfit_torch.run.state import run_lock\n"
                                 "with run_lock(sys.argv[1]): pass", str(tmp_path)], capture_output=True, text=True)
        assert holder.returncode != 0 and f"pid {os.getpid()}" in holder.stderr
    assert not lock.exists()
    with pytest.raises(RuntimeError):
        with run_lock(tmp_path):
            raise RuntimeError("boom")
    assert not RunLayout(tmp_path).lock.exists()


def test_a_stale_lock_is_taken_over_with_a_note(tmp_path):
    lock = RunLayout(tmp_path).lock
    pid = _dead_pid()
    lock.write_text(f"{pid}\n")
    with pytest.warns(Notice, match=f"stale lock of pid {pid}"):
        with run_lock(tmp_path):
            assert lock.read_text().split()[0] == str(os.getpid())
    assert not lock.exists()


def test_train_on_a_folder_in_use_is_refused_naming_the_pid(toy, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    with run_lock(out):
        code, stdout, stderr = invoke(app, "train", "--output", out, *_data(toy), *FAST)
    assert_one_line_error(code, stdout, stderr, f"pid {os.getpid()}", "in use")
    assert not (out / "stages.json").exists() and not (out / "config.yaml").exists()
    assert not RunLayout(out).lock.exists()  # ours, released by the with block; the refused run left none


def test_a_refused_train_leaves_no_run_folder(toy, tmp_path):
    out = tmp_path / "new" / "run"
    code, stdout, stderr = invoke(app, "train", "--output", out, *_data(toy), *FAST, "--set", "optim.epochs=-1")
    assert code == 2 and not (tmp_path / "new").exists()
    code, stdout, stderr = invoke(app, "train", "--output", out, "--features", tmp_path / "nothing", "--annotations",
                                  toy["annotations"], "--points", toy["points"], *FAST)
    assert_one_line_error(code, stdout, stderr)
    assert not out.exists()
    code, stdout, stderr = invoke(app, "train", "--output", out, *_data(toy), *FAST, "--stage", "pseudo")
    assert_one_line_error(code, stdout, stderr, "needs the 'base' stage")
    assert not out.exists()


def test_a_damaged_checkpoint_is_not_done_and_its_stage_runs_again(toy, tmp_path):
    out = tmp_path / "run"
    code, stdout, stderr = invoke(app, "train", "--output", out, *_data(toy), *FAST)
    assert code == 0, stderr
    layout = RunLayout(out)
    assert StageState(layout).finished("base") and not layout.lock.exists()
    data = layout.base_checkpoint.read_bytes()
    layout.base_checkpoint.write_bytes(data[: len(data) // 2])
    state = StageState(layout)
    assert not state.finished("base") and "not a readable checkpoint" in state.problem("base")
    code, stdout, stderr = invoke(app, "train", "--output", out, *_data(toy), *FAST)
    assert code == 0, stderr
    assert "note: stage 'base' finished but" in stderr and "running it again" in stderr
    assert "done, skipped" not in stdout
    for stage in ("base", "pseudo", "main", "eval"):
        assert f"{stage}: running" in stdout
    assert StageState(layout).finished("base")
    layout.pseudo_quality.write_text("{cut")
    with pytest.raises(InputError, match="needs the 'pseudo' stage"):
        StageState(layout).require("main")
    code, stdout, stderr = invoke(app, "train", "--output", out, *_data(toy), *FAST)
    assert code == 0, stderr
    assert stdout.count("done, skipped") == 1 and "pseudo: running" in stdout
    assert json.loads(layout.pseudo_quality.read_text())
