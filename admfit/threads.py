"""One thread count for the whole process: torch's intra-op pool, numba's pool and the BLAS libraries.

Why this module exists: numba's OpenMP threading layer, when its pool starts (the first parallel
fit), sets the process's OpenMP thread count to ``NUMBA_NUM_THREADS`` (default: every CPU). Torch's
intra-op pool is that same OpenMP runtime, so a fit in the middle of a training run silently moved
torch from the threads it was given to all of them (``admfit-torch train``: main-stage epochs 40 to
200 times slower on a shared 2-core machine). ``keep_openmp_alone`` makes numba run on a pool of
its own; ``use_threads`` then gives every pool the same count.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

# Read by OpenBLAS, MKL and OpenMP runtimes when they load: set before numpy / torch are imported.
_LIBRARY_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
# numba's layers without OpenMP: TBB where installed, else numba's own workqueue.
_LAYERS_WITHOUT_OPENMP = ["tbb", "workqueue", "omp"]


def keep_openmp_alone() -> None:
    """Make numba prefer thread pools that leave the process's OpenMP settings alone.

    Call before numba's first parallel call (``admfit._kernels`` does, at import). A layer the user
    chose (``NUMBA_THREADING_LAYER`` or ``NUMBA_THREADING_LAYER_PRIORITY``) is kept. Results do not
    depend on the layer: each instance is fitted by one thread, whichever pool it comes from.
    """
    import numba

    if "NUMBA_THREADING_LAYER" in os.environ or "NUMBA_THREADING_LAYER_PRIORITY" in os.environ:
        return
    numba.config.THREADING_LAYER_PRIORITY = list(_LAYERS_WITHOUT_OPENMP)


def use_threads(count: int | None) -> int:
    """Give torch, numba and the BLAS libraries ``count`` threads; None: the count torch uses now.

    The BLAS libraries read their count when they load, so they follow ``count`` only when this runs
    before numpy is imported (the commands import it lazily, so ``admfit-torch train --threads``
    does); the variables are set in any case, for the processes this one starts (data loaders).
    Returns the count applied.
    """
    if count is not None:
        if count < 1:
            raise ValueError(f"the thread count must be at least 1, got {count}")
        os.environ.update({name: str(count) for name in _LIBRARY_VARIABLES})
    import numba
    import torch

    if count is None:
        count = torch.get_num_threads()
    torch.set_num_threads(count)
    keep_openmp_alone()
    numba.set_num_threads(min(count, numba.config.NUMBA_NUM_THREADS))
    return count


@contextmanager
def numba_threads(count: int | None) -> Iterator[None]:
    """Run numba's parallel kernels on ``count`` threads (None: numba's setting), then restore the settings.

    numba's OpenMP layer (when a user chooses it) resets the OpenMP thread count, which is torch's: torch
    gets its count back. Torch is looked up, never imported: the core is torch-free.
    """
    import sys

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
