"""admfit: complete action labels from point annotations by Actionness Distribution Modeling.

The core is torch-free. Stable API::

    from admfit import fit_instances, ADMConfig, PseudoLabel

Building blocks of one fit (public, documented): find_bracket, find_peak, fit_gaussian,
fit_uniform (result: ScalarFit), prepare_signal, background_mask; time units: SnippetGrid.

Subpackages and modules: ``fit_io`` (the files of ``admfit fit``, ``resolve_points``, ``read_pseudo_labels``),
``datasets`` (annotations, points, features), ``evaluation`` (detection mAP, pseudo-label quality),
``synthetic``, ``simulate``, ``baselines``, ``plotting``, ``detector`` (the detector protocol), ``grid``
(``SnippetGrid``, ``SnippetMap``). The map: docs/architecture.md; the pinned details: docs/spec.md.
"""
from .api import PseudoLabel, fit_instances
from .config import ADMConfig
from .errors import InputError
from .fitting import ScalarFit, find_bracket, find_peak, fit_gaussian, fit_uniform
from .grid import SnippetGrid
from .signal import background_mask, prepare_signal, smooth_signal, upsample_signal

__version__ = "0.1.0"

__all__ = [
    "ADMConfig", "InputError", "PseudoLabel", "ScalarFit", "SnippetGrid", "background_mask", "find_bracket",
    "find_peak", "fit_gaussian", "fit_instances", "fit_uniform", "prepare_signal", "smooth_signal",
    "upsample_signal",
]
