"""What every command shares: one-line errors with exit code 2, no traceback."""
from __future__ import annotations

import functools
from enum import Enum
import sys
import warnings
from contextlib import contextmanager
from typing import Callable, Iterator, TypeVar

import typer
from typer.core import TyperGroup

from admfit.errors import InputError, Notice
from admfit.files.atomic import stop_signals_raise

from ._plain_values import PlainCommand, PlainValues

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
                with stop_signals_raise():  # SIGTERM unwinds the command: its temporary files and folders go
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


# click's exception classes: those of click itself, or of the copy of click that newer typer versions vendor.
_CLICK_ERRORS = sys.modules[typer.BadParameter.__module__]


def _one_line(error) -> str:
    # pydantic's "Value error, " prefix says nothing to a user
    return " ".join(error.format_message().replace("Value error, ", "").split())


@contextmanager
def _usage_errors_in_one_line() -> Iterator[None]:
    """click's usage errors (bad choice, unknown option, missing argument) as one `error: ...` line, exit 2,
    instead of typer's usage box; a bare command still shows its help."""
    try:
        yield
    except getattr(_CLICK_ERRORS, "NoArgsIsHelpError", ()):
        raise
    except _CLICK_ERRORS.UsageError as error:
        typer.echo(f"error: {_one_line(error)}", err=True)
        raise typer.Exit(2) from None


class OneLineErrors(PlainValues, TyperGroup):
    """The command group of both apps (``App(cls=OneLineErrors)``): parsing errors of the group and of
    every subcommand pass through here, so both apps report them the way commands report bad input. Its own
    options convert without pydantic where they can (admfit_cli/_plain_values.py)."""

    def make_context(self, *args, **kwargs):
        with _usage_errors_in_one_line():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx):
        with _usage_errors_in_one_line():
            return super().invoke(ctx)


class App(typer.Typer):
    """``typer.Typer`` whose commands are ``PlainCommand``s: their values convert without pydantic where they
    need no conversion (admfit_cli/_plain_values.py; pydantic alone cost `admfit eval` a third of its time)."""

    def command(self, *args, cls=None, **kwargs):
        return super().command(*args, cls=cls or PlainCommand, **kwargs)


def choices(name: str, values) -> type[Enum]:
    """A str Enum of ``values`` (each member named as its value), the type of an option with fixed choices."""
    return Enum(name, {value: value for value in values}, type=str)


Tuning = choices("Tuning", ("auto", "off"))  # ADMConfig.tuning (admfit.fit.config)


def tuning_option(command: str) -> object:
    """``--tuning auto|off`` of a command that fits ADM (``command`` names it in the help); None: the config's."""
    return typer.Option(None, "--tuning", help=f"auto (ADMConfig()'s default): {command} chooses among the options "
                        "(the defaults, or --config / --paper's), the paper's method and no background agreement by "
                        "the labels' boundary contrast, without ground truth, prints the choice and records it in "
                        "meta.tuning; off: the options as they are (--paper alone is off); overrides --config's "
                        "tuning")


def tuning_value(tuning, auto: bool) -> str | None:
    """The ``tuning`` of ``load_adm_config`` from ``--tuning`` and the older ``--auto`` flag (= --tuning auto)."""
    if auto and tuning is not None and tuning.value != "auto":
        raise fail("--auto and --tuning off contradict each other")
    return "auto" if auto else (None if tuning is None else tuning.value)


def auto_option() -> object:
    """``--auto``: kept for scripts written before tuning became the default; the same as --tuning auto."""
    return typer.Option(False, "--auto", hidden=True, help="the same as --tuning auto")
