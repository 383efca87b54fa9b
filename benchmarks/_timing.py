"""Wall-clock timing shared by the benchmarks."""
from __future__ import annotations

import time


def timed(run, repeat: int = 1):
    """(best seconds over `repeat` calls of run(), the last call's result)."""
    best, result = float("inf"), None
    for _ in range(repeat):
        began = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - began)
    return best, result
