"""Module paths of earlier versions, kept working: ``import admfit.fit_io`` gives the module that now holds it.

The house step (docs/architecture.md) grouped the modules by role; code written against the old paths (docs,
user scripts, pickled references) still imports them. An old path is not a file: a finder on ``sys.meta_path``
answers for it with the new module (the very same object, so a monkeypatch through either name is seen by both),
or, for a module split in several, with a module that reads each name from the one that holds it now. Either way a
``DeprecationWarning`` names the new path. The project's own code imports the new paths only
(tests/core/test_architecture.py).
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import types
import warnings

# old path -> the module(s) that hold its names now, in lookup order
MOVED: dict[str, tuple[str, ...]] = {}


def register(moved: dict[str, tuple[str, ...]]) -> None:
    """Add old paths to the finder (each package registers its own, once)."""
    MOVED.update(moved)
    if not any(isinstance(finder, _OldPaths) for finder in sys.meta_path):
        sys.meta_path.append(_OldPaths())


class _Split(types.ModuleType):
    """An old module split in several: each name from the first new module that has it."""

    def __getattr__(self, name: str):
        for target in self.__dict__["_targets"]:
            module = importlib.import_module(target)
            if hasattr(module, name):
                return getattr(module, name)
        raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")


class _OldPaths(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path=None, target=None):
        if fullname not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        targets = MOVED[spec.name]
        warnings.warn(f"{spec.name} moved to {' and '.join(targets)}; import it from there", DeprecationWarning,
                      stacklevel=3)
        if len(targets) == 1:
            return importlib.import_module(targets[0])
        module = _Split(spec.name, f"the names of {', '.join(targets)}")
        module.__dict__["_targets"] = targets
        return module

    def exec_module(self, module):
        """Nothing to run: the module is the new one (or reads from the new ones)."""
