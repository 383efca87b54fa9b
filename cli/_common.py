"""What every command shares: one-line errors with exit code 2, no traceback."""
from __future__ import annotations

import functools
from typing import Callable, TypeVar

import typer

from admfit.errors import InputError

F = TypeVar("F", bound=Callable)


def fail(message: str) -> "typer.Exit":
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)


def reports_input_errors(func: F) -> F:
    """Turn InputError (and unreadable files) into one line on stderr and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except InputError as error:
            raise fail(str(error)) from None
        except (FileNotFoundError, IsADirectoryError, PermissionError, NotADirectoryError) as error:
            raise fail(f"{error.filename}: {error.strerror}") from None

    return wrapper  # type: ignore[return-value]
