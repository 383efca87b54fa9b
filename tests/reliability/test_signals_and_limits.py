"""A stopped command leaves nothing half-written; user-sized loops are capped before they allocate.

Both run the command in a child process: SIGTERM must reach a real process, and a loop that is not capped
must meet a memory limit (and fail this test) instead of filling the machine.
"""
from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from . import world

# A child that patches `target` (module.function) to write part of its output, then SIGTERM its own process
# in the middle of the write, then runs the command line given as arguments.
_STOP_MIDWAY = textwrap.dedent("""
    import importlib, os, signal, sys
    module_name, name = sys.argv[1].rsplit(".", 1)
    module = importlib.import_module(module_name)
    real = getattr(module, name)

    def write_then_stop(*args, **kwargs):
        handle = args[1] if len(args) > 1 else kwargs.get("file") or kwargs.get("fp")
        if hasattr(handle, "write"):
            handle.write(b"x" * 4096 if "b" in getattr(handle, "mode", "w") else "x" * 4096)
            handle.flush()
        os.kill(os.getpid(), signal.SIGTERM)
        return real(*args, **kwargs)

    setattr(module, name, write_then_stop)
    from admfit_cli.main import app
    sys.argv = ["admfit", *sys.argv[2:]]
    app()
""")


def _child(*args, limit_bytes: int | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    def limit():
        if limit_bytes is not None:
            resource.setrlimit(resource.RLIMIT_DATA, (limit_bytes, limit_bytes))

    env = {**os.environ, "OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout,
                          preexec_fn=limit, env=env)


@pytest.fixture(scope="module")
def signal_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("signals")
    return {**world.write_signal_files(folder), **world.write_text_files(folder)}


def _leftovers(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*"))


def test_sigterm_during_the_write_of_fit_removes_the_temporary_file(signal_files, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    done = _child("-c", _STOP_MIDWAY, "json.dump", "fit", str(signal_files["signals"]), str(signal_files["points"]),
                  "-o", str(out / "pseudo_labels.json"), "-q")
    assert done.returncode == 128 + signal.SIGTERM, done.stderr
    assert _leftovers(out) == []  # neither the output nor its hidden .pseudo_labels.json.*.tmp


def test_sigterm_while_synth_writes_features_removes_its_staging_folder(tmp_path):
    out = tmp_path / "synth"
    done = _child("-c", _STOP_MIDWAY, "numpy.save", "synth", str(out), "--mode", "features", "--dim", "2",
                  "--max-videos", "1", "--subset", "train")
    assert done.returncode == 128 + signal.SIGTERM, done.stderr
    assert not out.exists()  # made by this run, so removed with its staging folder


def test_a_handler_someone_installed_is_kept(tmp_path):
    from admfit.files.atomic import atomic_open

    seen = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: seen.append(signum))
    try:
        with atomic_open(tmp_path / "file.txt") as handle:
            handle.write("text")
            os.kill(os.getpid(), signal.SIGTERM)
        assert seen == [signal.SIGTERM] and (tmp_path / "file.txt").read_text() == "text"
    finally:
        signal.signal(signal.SIGTERM, previous)


# Each of these asked for billions of steps (or epochs) and ran until killed; now each is one line, at once.
_CAPPED = [
    (("admfit", "eval", "{gt}", "{pred}", "--tiou", "0:1:1e-9"), "--tiou"),
    (("admfit", "eval-pseudo", "{gt}", "{pred}", "--tiou", "0:0.5:1e-12"), "--tiou"),
    (("admfit-torch", "eval", "--checkpoint", "{gt}", "--features", "{gt}", "--annotations", "{gt}", "--tiou",
      "0:1:1e-9"), "'--tiou'"),
    (("admfit-torch", "config", "cpu-small", "--set", "optim.epochs=100000000000000000000000"), "optim.epochs"),
    (("admfit-torch", "config", "cpu-small", "--set", "data.input_length=1000000000000"), "data.input_length"),
]

_RUN_APP = "import sys; from admfit_cli.{module} import app; sys.argv = sys.argv[1:]; app()"


@pytest.mark.parametrize("args, field", _CAPPED, ids=[field for _, field in _CAPPED])
def test_user_sized_loops_are_capped(args, field, signal_files):
    if args[0] == "admfit-torch":
        pytest.importorskip("torch")
    module = "torch_main" if args[0] == "admfit-torch" else "main"
    command = [arg.format(**signal_files) if "{" in arg else arg for arg in args]
    # 1.5 GB of data segment: torch and numba load within it; a list of 1e9 thresholds (8 GB) does not.
    done = _child("-c", _RUN_APP.format(module=module), *command, limit_bytes=3 << 29, timeout=120)
    lines = [line for line in done.stderr.strip().splitlines() if not line.startswith("note: ")]
    assert done.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: "), done.stderr[-2000:]
    assert field in lines[0]
