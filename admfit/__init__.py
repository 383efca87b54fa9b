"""admfit: complete action labels from point annotations by Actionness Distribution Modeling.

The core is torch-free. Stable API::

    from admfit import fit_instances, ADMConfig, PseudoLabel

Building blocks of one fit (public, documented): find_bracket, find_peak, fit_gaussian,
fit_uniform (result: ScalarFit), prepare_signal, background_mask; time units: SnippetGrid.

Subpackages and modules: ``fit_io`` (the files of ``admfit fit``, ``resolve_points``, ``read_pseudo_labels``),
``datasets`` (annotations, points, features), ``evaluation`` (detection mAP, pseudo-label quality),
``synthetic``, ``simulate``, ``baselines``, ``plotting``, ``detector`` (the detector protocol), ``grid``
(``SnippetGrid``, ``SnippetMap``). The map: docs/architecture.md; the pinned details: docs/spec.md.
The names are imported on first use: ``import admfit.errors`` (every command's ``--help``) must not
load numba and scipy.
"""
from ._lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    "PseudoLabel": ".api", "fit_instances": ".api", "ADMConfig": ".config", "InputError": ".errors",
    "ScalarFit": ".fitting", "find_bracket": ".fitting", "find_peak": ".fitting", "fit_gaussian": ".fitting",
    "fit_uniform": ".fitting", "SnippetGrid": ".grid", "background_mask": ".signal", "prepare_signal": ".signal",
    "smooth_signal": ".signal", "upsample_signal": ".signal",
}
__all__ = sorted(_EXPORTS, key=str.lower)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
