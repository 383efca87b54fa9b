"""What a data file or folder holds, in a few numbers: path, size, content hash (``fingerprint``).

A run folder records the fingerprint of every input, so that a finished stage asked to run on other data is
refused (admfit_torch.run.state). Two inputs are the same when size and hash agree; the path is only shown.

* a file up to ``FULL_HASH_BYTES``: sha256 of its whole content;
* a larger file (a features .npz / HDF5): sha256 of its size and ``SAMPLES`` blocks of ``BLOCK`` bytes spread
  evenly over it (reading the whole of a multi-GB file would cost minutes);
* a folder (ActionFormer's ``VIDEO.npy`` per video): sha256 of every file's relative name and size, sorted, and
  of three ``BLOCK``-byte samples of each (start, middle, end): 400 feature files read about 5 MB.

The sampled forms miss a change that keeps every size and spares the sampled bytes; recomputed features change
every row, so they are caught.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

FULL_HASH_BYTES = 64 << 20
BLOCK = 4096
SAMPLES = 64


def _sample_offsets(size: int, count: int) -> list[int]:
    if size <= BLOCK * count:
        return list(range(0, size, BLOCK))
    last = size - BLOCK
    return sorted({round(last * i / (count - 1)) for i in range(count)})


def _sampled(digest, path: Path, size: int, count: int) -> None:
    with open(path, "rb") as handle:
        for offset in _sample_offsets(size, count):
            handle.seek(offset)
            digest.update(handle.read(BLOCK))


def _file_hash(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    if size <= FULL_HASH_BYTES:
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    else:
        digest.update(f"sampled {size}".encode())
        _sampled(digest, path, size, SAMPLES)
    return digest.hexdigest()


def _folder(path: Path) -> dict:
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file())
    total = 0
    for file in files:
        size = file.stat().st_size
        total += size
        digest.update(f"{file.relative_to(path).as_posix()}\0{size}\0".encode())
        _sampled(digest, file, size, 3)
    return {"path": str(path.resolve()), "files": len(files), "size": total, "sha256": digest.hexdigest()}


def fingerprint(path) -> dict:
    """``{"path", "size", "sha256"}`` of a file, plus ``"files"`` for a folder (module docstring)."""
    path = Path(path)
    if path.is_dir():
        return _folder(path)
    size = path.stat().st_size
    return {"path": str(path.resolve()), "size": size, "sha256": _file_hash(path, size)}


def same_content(first: dict | None, second: dict | None) -> bool:
    """True when two fingerprints describe the same content (the path may differ)."""
    if first is None or second is None:
        return first is second
    return (first.get("size"), first.get("sha256")) == (second.get("size"), second.get("sha256"))


def describe(print_: dict | None) -> str:
    """``PATH (N files, SIZE bytes, sha256 PREFIX)`` for messages."""
    if print_ is None:
        return "none"
    files = f"{print_['files']} files, " if "files" in print_ else ""
    return f"{print_['path']} ({files}{print_['size']} bytes, sha256 {print_['sha256'][:12]})"
