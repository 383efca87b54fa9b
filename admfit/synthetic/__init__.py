"""THUMOS'14 / ActivityNet-shaped synthetic data built on the real annotations.

* :func:`make_signals`: base-model-like class and background probabilities for ``admfit fit``.
* :func:`make_features`: snippet features in which the actions are learnable but not trivial.
* Grids: :func:`thumos14_grid` (ActionFormer, stride 4) and :func:`anet12_grid` (192 steps).

``admfit synth`` writes both, with the annotation JSON and the points file, to a folder
(docs/synthetic.md).
"""
from .layout import GRIDS, anet12_grid, thumos14_grid
from .signals import DIFFICULTIES, SignalDifficulty, SignalVideo, make_signals

__all__ = ["DIFFICULTIES", "GRIDS", "SignalDifficulty", "SignalVideo", "anet12_grid", "make_signals",
           "thumos14_grid"]
