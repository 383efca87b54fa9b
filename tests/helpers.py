"""Helpers shared by the test packages (not fixtures: plain functions any test module may import)."""
from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner


def invoke(app, *args) -> tuple[int, str, str]:
    """Run a typer app in-process: (exit code, stdout, stderr)."""
    result = CliRunner().invoke(app, [str(arg) for arg in args])
    return result.exit_code, result.stdout, result.stderr


def assert_one_line_error(code: int, stdout: str, stderr: str, *words: str) -> None:
    """The project's promise for bad input: exit 2, one `error: ...` line naming what is wrong, no traceback."""
    assert code == 2, stdout + stderr
    # `note: ...` lines (admfit.errors.Notice, e.g. a subset alias) may precede the error; they are not errors.
    lines = [line for line in stderr.strip().splitlines() if not line.startswith("note: ")]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in stderr, stderr
    for word in words:
        assert word in lines[0], (word, lines[0])


REPO = Path(__file__).resolve().parents[1]
# The project's shared data (real annotations, human clicks); beside the checkout, absent on a user's machine.
SHARED_DATA = REPO.parent / "shared" / "data"
EXAMPLE = REPO / "examples" / "thumos14_mini"
