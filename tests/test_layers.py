"""The layout's rules, checked on the source (docs/ARCHITECTURE.md draws them).

A *unit* is a package: ``core``, ``billing``, ``evidence``, each sub-package of launchroom
(``launchroom.readiness``, ``launchroom.room``, ...) and each top-level module of launchroom
(``launchroom.catalog``, ``launchroom.demo``, ...). Imports between units point down this
order, bottom first: a unit imports only from the lines above its own (``launchroom.`` left out).

1. ``core``: imports nothing of the apps.
2. ``catalog``: the ten gates as data.
3. ``models``; ``public`` (the public pages, generated from the catalog).
4. ``mail``: queued e-mail.
5. ``tenants``: access, roles, accounts, the tenant lock.
6. ``billing``, ``evidence``: from launchroom only ``models``, ``catalog`` and ``tenants``.
7. ``readiness``: the domain (selectors, ``evaluate``, record rules, states, ``gate_decide`` and
   ``stage_move``, the ledger, the projection, its task); ``proofs``: the HTTP check runner.
8. What reads readiness: ``notifications``, ``impact``, ``portfolio``, ``readiness_api``.
9. ``support``, ``conversation``: they tell people through ``notifications``.
10. ``acceptance``, ``orderforms``, ``readiness_admin``.
11. ``packet`` (it builds on the acceptance certificate), ``room``, ``admin``, ``templatetags``,
    ``demo_evidence``, ``scheduler``, ``listeners``.
12. ``demo``, ``urls``, ``api_urls``, ``apps``.
13. ``management``: the commands.

An upward call (a lower unit that must make something happen above it: the stored readiness,
the decision log, the notifications of a transition, the impact preview) is one of
``core.hooks``, which ``launchroom.listeners`` fills at start-up.

Checked here: no cycle between units; core imports no app; what billing/ and evidence/ take from
launchroom; no Python file over 400 lines (migrations excepted). Every import counts: top
level, inside functions and under ``TYPE_CHECKING``.
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


def unit(module: str) -> str:
    """The unit a module belongs to: ``launchroom.readiness.ledger`` -> ``launchroom.readiness``,
    ``launchroom.catalog`` -> itself, ``billing.services`` -> ``billing``."""
    parts = module.split(".")
    if parts[0] == "launchroom":
        return ".".join(parts[:2])
    return parts[0]


def imports_in(source: str, package: str) -> list[tuple[str, int]]:
    """Every name imported anywhere in ``source`` with its line, relative imports resolved
    against ``package``."""
    found: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from launchroom import catalog`` imports the module launchroom.catalog;
            # ``from launchroom.models import Tenant`` a name of launchroom.models.
            for alias in node.names:
                name = f"{base}.{alias.name}"
                found.append((name if name in MODULES else base, node.lineno))
    return found


def imports_of(path: Path) -> list[tuple[str, int]]:
    this = module_name(path)
    package = this if path.name == "__init__.py" else this.rpartition(".")[0]
    return imports_in(path.read_text(), package)


def ours(name: str) -> bool:
    return name.split(".")[0] in PACKAGES


Edges = dict[tuple[str, str], list[str]]


def unit_graph() -> Edges:
    """Each import from one unit into another, keyed by (from, to), as ``file:line -> module``."""
    edges: Edges = {}
    for name, path in MODULES.items():
        for imported, line in imports_of(path):
            target = resolve(imported) if ours(imported) else ""
            if target and unit(target) != unit(name):
                where = f"{path.relative_to(ROOT)}:{line} -> {target}"
                edges.setdefault((unit(name), unit(target)), []).append(where)
    return edges


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan, iterative)."""
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


def cycle_report(edges: Edges) -> list[str]:
    """For each cycle between units, the imports that close it (every edge inside the cycle)."""
    graph: dict[str, set[str]] = {}
    for source, target in edges:
        graph.setdefault(source, set()).add(target)
        graph.setdefault(target, set())
    lines = []
    for component in cycles(graph):
        lines.append("cycle: " + " <-> ".join(component))
        for (source, target), wheres in sorted(edges.items()):
            if source in component and target in component:
                lines.extend(f"  {where}" for where in wheres)
    return lines


def test_it_parses_every_module_and_finds_imports():
    assert "launchroom.readiness.evaluation" in MODULES
    assert "core.hooks" in MODULES
    imported = {name for name, _ in imports_of(MODULES["launchroom.readiness.evaluation"])}
    assert "launchroom.catalog" in imported


def test_it_counts_imports_inside_functions_and_relative_ones():
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from launchroom.room import views\n"
        "def f():\n    from launchroom.readiness.services import gate_decide\n    import launchroom.public.copy\n"
        "from . import models\nfrom .validation import x\nfrom ..core import errors\n"
    )
    found = dict(imports_in(source, "evidence"))
    assert found["launchroom.room.views"] == 3
    assert found["launchroom.readiness.services"] == 5
    assert found["launchroom.public.copy"] == 6
    assert {"evidence.models", "evidence.validation"} <= set(found)


def test_it_names_the_units():
    assert unit("launchroom.readiness.ledger") == "launchroom.readiness"
    assert unit("launchroom.catalog") == "launchroom.catalog"
    assert unit("launchroom.management.commands.seed_demo") == "launchroom.management"
    assert unit("billing.services") == "billing"
    assert unit("core") == "core"


def test_it_finds_a_cycle_and_the_imports_that_close_it():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    edges = {("a", "b"): ["a.py:3 -> b"], ("b", "a"): ["b.py:9 -> a"], ("c", "a"): ["c.py:1 -> a"]}
    assert cycle_report(edges) == ["cycle: a <-> b", "  a.py:3 -> b", "  b.py:9 -> a"]


def test_it_has_no_import_cycle_between_units():
    report = cycle_report(unit_graph())
    assert report == [], "import cycles between packages:\n" + "\n".join(report)


@pytest.mark.parametrize("app", LOWER_APPS)
def test_it_keeps_billing_and_evidence_below_launchroom(app):
    offending = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in python_files()
        if path.relative_to(ROOT).parts[0] == app
        for name, line in imports_of(path)
        if name.split(".")[0] == "launchroom"
        and not any(name == a or name.startswith(a + ".") for a in LAUNCHROOM_ALLOWED_BELOW)
    ]
    assert offending == [], "billing/evidence reach up into launchroom:\n" + "\n".join(offending)


def test_it_keeps_core_free_of_the_apps():
    offending = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in python_files()
        if path.relative_to(ROOT).parts[0] == "core"
        for name, line in imports_of(path)
        if name.split(".")[0] in ("launchroom", "billing", "evidence")
    ]
    assert offending == [], "core imports from the apps:\n" + "\n".join(offending)


def test_it_keeps_every_python_file_under_400_lines():
    over = {
        str(path.relative_to(ROOT)): length
        for path in python_files(with_migrations=False)
        if (length := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert over == {}, f"files over {MAX_LINES} lines: {over}"
