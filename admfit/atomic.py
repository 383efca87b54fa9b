"""Atomic output: write to a temporary file beside the target, then rename.

A failed run therefore never leaves a partial output file behind.
"""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

from .errors import InputError


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


@contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", *, field: str = "output") -> Iterator[IO]:
    """Open a temporary file beside `path`; on success it replaces `path`, on error it is removed."""
    target = check_writable(path, field=field)
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
