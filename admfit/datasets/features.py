"""Snippet features: one (T, D) float32 array per video (T snippets, D feature dimensions).

Three layouts, chosen from what ``source`` is:

* a **folder** of ``<video>.npy`` files (ActionFormer layout, each (T, D));
* one **.npz** file with one array per video, keyed by video name;
* one **HDF5** file (``.h5``/``.hdf5``) with one top-level dataset per video (needs the
  optional ``h5py``, imported only when such a file is opened).

Several sources can be given together (e.g. LACP's separate ``rgb/`` and ``flow/`` folders,
(T, 1024) each): the arrays are concatenated along D and must agree on T.

ActivityNet features are often named ``v_<youtube id>`` while the annotation JSON uses the
bare id: a lookup of ``X`` falls back to ``v_X`` (and ``v_X`` to ``X``) when only the other
spelling exists.
"""
from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Iterator, Sequence, Union

import numpy as np

from admfit.errors import InputError
from admfit.files.video_files import video_file

FeatureSource = Union[str, os.PathLike, Sequence[Union[str, os.PathLike]]]
HDF5_SUFFIXES = (".h5", ".hdf5", ".hdf")
_ANET_PREFIX = "v_"
# Real snippet features (I3D, CLIP, ...) lie within a few hundred; far beyond, float32 activations overflow.
MAX_FEATURE_MAGNITUDE = 1e6


def _spellings(video: str) -> tuple[str, ...]:
    other = video[len(_ANET_PREFIX):] if video.startswith(_ANET_PREFIX) else _ANET_PREFIX + video
    return (video, other)


def checked_features(array, *, path: Path, video: str) -> np.ndarray:
    """The array as (T, D) float32, or InputError if it is not a finite non-empty 2-D numeric array."""
    array = np.asarray(array)
    if array.ndim != 2:
        raise InputError(f"expected a 2-D (T, D) array, got shape {array.shape}", file=path,
                         video=video, field="shape")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise InputError(f"empty feature array of shape {array.shape}", file=path, video=video, field="shape")
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise InputError(f"features must be numbers, got dtype {array.dtype}", file=path, video=video,
                         field="dtype")
    array = array.astype(np.float32, copy=False)
    bad = ~np.isfinite(array)
    if bad.any():
        snippet = int(np.argwhere(bad)[0][0])
        raise InputError(f"{int(bad.sum())} non-finite value(s), first at snippet {snippet}", file=path,
                         video=video, field="features")
    # Finite is not enough: 3e38 overflows float32 in the first layer and the run dies mid-training.
    huge = np.abs(array) > MAX_FEATURE_MAGNITUDE
    if huge.any():
        snippet = int(np.argwhere(huge)[0][0])
        raise InputError(f"{int(huge.sum())} value(s) beyond +-{MAX_FEATURE_MAGNITUDE:g}, first at snippet {snippet}: "
                         "normalise the features", file=path, video=video, field="features")
    return array


class _NpyFolder:
    def __init__(self, path: Path):
        self.path = path

    def videos(self) -> list[str]:
        return sorted(p.stem for p in self.path.glob("*.npy"))

    def find(self, video: str) -> str | None:
        # The id becomes a file name only through video_file: '../x' is refused, never read.
        return next((name for name in _spellings(video) if video_file(self.path, name, ".npy").is_file()), None)

    def file(self, name: str) -> Path:
        return video_file(self.path, name, ".npy")

    def read(self, name: str) -> np.ndarray:
        file = self.file(name)
        try:
            return np.load(file, allow_pickle=False)
        except (ValueError, OSError, EOFError) as error:
            raise InputError(f"not a readable .npy array ({error})", file=file, video=name) from None

    def close(self) -> None:
        pass


class _KeyedFile:
    """An .npz or HDF5 file: ``handle[name]`` gives the array of video ``name``."""

    def __init__(self, path: Path, handle, names: list[str]):
        self.path, self.handle, self.names = path, handle, set(names)

    def videos(self) -> list[str]:
        return sorted(self.names)

    def find(self, video: str) -> str | None:
        return next((name for name in _spellings(video) if name in self.names), None)

    def read(self, name: str) -> np.ndarray:
        try:
            return np.asarray(self.handle[name])
        except (ValueError, OSError, zipfile.BadZipFile) as error:
            raise InputError(f"cannot read this array ({error})", file=self.path, video=name) from None

    def close(self) -> None:
        self.handle.close()


