"""Statistics shared by the benchmarks."""
from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr


def spearman(a, b) -> float:
    """Spearman's rho of a and b; NaN where either side is constant (nothing ranked: e.g. agreement with a
    configuration whose labels are these), without scipy's warning."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(spearmanr(a, b)[0]) if np.ptp(a) > 0 and np.ptp(b) > 0 else float("nan")
