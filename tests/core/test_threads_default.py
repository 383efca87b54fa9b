"""One thread setting for the process (admfit.threads.set_threads, `--threads`): its default, and `admfit fit`.

torch is looked up in sys.modules, never imported: these tests run without it (the torch-side ones are in
tests/torch/test_threads.py).
"""
from __future__ import annotations

import os
import sys
import warnings

import numba
import pytest

from admfit import threads
from admfit.errors import Notice
from admfit_cli.main import app as admfit_app

from ..helpers import assert_one_line_error, invoke


@pytest.fixture
def several_threads():
    """Two threads in every loaded pool (so that a count of 1 shows who set it), everything restored afterwards."""
    saved_environment = {name: os.environ.get(name) for name in threads._LIBRARY_VARIABLES}
    torch = sys.modules.get("torch")
    before = numba.get_num_threads(), torch.get_num_threads() if torch is not None else None
    numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
    if torch is not None:
        torch.set_num_threads(2)
    yield
    numba.set_num_threads(before[0])
    if torch is not None:
        torch.set_num_threads(before[1])
    for name, value in saved_environment.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def assert_one_thread_everywhere() -> None:
    torch = sys.modules.get("torch")
    assert numba.get_num_threads() == 1
    assert torch is None or torch.get_num_threads() == 1
    assert all(os.environ[name] == "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"))


def _notices(call):
    """(what call() returns, the Notices it emitted)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = call()
    return value, [str(warning.message) for warning in caught if issubclass(warning.category, Notice)]


@pytest.mark.parametrize("cores, environ, expected", [
    (1, {}, 1), (2, {}, 1), (3, {"WORLD_SIZE": "1"}, 1),
    (16, {"WORLD_SIZE": "16", "LOCAL_WORLD_SIZE": "16"}, 1),  # torchrun, 16 processes on 16 cores
    (16, {"WORLD_SIZE": "8", "LOCAL_WORLD_SIZE": "4"}, 4),  # 2 nodes of 4 processes: the cores of this node
    (16, {"WORLD_SIZE": "4"}, 4),
    (6, {"LOCAL_WORLD_SIZE": "4"}, 1),
    (8, {}, None), (8, {"WORLD_SIZE": "1", "LOCAL_WORLD_SIZE": "1"}, None),  # each library's own default
])
def test_default_threads(cores, environ, expected):
    count, notes = _notices(lambda: threads.default_threads(cores, environ))
    assert count == expected
    # One note, saying how to raise it, only where the count is 1 for want of cores.
    assert len(notes) == (cores < threads.FEW_CORES)
    assert all("--threads N" in note and f"{cores}-core" in note for note in notes)


def test_only_rank_0_of_a_torchrun_job_says_so():
    _, notes = _notices(lambda: threads.default_threads(2, {"WORLD_SIZE": "2", "RANK": "1"}))
    assert notes == []


def test_set_threads_applies_the_default_and_notes_it_once(several_threads, monkeypatch):
    monkeypatch.setattr(threads, "available_cores", lambda: 2)
    count, notes = _notices(lambda: threads.set_threads(None))
    assert count == 1 and len(notes) == 1
    assert_one_thread_everywhere()


def test_set_threads_leaves_a_large_machine_to_the_libraries(several_threads, monkeypatch):
    monkeypatch.setattr(threads, "available_cores", lambda: 8)
    blas = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")  # not numba's: it is loaded
    for name in blas:
        monkeypatch.delenv(name, raising=False)
    count, notes = _notices(lambda: threads.set_threads(None))
    assert count is None and notes == []
    assert not any(name in os.environ for name in blas)
    assert numba.get_num_threads() == min(2, numba.config.NUMBA_NUM_THREADS)


def test_set_threads_refuses_zero():
    with pytest.raises(ValueError, match="at least 1"):
        threads.set_threads(0)


def test_fit_threads_option_sets_every_pool_first(several_threads, tmp_path):
    # Set before anything else: even a run that stops at its first input has them.
    code, out, err = invoke(admfit_app, "fit", tmp_path / "absent.npz", tmp_path / "absent.json", "-o",
                            tmp_path / "out.json", "--threads", "1")
    assert_one_line_error(code, out, err, "absent")
    assert_one_thread_everywhere()


def test_fit_on_a_small_machine_uses_one_thread_and_says_so_once(several_threads, tmp_path, monkeypatch):
    monkeypatch.setattr(threads, "available_cores", lambda: 2)
    code, out, err = invoke(admfit_app, "fit", tmp_path / "absent.npz", tmp_path / "absent.json", "-o",
                            tmp_path / "out.json")
    assert_one_line_error(code, out, err, "absent")
    notes = [line for line in err.splitlines() if line.startswith("note: ")]
    assert len(notes) == 1 and "--threads N" in notes[0]
    assert_one_thread_everywhere()


def test_a_thread_variable_the_user_set_is_their_choice():
    count, notes = _notices(lambda: threads.default_threads(2, {"OMP_NUM_THREADS": "2"}))
    assert count is None and notes == []
    count, notes = _notices(lambda: threads.default_threads(16, {"NUMBA_NUM_THREADS": "3", "WORLD_SIZE": "4"}))
    assert count is None and notes == []


def test_what_admfit_wrote_is_not_taken_for_the_users_choice(several_threads, monkeypatch):
    monkeypatch.setattr(threads, "available_cores", lambda: 2)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    _notices(lambda: threads.set_threads(None))  # a first command of the process writes the variables
    count, notes = _notices(lambda: threads.default_threads())
    assert count == 1 and len(notes) == 1  # a second still applies the default
