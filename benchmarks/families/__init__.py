"""The data families of the benchmarks, by name: which module makes each (docs/adm.md, "The validation suite:
signal families designed apart"; docs/ablations.md, "The second feature generator").

Signal families (``python -m benchmarks pseudo_quality``), each a module with ``VARIANTS`` (``QUICK_VARIANTS``
where ``--quick`` takes another first choice) and ``make_family(videos, classes, variant, seed)`` ->
``{video: admfit.synthetic.families.FamilySignals}``:

- ``synthetic`` (a): ``signals_synthetic.py`` here, admfit.synthetic's signals as a family;
- ``detector`` (c): ``signals_detector.py`` here, ``admfit_torch.detector_family`` cached under ``.benchmarks/``;
- ``independent`` (b): ``admfit.synthetic.families.independent_signals``;
- ``degrade`` (d): ``admfit.synthetic.families.degradations`` (``degrade(signals, kind, seed)``, any family's);
- ``rough`` (e): ``signals_rough.py`` here, written from a description of a detector's outputs only (strong
  AR(1) noise, a temperature per video, impulses, a background head with shifted boundaries).

Feature families (``python -m benchmarks ablations --generator``, ``feature_probe``): ``synthetic`` is
``admfit synth``; ``independent`` is ``admfit.synthetic.families.independent_features``.
"""
from __future__ import annotations

import importlib
from types import ModuleType

SIGNAL_FAMILIES = {
    "synthetic": "benchmarks.families.signals_synthetic",
    "detector": "benchmarks.families.signals_detector",
    "independent": "admfit.synthetic.families.independent_signals",
    "degrade": "admfit.synthetic.families.degradations",
    "rough": "benchmarks.families.signals_rough",
}


def signal_family(name: str) -> ModuleType:
    """The module of signal family ``name`` (a key of SIGNAL_FAMILIES)."""
    return importlib.import_module(SIGNAL_FAMILIES[name])
