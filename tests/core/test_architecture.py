"""docs/architecture.md and docs/spec.md stay true: the module map names every module, citations of docs/spec.md
name sections that exist, no code cites a SPEC outside the repository, benchmarks import only public names."""
from __future__ import annotations

import ast
import re
import subprocess

import pytest

from ..helpers import REPO

PACKAGES = ("admfit", "admfit_torch", "admfit_cli")
# Files the lead edits on another branch; their "SPEC section N" citations move to docs/spec.md there.
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
