"""Video ids are data, never paths: the one place where an id becomes a file name inside a folder.

Every reader and writer of per-video files (``admfit synth``'s ``features/VIDEO.npy``, the feature folders
that ``admfit-torch train|infer|eval`` read, figure names) goes through this module, so that an id such as
``../../x``, ``/abs/x`` or ``a\\0b`` from an annotation file can neither write nor read outside its folder.

Ids that cannot be file names are refused (not encoded): an encoded name would no longer be the
``VIDEO.npy`` other tools expect, and a refusal names the id, so the user can see what is wrong.
Figure names, which are only for people to read, are made safe by replacing characters instead
(:func:`readable_stem`).
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from admfit.errors import InputError
from admfit.files.require import require_file

# Most file systems cap a name at 255 bytes; the suffix has to fit too.
_MAX_NAME_BYTES = 255
_UNSAFE = re.compile(r"[/\\\x00-\x1f\x7f]")


def _problem(video_id) -> str | None:
    """Why ``video_id`` cannot be a file name, or None when it can."""
    if not isinstance(video_id, str):
        return f"is a {type(video_id).__name__}, not a string"
    if not video_id:
        return "is empty"
    found = _UNSAFE.search(video_id)
    if found:
        return f"holds {found.group()!r} (a path separator or control character)"
    if video_id.startswith("."):
        # '.', '..' climb the tree; '.x' would be a hidden file that folder listings skip.
        return "starts with '.'"
    if os.path.isabs(video_id):  # e.g. a drive letter on Windows
        return "is an absolute path"
    return None


def safe_name(video_id: str, *, suffix: str = "", file=None, field: str = "video") -> str:
    """``video_id + suffix`` as a file name, or InputError (naming ``file`` and ``field``) when the id
    holds a path separator, NUL or another control character, starts with '.', or is too long."""
    problem = _problem(video_id)
    if problem is None and len((video_id + suffix).encode("utf-8", "surrogatepass")) > _MAX_NAME_BYTES:
        problem = f"is longer than a file name may be ({_MAX_NAME_BYTES} bytes with {suffix!r})"
    if problem is not None:
        raise InputError(f"video id {problem}: it cannot name a file", file=file,
                         video=video_id if isinstance(video_id, str) else repr(video_id), field=field)
    return video_id + suffix


def video_file(folder: str | os.PathLike, video_id: str, suffix: str, *, file=None, field: str = "video") -> Path:
    """``folder / (video_id + suffix)``, always directly inside ``folder`` (see :func:`safe_name`).

    ``file`` names the file the id came from in the error (default: ``folder``)."""
    name = safe_name(video_id, suffix=suffix, file=folder if file is None else file, field=field)
    return Path(folder) / name


def check_video_ids(video_ids, *, file, field: str = "video") -> None:
    """InputError for the first id of ``video_ids`` that cannot name a file (before anything is written)."""
    for video_id in video_ids:
        safe_name(video_id, suffix=".npy", file=file, field=field)


def readable_stem(text: str) -> str:
    """A file-name stem for people to read (figures): every character but letters, digits, '-', '_' and '.'
    becomes '_', and a leading '.' too, so the result stays in its folder and visible."""
    stem = re.sub(r"[^\w.-]+", "_", text, flags=re.ASCII)
    return "_" + stem[1:] if stem.startswith(".") else (stem or "_")


def read_video_list(path) -> list[str]:
    """Video ids, one per line (blank lines and surrounding whitespace ignored): a ``--videos`` list."""
    path = require_file(path, "videos", expected="a video list",
                        missing="no such video list (a text file, one video id per line)")
    videos = [line.strip() for line in path.read_text(encoding="utf-8-sig").splitlines() if line.strip()]
    if not videos:
        raise InputError("names no video", file=str(path), field="videos")
    return videos
