"""The choices of ``admfit synth`` (what it imitates, what it writes, how hard), without the generators.

Kept apart from :mod:`admfit.synthetic.build` so that the command can declare its options without
importing numpy, pydantic and the data loaders.
"""
from __future__ import annotations

from enum import Enum


class Like(str, Enum):
    thumos14 = "thumos14"
    anet12 = "anet12"


class Mode(str, Enum):
    features = "features"
    signals = "signals"
    both = "both"


class Subset(str, Enum):
    train = "train"
    test = "test"
    all = "all"


class Difficulty(str, Enum):
    clean = "clean"
    medium = "medium"
    hard = "hard"
