"""The house: modules grouped by role with no import circle, a short admfit root, docs/architecture.md naming exactly
the modules that exist, and the module paths of earlier versions still importing (admfit._moved)."""
from __future__ import annotations

import ast
import importlib
import sys
import warnings

import pytest

from admfit._moved import MOVED

from ..helpers import REPO

PACKAGES = ("admfit", "admfit_torch", "admfit_cli")
ROOT_MODULES_AT_MOST = 12


def _modules() -> dict[str, object]:
    """Module name -> path of every module of the three packages."""
    found = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            parts = list(path.relative_to(REPO).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def _imported(name: str, path, node, known) -> list[str]:
    """The project modules an import statement of module ``name`` (at ``path``) names."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if alias.name in known]
    base = node.module or ""
    if node.level:
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        package = package[:len(package) - node.level + 1]
        base = ".".join(package + ([node.module] if node.module else []))
    targets = [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in known]
    return targets or ([base] if base in known else [])


def _graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports, at the top or inside a function (either makes a circle)."""
    known = _modules()
    graph = {}
    for name, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        edges = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                edges.update(_imported(name, path, node, known))
        graph[name] = edges - {name}
    return graph


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_circle_anywhere():
    graph = _graph()
    assert len(graph) > 100  # the scan sees the packages
    assert _circles(graph) == []


def test_the_circle_finder_finds_a_circle():
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_admfit_root_is_short():
    modules = sorted(path.name for path in (REPO / "admfit").glob("*.py"))
    assert len(modules) <= ROOT_MODULES_AT_MOST, modules


def test_the_project_imports_the_new_paths_only():
    for folder in (*PACKAGES, "benchmarks", "tests"):
        for path in sorted((REPO / folder).rglob("*.py")):
            if path.name == "test_layout.py":
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and not node.level:
                    names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
                elif isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                else:
                    continue
                assert not set(names) & set(MOVED), (path.relative_to(REPO), sorted(set(names) & set(MOVED)))


def test_the_module_map_names_only_modules_that_exist():
    text = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    rows = [line.split("|")[1].strip() for line in text.splitlines()
            if line.startswith("| `") and line.count("|") >= 3]
    named = [cell.strip("`") for row in rows for cell in row.split(", ")]
    assert len(named) > 60
    modules = {name.split(".")[-1] for name in _modules()} | {name.rsplit(".", 1)[-1] for name in _modules()
                                                              if (REPO / name.replace(".", "/")).is_dir()}
    modules |= {"__init__"}
    folders = {path.name for package in PACKAGES for path in (REPO / package).rglob("*") if path.is_dir()}
    for name in named:
        stem = name.rstrip("/").split("/")[-1]
        assert stem in modules or stem in folders, f"docs/architecture.md names {name!r}, which does not exist"


@pytest.mark.parametrize("old", sorted(MOVED))
def test_an_old_module_path_still_imports_with_a_warning(old):
    if old.startswith("admfit_torch"):
        pytest.importorskip("torch")
    sys.modules.pop(old, None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module = importlib.import_module(old)
    assert any(issubclass(w.category, DeprecationWarning) and old in str(w.message) for w in caught)
    for target in MOVED[old]:
        new = importlib.import_module(target)
        public = [name for name in vars(new) if not name.startswith("_") and getattr(new, name, None) is not None]
        assert public
        for name in public[:20]:
            assert getattr(module, name) is getattr(new, name), (old, name)
    sys.modules.pop(old, None)


def test_released_names_through_old_paths():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from admfit.api import fit_instances  # noqa: I001 (the old path, on purpose)
        from admfit.fit_io import load_signals, read_pseudo_labels, resolve_points  # noqa: F401
        from admfit.simulate import simulate_points  # noqa: F401
    import admfit

    assert fit_instances is admfit.fit_instances
