"""Command-line values that need no pydantic: text, paths, unset flags, and numbers already of their type.

Why: typer 0.2x converts every option and argument through a pydantic ``TypeAdapter`` built on first use,
and importing pydantic and building the adapters costs 0.17 s CPU per command, more than a third of what
``admfit eval`` may take in all (docs/evaluation.md). Most values need no conversion at all: a ``str``
option receives the typed text, a ``Path`` argument receives ``Path(text)`` (what pydantic's path validation
returns) followed by typer's own path checks (exists, file or folder, readable), and a number option left
at its default receives a number of its own type, and a flag that is not given (typer's
``--install-completion``) receives None, which typer passes through before it converts anything, yet only
after it has built the adapter. Those are done here; any other value (a number typed on
the command line, a parser, a choice, a list) goes to typer's own adapter, built on first use as before,
so values and error messages stay those of typer (tests/cli/test_plain_values.py compares both).

With a typer that converts through click's types (before 0.2x) there is nothing to replace: a no-op.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from typer.core import TyperCommand

try:
    from typer._coercion import RuntimeParam, build_runtime_param
    from typer._param_types import coerce_cli_path
except ImportError:  # an older typer: click's types convert, without pydantic
    RuntimeParam = None


class PlainValues:
    """Mixin of a click command class: before its arguments are parsed, each of its parameters (the help
    option included, which exists only once a context does) that admits it converts without pydantic."""

    def parse_args(self, ctx, args):
        use_plain_values(self.get_params(ctx))
        return super().parse_args(ctx, args)


class PlainCommand(PlainValues, TyperCommand):
    """The class of every command of both apps (``cli._common.App``)."""


def use_plain_values(params: list) -> None:
    """Give each parameter of ``params`` (a click command's) that admits it a converter without pydantic.

    Idempotent; parameters whose converter typer has built already keep it.
    """
    if RuntimeParam is None:
        return
    for param in params:
        descriptor = getattr(param, "type_descriptor", None)
        if descriptor is None or getattr(param, "_runtime_param", 0) is not None or not _admits(descriptor):
            continue
        param._runtime_param = _PlainValue(parameter_info=descriptor.parameter_info,
                                           annotation=descriptor.annotation)


def _admits(descriptor) -> bool:
    """Only plain ``str``, ``Path``, ``bool`` and ``int``/``float`` annotations, without a parser or a file mode."""
    info = descriptor.parameter_info
    if descriptor.file_annotation is not None or info.parser is not None:
        return False
    if descriptor.annotation is Path:
        return info.path_type is None
    return descriptor.annotation in (str, bool, int, float)


if RuntimeParam is not None:

    @dataclass(frozen=True)
    class _PlainValue(RuntimeParam):
        """Converts what needs no conversion; hands anything else to typer's own converter."""

        def _coerce_value(self, value: Any, param, ctx) -> Any:
            kind = type(value)
            if kind is str and self.annotation is str:
                return value
            if kind is str and self.annotation is Path:
                # An instance of the path type skips typer's pydantic step; its checks follow unchanged.
                return coerce_cli_path(Path(value), self.parameter_info, path_type=Path, param=param, ctx=ctx)
            if kind is self.annotation and kind in (int, float) and self._within_bounds(value):
                return value
            return build_runtime_param(param.type_descriptor)._coerce_value(value, param=param, ctx=ctx)

        def _within_bounds(self, value) -> bool:
            # A NaN default fails either comparison and goes to typer; without bounds pydantic keeps it too.
            low, high = self.parameter_info.min, self.parameter_info.max
            return (low is None or value >= low) and (high is None or value <= high)