def _open_npz(path: Path) -> _KeyedFile:
    try:
        handle = np.load(path, allow_pickle=False)
    except (ValueError, OSError, zipfile.BadZipFile) as error:
        raise InputError(f"not a readable .npz file ({error})", file=path) from None
    if not isinstance(handle, np.lib.npyio.NpzFile):
        raise InputError("holds a single array; expected an .npz with one array per video", file=path)
    return _KeyedFile(path, handle, list(handle.files))


def _open_hdf5(path: Path) -> _KeyedFile:
    try:
        import h5py
    except ImportError:
        raise InputError("reading HDF5 features needs the optional package h5py (pip install h5py)",
                         file=path) from None
    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        raise InputError(f"not a readable HDF5 file ({error})", file=path) from None
    names = [name for name, item in handle.items() if isinstance(item, h5py.Dataset)]
    return _KeyedFile(path, handle, names)


def _open_one(source) -> _NpyFolder | _KeyedFile:
    path = Path(source)
    if path.is_dir():
        return _NpyFolder(path)
    if not path.exists():
        raise InputError("no such file or folder", file=path, field="features")
    if path.suffix.lower() == ".npz":
        return _open_npz(path)
    if path.suffix.lower() in HDF5_SUFFIXES:
        return _open_hdf5(path)
    raise InputError("expected a folder of .npy files, an .npz file or an HDF5 file (.h5/.hdf5)",
                     file=path, field="features")


class FeatureStore:
    """Read-only access to per-video (T, D) float32 features; use as a context manager.

    ``store[video]`` loads and validates one video; ``iter(store)`` and ``store.videos`` give
    the video names the (first) source holds, sorted; ``video in store`` tests presence.
    """

    def __init__(self, source: FeatureSource):
        sources = [source] if isinstance(source, (str, os.PathLike)) else list(source)
        if not sources:
            raise InputError("no feature source given", field="features")
        self._parts = []
        try:
            for item in sources:
                self._parts.append(_open_one(item))
        except InputError:
            self.close()
            raise

    @property
    def videos(self) -> list[str]:
        return self._parts[0].videos()

    def __contains__(self, video: str) -> bool:
        return all(part.find(video) is not None for part in self._parts)

    def __iter__(self) -> Iterator[str]:
        return iter(self.videos)

    def __len__(self) -> int:
        return len(self.videos)

    def __getitem__(self, video: str) -> np.ndarray:
        arrays = [self._read_part(part, video) for part in self._parts]
        if len({a.shape[0] for a in arrays}) > 1:
            lengths = ", ".join(f"{part.path}: T={a.shape[0]}" for part, a in zip(self._parts, arrays))
            raise InputError(f"sources disagree on the number of snippets ({lengths})",
                             file=self._parts[-1].path, video=video, field="shape")
        return arrays[0] if len(arrays) == 1 else np.concatenate(arrays, axis=1)

    def items(self) -> Iterator[tuple[str, np.ndarray]]:
        for video in self.videos:
            yield video, self[video]

    @staticmethod
    def _read_part(part, video: str) -> np.ndarray:
        name = part.find(video)
        if name is None:
            raise InputError("no features for this video", file=part.path, video=video, field="video")
        file = part.file(name) if isinstance(part, _NpyFolder) else part.path
        return checked_features(part.read(name), path=file, video=video)

    def close(self) -> None:
        for part in self._parts:
            part.close()

    def __enter__(self) -> "FeatureStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def load_features(source: FeatureSource, video: str) -> np.ndarray:
    """(T, D) float32 features of one video (T snippets); see the module docstring for layouts."""
    with FeatureStore(source) as store:
        return store[video]


def save_features_npz(path, features: dict[str, np.ndarray]) -> None:
    """Write ``{video: (T, D)}`` as one .npz (float32), atomically; readable by FeatureStore."""
    from admfit.files.atomic import atomic_open

    arrays = {video: checked_features(array, path=Path(path), video=video) for video, array in features.items()}
    with atomic_open(path, "wb", field="features") as handle:
        np.savez(handle, **arrays)
