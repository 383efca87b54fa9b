"""What every command shares: one-line errors with exit code 2, no traceback."""
from __future__ import annotations

import functools
import warnings
from typing import Callable, TypeVar

import typer

from admfit.errors import InputError, Notice

F = TypeVar("F", bound=Callable)


def fail(message: str) -> "typer.Exit":
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)


def reports_input_errors(func: F) -> F:
    """Turn InputError (and unreadable files) into one line on stderr and exit code 2; print each
    admfit.errors.Notice once, as a ``note: ...`` line on stderr."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("default", Notice)
                warnings.showwarning = _note_printer(warnings.showwarning)
                return func(*args, **kwargs)
        except InputError as error:
            raise fail(str(error)) from None
        except (FileNotFoundError, IsADirectoryError, PermissionError, NotADirectoryError) as error:
            raise fail(f"{error.filename}: {error.strerror}") from None

    return wrapper  # type: ignore[return-value]


def _note_printer(previous):
    """showwarning that prints Notices as one ``note:`` line, and any other warning as ``previous`` does."""

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        if issubclass(category, Notice):
            typer.echo(f"note: {message}", err=True)
        else:
            previous(message, category, filename, lineno, file, line)

    return show


# Both apps take -h as --help (context_settings of their Typer objects).
HELP_OPTIONS = {"help_option_names": ["-h", "--help"]}


def version_option(value: bool) -> None:
    """``--version``: print the package version and stop (both apps' root callback)."""
    if value:
        from admfit import __version__

        typer.echo(f"admfit {__version__}")
        raise typer.Exit()
