"""The layout's rules, checked on the source (docs/ARCHITECTURE.md draws them).

- Imports point down: billing/ and evidence/ take from launchroom only ``launchroom.models``,
  ``launchroom.catalog`` and ``launchroom.tenants`` (plus core, Django, the standard library,
  third-party packages and their own app); core/ imports nothing from the apps.
- No import cycle between the modules of core, launchroom, billing and evidence.
- No Python file over 400 lines in those packages (migrations and the catalog's gate data
  excepted).

Every import counts: top level, inside functions and under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("core", "launchroom", "billing", "evidence")
LOWER_APPS = ("billing", "evidence")
# What billing/ and evidence/ may take from launchroom (each with its submodules).
LAUNCHROOM_ALLOWED_BELOW = ("launchroom.models", "launchroom.catalog", "launchroom.tenants")
MAX_LINES = 400
LINE_LIMIT_EXCEPTIONS = {"launchroom/catalog.py"}  # the gate data, readable next to SPEC.md
# Files over the limit that other work in progress is splitting; the limit is expected to fail
# (not strictly) only while these, and nothing else, exceed it.
BEING_SPLIT = {"launchroom/room/views.py", "launchroom/management/commands/operator_launch_proof.py"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def python_files(*, with_migrations: bool = True) -> Iterator[Path]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if not with_migrations and "migrations" in path.relative_to(ROOT).parts:
                continue
            yield path


MODULES: dict[str, Path] = {module_name(p): p for p in python_files()}


def resolve(name: str) -> str:
    """The most specific module of ours that ``name`` names (``a.b.C`` -> ``a.b`` when C is a class)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in the file, relative imports resolved."""
    this = module_name(path)
    package = this if path.name == "__init__.py" else this.rpartition(".")[0]
    return imports_in(path.read_text(), package)


def imports_in(source: str, package: str) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from launchroom import catalog`` imports the module launchroom.catalog;
            # ``from launchroom.models import Tenant`` a name of launchroom.models.
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
    return found


def test_it_parses_every_module_and_finds_imports():
    assert "launchroom.readiness.evaluation" in MODULES
    assert "core.hooks" in MODULES
    assert "launchroom.catalog" in imports_of(MODULES["launchroom.readiness.evaluation"])


def test_it_counts_imports_inside_functions_and_relative_ones():
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from launchroom.room import views\n"
        "def f():\n    from launchroom.readiness.services import gate_decide\n    import launchroom.public.copy\n"
        "from . import models\nfrom .validation import x\nfrom ..core import errors\n"
    )
    found = imports_in(source, "evidence")
    assert {
        "launchroom.room.views",
        "launchroom.readiness.services",
        "launchroom.public.copy",
        "evidence.models",
        "evidence.validation",
    } <= found


@pytest.mark.parametrize("app", LOWER_APPS)
def test_it_keeps_billing_and_evidence_below_launchroom(app):
    offending = []
    for path in python_files():
        if path.relative_to(ROOT).parts[0] != app:
            continue
        for name in sorted(imports_of(path)):
            if name.split(".")[0] != "launchroom":
                continue
            if not any(name == a or name.startswith(a + ".") for a in LAUNCHROOM_ALLOWED_BELOW):
                offending.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offending == [], "billing/evidence reach up into launchroom:\n" + "\n".join(offending)


def test_it_keeps_core_free_of_the_apps():
    offending = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in python_files()
        if path.relative_to(ROOT).parts[0] == "core"
        for name in sorted(imports_of(path))
        if name.split(".")[0] in ("launchroom", "billing", "evidence")
    ]
    assert offending == [], "core imports from the apps:\n" + "\n".join(offending)


def import_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        targets = {resolve(i) for i in imports_of(path)}
        graph[name] = {t for t in targets if t and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
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
    return found


def test_it_finds_a_cycle_when_there_is_one():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_it_has_no_import_cycle_between_modules():
    found = cycles(import_graph())
    assert found == [], "import cycles:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_it_keeps_every_python_file_under_400_lines():
    over = {
        str(path.relative_to(ROOT)): length
        for path in python_files(with_migrations=False)
        if str(path.relative_to(ROOT)) not in LINE_LIMIT_EXCEPTIONS
        and (length := len(path.read_text().splitlines())) > MAX_LINES
    }
    if over and set(over) <= BEING_SPLIT:
        pytest.xfail(f"being split by other work in progress: {over}")
    assert over == {}, f"files over {MAX_LINES} lines: {over}"
