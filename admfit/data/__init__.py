"""Annotation files shipped with admfit (see PROVENANCE.md beside this file for sources and licences).

Only MIT-licensed files are shipped. Files without a licence (SF-Net clicks, BackTAL
background clicks, the BackTAL copy of the ActivityNet-1.2 JSON) are not: point the loaders at
your own copy.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path

DATASETS = ("thumos14", "anet12")


def data_path(dataset: str, name: str) -> Path:
    """Path of a shipped file, e.g. ``data_path("thumos14", "gt_full.json")``."""
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; shipped: {', '.join(DATASETS)}")
    path = Path(str(resources.files(__package__).joinpath(dataset, name)))
    if not path.is_file():
        raise FileNotFoundError(f"{name!r} is not shipped for {dataset}")
    return path
