"""Family (a): admfit.synthetic's base-model signals (plateaus and bells, dips, confusers, jittered background)."""
from __future__ import annotations

import numpy as np

from admfit.synthetic import make_signals
from admfit.synthetic.families import FamilySignals

VARIANTS = ("clean", "medium", "hard")


def make_family(videos, classes, variant: str, seed: int) -> dict[str, FamilySignals]:
    signals = make_signals(videos, classes, difficulty=variant, seed=seed)
    return {key: FamilySignals(np.asarray(s.probs, np.float64), np.asarray(s.bg_probs, np.float64), s.grid)
            for key, s in signals.items()}
