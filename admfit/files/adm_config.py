"""The ADM config file of ``admfit fit``, ``admfit label`` and ``admfit plot``: a YAML mapping of ADMConfig
fields (docs/formats.md)."""
from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from admfit.errors import InputError
from admfit.files.require import require_file
from admfit.fit.config import ADMConfig


def load_adm_config(path: str | Path | None, *, paper: bool = False, tuning: str | None = None) -> ADMConfig:
    """ADMConfig from a YAML file of its fields; ADMConfig() (tuning "auto") when ``path`` is None.

    paper: start from ADMConfig.paper() (the paper's method, tuning "off") instead of ADMConfig(); the file's
    fields override either. tuning: "auto" or "off" (a command's --tuning), over the start's and the file's.
    """
    start = ADMConfig.paper if paper else ADMConfig
    make = start if tuning is None else (lambda **values: start(**{**values, "tuning": tuning}))
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
