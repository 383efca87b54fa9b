"""One thread count for the whole process: torch's intra-op pool, numba's pool and the BLAS libraries.

Why this module exists: numba's OpenMP threading layer, when its pool starts (the first parallel
fit), sets the process's OpenMP thread count to ``NUMBA_NUM_THREADS`` (default: every CPU). Torch's
intra-op pool is that same OpenMP runtime, so a fit in the middle of a training run silently moved
torch from the threads it was given to all of them (``admfit-torch train``: main-stage epochs 40 to
200 times slower on a shared 2-core machine). ``keep_openmp_alone`` makes numba run on a pool of
its own; ``set_threads`` (every command's ``--threads``) then gives every pool the same count, by default
one per process on a small machine or under torchrun (docs/training.md, "Threads").
"""
from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Mapping
from contextlib import contextmanager
from typing import Iterator

from .errors import Notice

# Read by OpenBLAS, MKL and OpenMP runtimes when they load: set before numpy / torch are imported.
_LIBRARY_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
# numba's layers without OpenMP: TBB where installed, else numba's own workqueue.
_LAYERS_WITHOUT_OPENMP = ["tbb", "workqueue", "omp"]


def keep_openmp_alone() -> None:
    """Make numba prefer thread pools that leave the process's OpenMP settings alone.

    Call before numba's first parallel call (``admfit.fit._kernels`` does, at import). A layer the user
    chose (``NUMBA_THREADING_LAYER`` or ``NUMBA_THREADING_LAYER_PRIORITY``) is kept. Results do not
    depend on the layer: each instance is fitted by one thread, whichever pool it comes from.
    """
    import numba

    if "NUMBA_THREADING_LAYER" in os.environ or "NUMBA_THREADING_LAYER_PRIORITY" in os.environ:
        return
    numba.config.THREADING_LAYER_PRIORITY = list(_LAYERS_WITHOUT_OPENMP)


# Below this many cores, one thread per process unless --threads says otherwise: on a small machine that other
# processes share, a pool per library per process thrashed (5 to 7 times slower, docs/training.md "Threads").
FEW_CORES = 4

THREADS_HELP = ("CPU threads for torch, numba and BLAS alike (default: 1 on a machine with fewer than "
                f"{FEW_CORES} cores, the cores shared out among torchrun's processes, else all cores)")


def available_cores() -> int:
    """The CPUs this process may run on: its affinity mask where the platform has one, else every CPU."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # os.sched_getaffinity: Linux only
        return max(1, os.cpu_count() or 1)


def _environment_count(environ: Mapping[str, str], name: str, default: int) -> int:
    try:
        return int(environ.get(name, default))
    except ValueError:
        return default


def default_threads(cores: int | None = None, environ: Mapping[str, str] | None = None) -> int | None:
    """Threads per process when ``--threads`` is not given; None: each library's own default (all cores).

    A thread variable the user set (``OMP_NUM_THREADS``, ``NUMBA_NUM_THREADS``, ...) is their choice: None, the
    libraries read it. Else 1 on fewer than ``FEW_CORES`` cores, with a ``Notice`` saying how to raise it (from
    rank 0 only, under torchrun). Under torchrun (``LOCAL_WORLD_SIZE``, else ``WORLD_SIZE``, above 1) the
    processes of this machine share its cores: cores // processes, at least 1. ``cores``: ``available_cores()``
    when None; ``environ``: ``os.environ`` when None.
    """
    environ = os.environ if environ is None else environ
    if any(name in environ and environ[name] != _WRITTEN.get(name) for name in _LIBRARY_VARIABLES):
        return None
    cores = available_cores() if cores is None else cores
    if cores < FEW_CORES:
        if _environment_count(environ, "RANK", 0) == 0:
            warnings.warn(Notice(f"1 CPU thread for torch, numba and BLAS on this {cores}-core machine; "
                                 "--threads N gives them N"), stacklevel=2)
        return 1
    processes = _environment_count(environ, "LOCAL_WORLD_SIZE", _environment_count(environ, "WORLD_SIZE", 1))
    return max(1, cores // processes) if processes > 1 else None


# What set_threads wrote into os.environ: a variable holding it is admfit's choice, not the user's.
_WRITTEN: dict[str, str] = {}


def _checked(count: int) -> int:
    if count < 1:
        raise ValueError(f"the thread count must be at least 1, got {count}")
    return count


def set_threads(count: int | None) -> int | None:
    """Give torch's intra-op pool, numba's pool and the BLAS libraries ``count`` threads; None: ``default_threads()``.

    What every command that runs torch or numba does first (``--threads``). A library loaded already is set
    directly; one loaded later reads the count from the environment as it loads (the BLAS libraries only
    then: call this before numpy is imported). Imports neither torch nor numba: the core is torch-free, and
    a library is set only where it is used. The variables also reach the processes this one starts (data
    loaders). Returns the count applied; None where each library keeps its own default.
    """
    count = default_threads() if count is None else _checked(count)
    if count is None:
        return None
    numba = sys.modules.get("numba")
    # Once numba's pool has started, a changed NUMBA_NUM_THREADS makes its next compilation raise
    # (numba.core.config.reload_config): a loaded numba is set by its function only.
    names = [name for name in _LIBRARY_VARIABLES if numba is None or name != "NUMBA_NUM_THREADS"]
    written = {name: str(count) for name in names}
    os.environ.update(written)
    _WRITTEN.update(written)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(count)
    if numba is not None:
        keep_openmp_alone()
        numba.set_num_threads(min(count, numba.config.NUMBA_NUM_THREADS))
    return count


def use_threads(count: int | None) -> int:
    """Give torch, numba and the BLAS libraries ``count`` threads; None: the count torch uses now.

    ``set_threads``, with torch and numba imported. Returns the count applied.
    """
    if count is not None:
        set_threads(_checked(count))  # first: torch, numba and BLAS read it as they load
    import torch

    if count is None:
        count = set_threads(torch.get_num_threads())
    keep_openmp_alone()  # loads numba, with the count
    return count


@contextmanager
def numba_threads(count: int | None) -> Iterator[None]:
    """Run numba's parallel kernels on ``count`` threads (None: numba's setting), then restore the settings.

    numba's OpenMP layer (when a user chooses it) resets the OpenMP thread count, which is torch's: torch
    gets its count back. Torch is looked up, never imported: the core is torch-free.
    """
    import numba

    torch = sys.modules.get("torch")
    torch_threads = torch.get_num_threads() if torch is not None else None
    previous = numba.get_num_threads()
    if count is not None:
        numba.set_num_threads(max(1, min(int(count), numba.config.NUMBA_NUM_THREADS)))
    try:
        yield
    finally:
        numba.set_num_threads(previous)
        if torch_threads is not None and torch.get_num_threads() != torch_threads:
            torch.set_num_threads(torch_threads)


# What OpenBLAS reads for its pool size, in its order, and MKL's variable.
_BLAS_VARIABLES = ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Import numpy inside: its BLAS library then starts no thread pool. For commands that multiply no matrices.

    Starting OpenBLAS's pool cost `import numpy` 0.07 s of wall time on this project's 2-core machine
    (0.25 s against 0.18 s with one thread, docs/evaluation.md), the evaluator's whole start-up budget
    for nothing. A count the user set is kept, and the environment is as before on exit (the processes
    this one starts see the user's settings); once numpy is loaded, this changes nothing.
    """
    if any(name in os.environ for name in _BLAS_VARIABLES):
        yield
        return
    os.environ.update(OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    try:
        yield
    finally:
        del os.environ["OPENBLAS_NUM_THREADS"], os.environ["MKL_NUM_THREADS"]
