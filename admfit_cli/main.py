"""The `admfit` command. Each module in this package with a ``register(app)`` function adds its commands."""
from __future__ import annotations

import importlib
import pkgutil

import typer

from ._common import HELP_OPTIONS, App, OneLineErrors, version_option

app = App(
    name="admfit",
    help="Pseudo-labels from point annotations by Actionness Distribution Modeling (ADM-Loc), and their evaluation.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings=HELP_OPTIONS,
    # Plain click help: typer's rich renderer imports rich.markdown and pygments, 0.2 s on every call.
    rich_markup_mode=None,
    cls=OneLineErrors,
)

_TORCH_ONLY = {"torch_main"}


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=version_option, is_eager=True,
                                       help="print the version and exit")) -> None:
    """Pseudo-labels from point annotations by Actionness Distribution Modeling (ADM-Loc), and their evaluation."""


def _register_commands() -> None:
    package = importlib.import_module(__package__)
    for module_info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if module_info.name.startswith("_") or module_info.name in {"main", *_TORCH_ONLY}:
            continue
        module = importlib.import_module(f"{__package__}.{module_info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)


_register_commands()

if __name__ == "__main__":
    app()
