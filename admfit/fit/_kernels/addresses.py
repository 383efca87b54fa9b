"""Many numpy arrays read by one numba call: each array's data address as an integer, a typed view inside.

Why: the batch preparation (admfit.fit.prepare) reads every video's probabilities, one array per video. One kernel call
per video cost a few microseconds of dispatch each and ran on one thread; a list of arrays cannot enter a numba
call cheaply (a typed List costs microseconds per item to build). Addresses are plain int64 columns, so one
parallel call reads all videos. The caller keeps the arrays alive (a Python list holding them) during the call,
and passes only C-contiguous arrays with the dtype it names.
"""
from __future__ import annotations

from numba import njit, types
from numba.extending import intrinsic


@njit(cache=True, nogil=True)
def address(array) -> int:
    """The address of a C-contiguous array's first element (the cheapest way to it from Python: ~0.5 us)."""
    return array.ctypes.data


@intrinsic
def pointer(typingctx, at, kind):
    """Inside a kernel: a typed pointer to ``at`` (an address from ``address``); ``kind``: np.float32, np.float64
    or np.bool_. ``numba.carray(pointer(at, kind), (n,))`` is then the array's n values, flat."""
    dtype = kind.instance_type if isinstance(kind, types.NumberClass) else kind.dtype
    pointer_type = types.CPointer(dtype)

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], context.get_value_type(pointer_type))

    return pointer_type(at, kind), codegen
