"""admfit: complete action labels from point annotations by Actionness Distribution Modeling.

The core is torch-free. Stable API::

    from admfit import fit_instances, ADMConfig, PseudoLabel

Building blocks of one fit (public, documented): find_bracket, find_peak, fit_gaussian,
fit_uniform (result: ScalarFit), prepare_signal, background_mask; time units: SnippetGrid.

Subpackages by role: ``fit`` (the ADM fit: ``api``, ``prepare``, ``config``, ``fitting``, ``signal``, the numba
kernels, ``baselines``, ``reference``), ``files`` (one module per file format, export, atomic writes, fingerprints),
``datasets`` (annotations, points and their rates, features, simulated points), ``evaluation`` (detection mAP,
pseudo-label quality), ``synthetic``; workflows ``labelling``, ``plotting``, ``detector`` (the detector protocol);
shared pieces ``grid`` (``SnippetGrid``, ``SnippetMap``), ``levels``, ``errors``, ``threads``. Module paths of
earlier versions (``admfit.fit_io``, ``admfit.api``, ...) still import, with a DeprecationWarning
(``admfit._moved``). The map: docs/architecture.md; the pinned details: docs/spec.md.
The names are imported on first use: ``import admfit.errors`` (every command's ``--help``) must not
load numba and scipy.
"""
from ._lazy import lazy_exports
from ._moved import register

# Earlier module paths -> where their names live now (docs/architecture.md, "Moved modules").
register({
    "admfit.api": ("admfit.fit.api",), "admfit.config": ("admfit.fit.config",),
    "admfit.fitting": ("admfit.fit.fitting",), "admfit.batch": ("admfit.fit.prepare", "admfit.fit._kernels.prepare"),
    "admfit.signal": ("admfit.fit.signal", "admfit.fit._kernels.signal"),
    "admfit.baselines": ("admfit.fit.baselines",), "admfit.reference": ("admfit.fit.reference",),
    "admfit._kernels": ("admfit.fit._kernels.adm",), "admfit._addresses": ("admfit.fit._kernels.addresses",),
    "admfit.fit_io": ("admfit.files.signals", "admfit.files.points", "admfit.files.pseudo_labels",
                      "admfit.files.adm_config", "admfit.fit.points"),
    "admfit.export": ("admfit.files.export",),
    "admfit.atomic": ("admfit.files.atomic",), "admfit.fingerprint": ("admfit.files.fingerprint",),
    "admfit.json_columns": ("admfit.files.json_columns",), "admfit.video_files": ("admfit.files.video_files",),
    "admfit.validation": ("admfit.files.validation",), "admfit.provenance": ("admfit.files.provenance",),
    "admfit.simulate": ("admfit.datasets.simulate",),
})

__version__ = "0.1.0"

_EXPORTS = {
    "PseudoLabel": ".fit.api", "fit_instances": ".fit.api", "ADMConfig": ".fit.config", "InputError": ".errors",
    "ScalarFit": ".fit.fitting", "find_bracket": ".fit.fitting", "find_peak": ".fit.fitting",
    "fit_gaussian": ".fit.fitting", "fit_uniform": ".fit.fitting", "SnippetGrid": ".grid",
    "background_mask": ".fit.signal", "prepare_signal": ".fit.signal", "smooth_signal": ".fit.signal",
    "upsample_signal": ".fit.signal",
}
__all__ = sorted(_EXPORTS, key=str.lower)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
