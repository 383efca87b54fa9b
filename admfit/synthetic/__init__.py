"""THUMOS'14 / ActivityNet-shaped synthetic data built on the real annotations.

* :func:`make_signals`: base-model-like class and background probabilities for ``admfit fit``.
* :func:`make_features`: snippet features in which the actions are learnable but not trivial.
* Grids: :func:`thumos14_grid` (ActionFormer, stride 4) and :func:`anet12_grid` (192 steps).

``admfit synth`` (:func:`admfit.synthetic.build.synthesize`) writes both to a folder, with the
annotation JSON and the points files (docs/synthetic.md).
"""
from .._lazy import lazy_exports

# Imported on first use: `admfit synth --help` needs only the choices, not numpy and the generators.
_EXPORTS = {
    **dict.fromkeys(("FEATURE_DIFFICULTIES", "FeatureDifficulty", "FeatureVideo", "iter_features", "make_features"),
                    ".features"),
    **dict.fromkeys(("GRIDS", "anet12_grid", "thumos14_grid"), ".layout"),
    **dict.fromkeys(("DIFFICULTIES", "SignalDifficulty", "SignalVideo", "make_signals"), ".signals"),
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
