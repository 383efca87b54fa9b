"""Temporal IoU threshold lists: the dataset presets and the command-line syntax.

Thresholds are held as the double nearest to their decimal value (0.3, not
0.30000000000000004), so that a prediction whose IoU is exactly a threshold's decimal
value counts as a hit, as the inclusive rule of docs/spec.md section 2 intends.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

# Decimals kept when building a range, enough for any threshold written by hand.
_DECIMALS = 10
# At most this many thresholds (0:1:0.001): '0:1:1e-9' would otherwise fill the memory before it failed.
MAX_TIOUS = 1001

THUMOS14_TIOUS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
ANET_TIOUS = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)
PRESETS: dict[str, tuple[float, ...]] = {"thumos14": THUMOS14_TIOUS, "anet": ANET_TIOUS}
# The columns the ADM-Loc paper's Table 1 prints for a threshold set (beside the average over all of them):
# ActivityNet's 0.5, 0.75 and 0.95; any other set (THUMOS'14's included) is shown in full.
_TABLE_COLUMNS: dict[tuple[float, ...], tuple[float, ...]] = {ANET_TIOUS: (0.5, 0.75, 0.95)}


def table_columns(tious: Sequence[float]) -> tuple[float, ...]:
    """The thresholds a table shows of ``tious``: ActivityNet's 0.5:0.95 -> (0.5, 0.75, 0.95) as in the paper's
    Table 1; any other set -> all of them. The average is always over every threshold of ``tious``."""
    key = tuple(round(float(t), _DECIMALS) for t in tious)
    return _TABLE_COLUMNS.get(key, key)


def check_tious(tious: Sequence[float]) -> np.ndarray:
    """The thresholds as a (K,) float64 array; ValueError unless 1 <= K and every value is in [0, 1]."""
    values = np.asarray(tious, dtype=np.float64).reshape(-1)
    if values.size == 0:
        raise ValueError("no tIoU threshold given")
    if values.size > MAX_TIOUS:
        raise ValueError(f"{values.size} tIoU thresholds given, more than the {MAX_TIOUS} allowed")
    if not np.all(np.isfinite(values)) or np.any(values < 0) or np.any(values > 1):
        raise ValueError(f"tIoU thresholds must lie in [0, 1], got {values.tolist()}")
    return values


def _decimal_range(text: str) -> list[float]:
    start, stop, step = (float(part) for part in text.split(":"))
    if not all(math.isfinite(x) for x in (start, stop, step)):
        raise ValueError(f"range {text!r} needs finite numbers")
    if not step > 0 or stop < start:
        raise ValueError(f"range {text!r} needs start <= stop and step > 0")
    # The small slack keeps the stop value when (stop - start) / step is 5.999999...
    steps = (stop - start) / step + 1e-9
    if not math.isfinite(steps) or steps >= MAX_TIOUS:
        raise ValueError(f"range {text!r} gives more than the {MAX_TIOUS} thresholds allowed")
    count = math.floor(steps) + 1
    return [round(start + step * i, _DECIMALS) for i in range(count)]


def parse_tious(text: str) -> np.ndarray:
    """``"thumos14"``, ``"anet"``, ``"START:STOP:STEP"`` (stop included) or ``"A,B,C"`` -> (K,) float64.

    Raises ValueError with a message fit for the user on anything else.
    """
    text = text.strip()
    if text.lower() in PRESETS:
        return check_tious(PRESETS[text.lower()])
    try:
        if ":" in text:
            if text.count(":") != 2:
                raise ValueError
            values = _decimal_range(text)
        else:
            values = [float(part) for part in text.split(",")]
    except ValueError as error:
        detail = f": {error}" if str(error) else ""
        raise ValueError(f"cannot read tIoU thresholds {text!r} (expected a preset "
                         f"{'/'.join(PRESETS)}, START:STOP:STEP or A,B,C){detail}") from None
    return check_tious(values)
