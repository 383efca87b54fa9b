"""admfit_cli/_plain_values.py: values converted without pydantic come out exactly as typer's own conversion makes
them, errors included, and the plain values really skip typer's converter (which imports pydantic)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import pytest
import typer

from admfit_cli import _plain_values
from admfit_cli._common import App

from ..helpers import invoke


def _command(
    path: Path = typer.Argument(..., help="a path"),
    must_exist: Optional[Path] = typer.Option(None, "--must-exist", exists=True),
    file_only: Optional[Path] = typer.Option(None, "--file-only", dir_okay=False),
    dir_only: Optional[Path] = typer.Option(None, "--dir-only", file_okay=False),
    resolved: Optional[Path] = typer.Option(None, "--resolved", resolve_path=True),
    dash: Optional[Path] = typer.Option(None, "--dash", allow_dash=True),
    text: str = typer.Option("auto", "--text"),
    ratio: float = typer.Option(0.0, "--ratio", min=0.0, max=1.0),
    clamped: float = typer.Option(0.5, "--clamped", min=0.0, max=1.0, clamp=True),
    count: Optional[int] = typer.Option(None, "--count", min=1),
    big: int = typer.Option(3, "--big"),
    flag: bool = typer.Option(False, "--flag"),
) -> None:
    """Prints every value with its type."""
    values = dict(path=path, must_exist=must_exist, file_only=file_only, dir_only=dir_only, resolved=resolved,
                  dash=dash, text=text, ratio=ratio, clamped=clamped, count=count, big=big, flag=flag)
    for name, value in values.items():
        typer.echo(f"{name}={value!r} {type(value).__name__}")


def _apps() -> tuple[typer.Typer, typer.Typer]:
    """(admfit's App, a plain typer.Typer) with the same two commands."""
    apps = App(), typer.Typer()
    for app in apps:
        app.command("run")(_command)
        app.command("other")(lambda: None)
    return apps


def _cases(tmp_path: Path) -> list[list[str]]:
    file, folder = tmp_path / "file.txt", tmp_path / "folder"
    file.write_text("x")
    folder.mkdir()
    missing = tmp_path / "missing"
    return [
        [file], [missing], [""], ["-"], [" spaced name "], ["é"],
        [file, "--must-exist", file], [file, "--must-exist", missing], [file, "--must-exist", ""],
        [file, "--file-only", file], [file, "--file-only", folder], [file, "--dir-only", folder],
        [file, "--dir-only", file], [file, "--resolved", f"{folder}/../file.txt"], [file, "--dash", "-"],
        [file, "--text", ""], [file, "--text", " x "], [file, "--text", "0.5"],
        [file, "--ratio", "0.5"], [file, "--ratio", "2"], [file, "--ratio", "-0"], [file, "--ratio", "nan"],
        [file, "--ratio", "abc"], [file, "--ratio", "1e400"], [file, "--clamped", "7"], [file, "--clamped", "0.25"],
        [file, "--count", "0"], [file, "--count", "2"], [file, "--count", "2.0"], [file, "--count", "x"],
        [file, "--big", str(10**30)], [file, "--big", "-5"], [file, "--flag"],
        [], [file, "--unknown"], ["--help"],
    ]


def test_values_and_errors_are_typers_own(tmp_path):
    plain, own = _apps()
    for args in _cases(tmp_path):
        assert invoke(plain, "run", *args) == invoke(own, "run", *args), args


@pytest.mark.skipif(_plain_values.RuntimeParam is None, reason="this typer converts with click's types")
def test_plain_values_skip_typers_converter(tmp_path, monkeypatch):
    """Paths, text, flags and defaults never reach typer's converter; a number typed on the line does."""
    import typer._coercion

    built = []

    def spy(descriptor):
        built.append(descriptor.annotation)
        return original(descriptor)

    original = typer._coercion.build_runtime_param
    monkeypatch.setattr(typer._coercion, "build_runtime_param", spy)
    monkeypatch.setattr(_plain_values, "build_runtime_param", spy)
    plain, own = _apps()
    file = tmp_path / "file.txt"
    file.write_text("x")
    code, stdout, _ = invoke(plain, "run", file, "--text", "t", "--dash", "-", "--flag")
    assert code == 0 and "text='t' str" in stdout and built == []
    assert invoke(plain, "run", file, "--ratio", "0.5")[0] == 0 and built == [float]
    built.clear()
    monkeypatch.setattr("typer.core.build_runtime_param", spy)
    assert invoke(own, "run", file)[0] == 0 and built  # the spy sees typer's own path
