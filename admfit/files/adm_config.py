"""The ADM config file of ``admfit fit``, ``admfit label`` and ``admfit plot``: a YAML mapping of ADMConfig
fields (docs/formats.md)."""
from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from admfit.errors import InputError
from admfit.files.require import require_file
from admfit.fit.config import ADMConfig


def load_adm_config(path: str | Path | None, *, paper: bool = False, auto: bool = False) -> ADMConfig:
    """ADMConfig from a YAML file of its fields; the defaults when ``path`` is None.

    paper: start from ADMConfig.paper() (the paper's method) instead of the defaults; auto: with tuning="auto"
    (admfit.fit.tuning); the file's fields override either.
    """
    start = ADMConfig.paper if paper else ADMConfig
    make = (lambda **values: start(**{"tuning": "auto", **values})) if auto else start
    if path is None:
        return make()
    path = require_file(path, "config")
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise InputError(f"malformed YAML ({str(error).splitlines()[0]})", file=str(path), field="config") from None
    except UnicodeDecodeError:
        raise InputError("not a UTF-8 text file", file=str(path), field="config") from None
    if not isinstance(values, dict):
        raise InputError("must be a mapping of ADMConfig fields", file=str(path), field="config")
    try:
        return make(**values)
    except ValidationError as error:
        raise InputError.from_validation(error, file=str(path)) from None
