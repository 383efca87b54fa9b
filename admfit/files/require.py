"""An input file that must be there: one check and one wording for every reader (signals, points, pseudo-labels,
configs, annotations, video and class lists). Imports nothing heavy: the light modules (``video_files``) use it.
"""
from __future__ import annotations

from pathlib import Path

from admfit.errors import InputError


def require_file(path, field: str | None, *, expected: str = "a file", missing: str = "no such file") -> Path:
    """``path`` as a Path, or InputError naming it and ``field``: "is a directory, expected ``expected``" for a
    folder, ``missing`` where there is no file."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"is a directory, expected {expected}", file=str(path), field=field)
    if not path.is_file():
        raise InputError(missing, file=str(path), field=field)
    return path
