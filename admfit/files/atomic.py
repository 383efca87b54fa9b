"""Atomic output: write to a temporary file beside the target, then rename.

A failed run therefore never leaves a partial output file behind, nor a stopped one: inside
:func:`atomic_open` (and inside every command, see ``admfit_cli/_common.py``) SIGTERM and SIGHUP raise
SystemExit instead of killing the process outright, so the clean-up below runs; SIGINT already
raises KeyboardInterrupt.
"""
from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

from admfit.errors import InputError


def check_writable(path: str | os.PathLike, *, field: str = "output") -> Path:
    """Fail early, before any work, if `path` cannot be written (missing folder, a directory, no permission)."""
    target = Path(path)
    if target.is_dir():
        raise InputError("is a directory, expected a file path", file=str(target), field=field)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"folder {str(folder)!r} does not exist", file=str(target), field=field)
    if not os.access(folder, os.W_OK):
        raise InputError(f"folder {str(folder)!r} is not writable", file=str(target), field=field)
    return target


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


def _exit_on_signal(signum, frame) -> None:
    raise SystemExit(128 + signum)  # the shell's exit status of a process killed by that signal


@contextmanager
def stop_signals_raise() -> Iterator[None]:
    """Within the block, SIGTERM / SIGHUP raise SystemExit(128 + signal), so that ``finally`` blocks and
    ``except BaseException`` clean-ups (temporary files, staging folders) run. Nests; a no-op outside the
    main thread, where Python cannot install signal handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.getsignal(signum) for signum in _STOP_SIGNALS}
    for signum, handler in previous.items():
        if handler in (signal.SIG_DFL, None):  # only replace the default (kill); keep a handler someone installed
            signal.signal(signum, _exit_on_signal)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            if handler in (signal.SIG_DFL, None):
                signal.signal(signum, signal.SIG_DFL if handler is None else handler)


@contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", *, field: str = "output") -> Iterator[IO]:
    """Open a temporary file beside `path`; on success it replaces `path`, on error it is removed."""
    target = check_writable(path, field=field)
    with stop_signals_raise():
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            # mkstemp makes the file private (0600); the output should get the usual permissions.
            os.chmod(tmp_name, 0o666 & ~_current_umask())
            encoding = None if "b" in mode else "utf-8"
            with os.fdopen(fd, mode, encoding=encoding) as handle:
                yield handle
            os.replace(tmp_name, target)
        except BaseException:
            try:
                os.unlink(tmp_name)
            except FileNotFoundError:
                pass
            raise


def atomic_write_text(path: str | os.PathLike, text: str, *, field: str = "output") -> None:
    with atomic_open(path, "w", field=field) as handle:
        handle.write(text)


def check_writable_folder(path: str | os.PathLike, *, field: str = "output") -> Path:
    """Fail early if the folder ``path`` can neither be written (it exists) nor created (its parent folder)."""
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise InputError("exists and is not a folder", file=str(target), field=field)
    folder = target if target.is_dir() else (target.parent if str(target.parent) else Path("."))
    if not folder.is_dir():
        raise InputError(f"folder {str(folder)!r} does not exist", file=str(target), field=field)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"folder {str(folder)!r} is not writable", file=str(target), field=field)
    return target


@contextmanager
def atomic_folder(path: str | os.PathLike, *, field: str = "output") -> Iterator[Path]:
    """A temporary folder to write a command's output files in; on success they move into the folder ``path``
    (which is created, or keeps its other files), on error the temporary folder is removed: a failed or
    stopped run leaves ``path`` as it was. Its files land one ``os.replace`` each, not all at once."""
    target = check_writable_folder(path, field=field)
    with stop_signals_raise():
        existed = target.is_dir()
        # Beside a new folder, so that the rename creates it in one step; inside an existing one, on its file system.
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp",
                                        dir=target if existed else target.parent))
        try:
            yield staging
            if existed:
                for entry in sorted(staging.iterdir()):
                    os.replace(entry, target / entry.name)
                staging.rmdir()
            else:
                os.chmod(staging, 0o777 & ~_current_umask())  # mkdtemp makes it private (0700)
                os.rename(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
