"""Both apps speak one language: one name per option, -h and --version, shell completion, no placeholder a user
cannot type, and tables that keep every name and number whole when piped, with their units."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict

import numpy as np
import pytest
from typer.main import get_command

from admfit.evaluation import DetectionResult
from admfit.threads import THREADS_HELP
from admfit_cli._tables import map_rows, plain_table
from admfit_cli.main import app as admfit_app
from admfit_cli.torch_main import app as torch_app

from ..helpers import EXAMPLE, REPO, invoke

APPS = {"admfit": admfit_app, "admfit-torch": torch_app}


def _commands():
    for app_name, app in APPS.items():
        group = get_command(app)
        for name, command in group.commands.items():
            yield f"{app_name} {name}", command


def _options(command):
    # by kind, not class: newer typer versions vendor their own copy of click
    return [param for param in command.params if param.param_type_name == "option"]


def test_an_option_has_the_same_names_in_every_command_of_both_apps():
    """The same parameter (by its Python name) is spelt the same way wherever it appears: no --out here and
    --output there, no --tious beside --tiou."""
    spellings = defaultdict(dict)
    for where, command in _commands():
        for option in _options(command):
            spellings[option.name][where] = tuple(sorted(option.opts + option.secondary_opts))
    differing = {name: by_command for name, by_command in spellings.items() if len(set(by_command.values())) > 1}
    assert differing == {}


# Python parameter names a command may give the same thing -> the one spelling every command must use.
_CONCEPTS = [({"out", "output", "output_path"}, {"-o", "--output"}), ({"tiou", "tious"}, {"--tiou"})]


@pytest.mark.parametrize("names, flags", _CONCEPTS)
def test_the_shared_concepts_have_one_spelling(names, flags):
    found = {where: set(option.opts) for where, command in _commands() for option in _options(command)
             if option.name in names}
    assert len(found) >= 3, found  # each concept appears in several commands
    assert all(names == flags for names in found.values()), found


# Every command that runs torch or numba's parallel fit takes the one thread setting (admfit.threads.set_threads).
# `admfit plot` runs numba, but none of its parallel kernels: it has no thread pool to set.
THREADED = {"admfit fit", "admfit label", "admfit-torch train", "admfit-torch infer", "admfit-torch eval"}


def test_every_command_that_runs_torch_or_numba_takes_threads_alike():
    found = {where: option for where, command in _commands() for option in _options(command)
             if option.name == "threads"}
    assert set(found) == THREADED
    assert {(option.opts[0], option.help) for option in found.values()} == {("--threads", THREADS_HELP)}
    for where in THREADED:
        app_name, name = where.split()
        code, _, err = invoke(APPS[app_name], name, "--threads", "0")
        assert code == 2 and "--threads" in err and "Traceback" not in err, (where, err)


def test_no_help_shows_a_placeholder_a_user_cannot_type():
    for where, command in _commands():
        code, stdout, stderr = invoke(APPS[where.split()[0]], where.split()[1], "-h")
        assert code == 0, stderr
        assert "<bool>" not in stdout and "BOOLEAN" not in stdout, where


@pytest.mark.parametrize("app", APPS.values(), ids=APPS.keys())
def test_version_and_short_help(app):
    code, stdout, _ = invoke(app, "--version")
    assert code == 0 and stdout.startswith("admfit ")
    code, stdout, _ = invoke(app, "-h")
    assert code == 0 and "Usage:" in stdout and "--install-completion" in stdout


@pytest.mark.parametrize("program, words, expected", [("admfit", "admfit ev", "eval-pseudo"),
                                                      ("admfit-torch", "admfit-torch train --sta", "--stage")])
def test_shell_completion_completes_commands_and_options(program, words, expected):
    """What bash's completion function asks (typer's protocol): the words so far -> the candidates."""
    module = "admfit_cli.main" if program == "admfit" else "admfit_cli.torch_main"
    env = {**os.environ, f"_{program.upper().replace('-', '_')}_COMPLETE": "complete_bash", "COMP_WORDS": words,
           "COMP_CWORD": str(len(words.split()) - 1)}
    script = f"import sys; sys.argv[0] = {program!r}; from {module} import app; app(prog_name={program!r})"
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120,
                            cwd=REPO)
    assert expected in result.stdout.split(), result.stdout + result.stderr


def _result(classes):
    rng = np.random.default_rng(0)
    tious = np.array([0.1, 0.55, 0.7])
    return DetectionResult(tious, classes, rng.random((3, len(classes))), np.ones(len(classes)), 5, 0, 0, 0)


def test_plain_table_keeps_long_names_whole_with_units():
    long_name = "AVeryLongClassNameThatWouldBeFoldedByANarrowTerminal_" * 3
    header, rows = map_rows(_result(["Short", long_name]), per_class=True)
    lines = plain_table(header, rows).splitlines()
    assert lines[0].split() == ["tIoU", "(%)", "10", "55", "70", "Avg"]
    assert lines[1].split()[:2] == ["mAP", "(%)"] and len(lines) == 4
    assert lines[3].split()[2] == long_name  # whole, on its own line
    assert len({len(line) for line in lines}) == 1  # aligned columns (right-justified numbers)


def test_eval_piped_prints_plain_lines_in_percent(tmp_path):
    """`admfit eval` into a pipe: every class name and the counts line whole, thresholds and mAP in %."""
    ground_truth = json.loads((EXAMPLE / "gt.json").read_text())
    results = {video: [{"segment": a["segment"], "label": a["label"], "score": 0.9} for a in record["annotations"]]
               for video, record in ground_truth["database"].items()}
    predictions = tmp_path / "pred.json"
    predictions.write_text(json.dumps({"results": results}))
    code, stdout, stderr = invoke(admfit_app, "eval", EXAMPLE / "gt.json", predictions, "--subset", "all",
                                  "--per-class")
    assert code == 0, stderr
    lines = stdout.splitlines()
    assert lines[1].split()[:3] == ["tIoU", "(%)", "10"] and lines[2].split()[:3] == ["mAP", "(%)", "100.00"]
    labels = {a["label"] for record in ground_truth["database"].values() for a in record["annotations"]}
    assert {line.split()[2] for line in lines if line.startswith("AP (%) ")} == labels
    assert any(line.startswith(f"{sum(len(r) for r in results.values())} ground-truth instances") and
               line.endswith("(false positives)") for line in lines)
    assert not any(char in stdout for char in "┏│━")  # no box drawing in a pipe
