"""docs/architecture.md and docs/spec.md stay true: the module map names every module, citations of docs/spec.md
name sections that exist, no code cites a SPEC outside the repository, benchmarks import only public names."""
from __future__ import annotations

import ast
import re
import subprocess

import pytest

from ..helpers import REPO

PACKAGES = ("admfit", "admfit_torch", "admfit_cli")
# Benchmarks that time private code on purpose (docs/architecture.md, rule 3).
PRIVATE_ON_PURPOSE = {"adm_fit.py"}


def _tracked(*patterns: str) -> list[str]:
    found = subprocess.run(["git", "-C", str(REPO), "ls-files", *patterns], capture_output=True, text=True)
    if found.returncode != 0:
        pytest.skip("not a git checkout")
    return found.stdout.split()


def test_the_module_map_names_every_module():
    text = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            if path.stem not in ("__init__", "__main__"):
                assert f"`{path.stem}`" in text, f"docs/architecture.md does not name {path.relative_to(REPO)}"


def test_spec_citations_name_existing_sections():
    spec = (REPO / "docs" / "spec.md").read_text(encoding="utf-8")
    sections = set(re.findall(r"^#+ (\d+(?:\.\d+)?)\.? ", spec, flags=re.M))
    assert {"1", "1.6", "2", "2.6", "3", "5.7"} <= sections
    for name in _tracked("*.py", "*.md"):
        text = (REPO / name).read_text(encoding="utf-8")
        for cited in re.findall(r"docs/spec\.md,? (?:section )?(\d+(?:\.\d+)?)", text):
            assert cited in sections, f"{name} cites docs/spec.md {cited}, which does not exist"


def test_no_code_cites_a_spec_outside_the_repository():
    for name in _tracked("*.py", "*.md"):
        if name in ("docs/spec.md", "tests/core/test_architecture.py"):
            continue
        text = (REPO / name).read_text(encoding="utf-8")
        assert not re.search(r"\bSPEC\b", text), f"{name} cites SPEC; cite docs/spec.md"


def _private_imports(path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in ("admfit", "admfit_torch"):
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names if alias.name.split(".")[0] in ("admfit", "admfit_torch")]
        else:
            continue
        found += [name for name in names if any(part.startswith("_") for part in name.split("."))]
    return found


def test_benchmarks_import_only_public_names():
    for path in sorted((REPO / "benchmarks").rglob("*.py")):
        if path.name not in PRIVATE_ON_PURPOSE:
            assert _private_imports(path) == [], path.relative_to(REPO)


# The command-line package only parses options and prints (docs/architecture.md): reading, writing and checking
# files and validating configs is library work, where Python callers get it too. Refused in admfit_cli/: these
# calls (a bare name, ``x.method(...)``, ``module.function(...)``; ``module.*``: any function of it) and imports.
# No module is exempt: the typer plumbing (_common.py, _plain_values.py) passes as it is.
CLI_REFUSED_NAMES = {"open"}
CLI_REFUSED_METHODS = {"read_text", "write_text", "read_bytes", "write_bytes", "exists", "is_file", "is_dir", "mkdir",
                       "iterdir", "glob", "rglob", "unlink", "rmdir", "model_validate", "model_copy", "model_dump"}
CLI_REFUSED_FUNCTIONS = {"json.load", "json.loads", "np.load", "numpy.load", "yaml.*", "os.access", "os.path.*",
                         "os.listdir", "os.makedirs", "os.remove", "shutil.*"}
CLI_REFUSED_IMPORTS = {"pydantic", "yaml"}


def _dotted(node) -> str | None:
    """``a.b.c`` of a Name or an Attribute chain of Names; None for anything else (a call, a subscript)."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        owner = _dotted(node.value)
        return None if owner is None else f"{owner}.{node.attr}"
    return None


def _refused_call(call: ast.Call) -> str | None:
    name = _dotted(call.func)
    if isinstance(call.func, ast.Name) and call.func.id in CLI_REFUSED_NAMES:
        return f"{call.func.id}()"
    if name is not None and "." in name:
        owner = name.rpartition(".")[0]
        if name in CLI_REFUSED_FUNCTIONS or f"{owner}.*" in CLI_REFUSED_FUNCTIONS:
            return f"{name}()"
    if isinstance(call.func, ast.Attribute) and call.func.attr in CLI_REFUSED_METHODS:
        return f".{call.func.attr}()"
    return None


def _file_logic(source: str) -> list[str]:
    """'line N: what' for every refused call or import of a module's source."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            what = _refused_call(node)
        elif isinstance(node, ast.Import):
            what = next((f"import {a.name}" for a in node.names if a.name.split(".")[0] in CLI_REFUSED_IMPORTS), None)
        elif isinstance(node, ast.ImportFrom):
            what = (f"from {node.module} import" if node.level == 0 and node.module
                    and node.module.split(".")[0] in CLI_REFUSED_IMPORTS else None)
        else:
            continue
        if what is not None:
            found.append((node.lineno, node.col_offset, f"line {node.lineno}: {what}"))
    return [what for _, _, what in sorted(found)]


def test_the_rules_for_the_command_line_package_catch_file_and_config_logic():
    assert _file_logic("from pydantic import ValidationError\nimport yaml\n") == [
        "line 1: from pydantic import", "line 2: import yaml"]
    assert _file_logic("json.loads(open(p).read())\nyaml.safe_load(t)\nnp.load(f)\nos.path.isdir(p)\n") == [
        "line 1: json.loads()", "line 1: open()", "line 2: yaml.safe_load()", "line 3: np.load()",
        "line 4: os.path.isdir()"]
    assert _file_logic("if out.exists() and not Path(out).is_dir():\n    cfg.model_copy(update={})\n") == [
        "line 1: .exists()", "line 1: .is_dir()", "line 2: .model_copy()"]
    assert _file_logic("typer.echo(json.dumps(result))\ncheck_writable(out)\nPath(value)\n") == []


def test_the_command_line_package_holds_no_file_or_config_logic():
    assert "admfit_cli" in PACKAGES
    modules = sorted((REPO / "admfit_cli").rglob("*.py"))
    assert {"fit.py", "evaluate.py", "torch_main.py", "_common.py", "_plain_values.py"} <= {m.name for m in modules}
    for path in modules:
        assert _file_logic(path.read_text(encoding="utf-8")) == [], (
            f"{path.relative_to(REPO)} reads, writes or checks files, or validates a config: move it to the library")
