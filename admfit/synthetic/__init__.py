"""THUMOS'14 / ActivityNet-shaped synthetic data built on the real annotations.

* :func:`make_signals`: base-model-like class and background probabilities for ``admfit fit``.
* :func:`make_features`: snippet features in which the actions are learnable but not trivial.
* Grids: :func:`thumos14_grid` (ActionFormer, stride 4) and :func:`anet12_grid` (192 steps).

``admfit synth`` (:func:`admfit.synthetic.build.synthesize`) writes both to a folder, with the
annotation JSON and the points files (docs/synthetic.md).
"""
from .features import FEATURE_DIFFICULTIES, FeatureDifficulty, FeatureVideo, iter_features, make_features
from .layout import GRIDS, anet12_grid, thumos14_grid
from .signals import DIFFICULTIES, SignalDifficulty, SignalVideo, make_signals

__all__ = ["DIFFICULTIES", "FEATURE_DIFFICULTIES", "GRIDS", "FeatureDifficulty", "FeatureVideo", "SignalDifficulty",
           "SignalVideo", "anet12_grid", "iter_features", "make_features", "make_signals", "thumos14_grid"]
