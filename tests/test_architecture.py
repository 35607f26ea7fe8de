"""The shape of the house, checked from the source: imports flow ui -> qa -> embeddings, qa's
rooms import only the rooms below them, and no module of qa imports itself in a circle (not
even through an import inside a function)."""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# qa's rooms, lowest first: each may import the rooms before it, never one after it.
ROOMS = ("ingest", "index", "rank", "search", "reply", "eval")
# Modules at qa's top that every room may import; they import no room themselves.
FOUNDATION = {"qa.records", "qa.errors", "qa.settings"}
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def imported_modules(path: Path) -> Iterator[str]:
    """Every module ``path`` imports, wherever the import statement stands."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module
            # ``from qa.rank import fusion`` imports the module qa.rank.fusion.
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def import_graph(package: str) -> dict[str, set[str]]:
    modules = {module_name(path): path for path in source_files(package)}
    return {
        name: {found for found in imported_modules(path) if found in modules and found != name}
        for name, path in modules.items()
    }


def find_cycle(graph: Mapping[str, set[str]]) -> list[str] | None:
    """One import circle of ``graph`` (its modules in order, the first repeated), or None."""
    state: dict[str, str] = {}
    trail: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        trail.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return trail[trail.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = "done"
        trail.pop()
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def room_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ROOMS else None


def test_the_cycle_finder_finds_a_circle_and_only_a_circle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_qa_has_no_import_circle() -> None:
    # Package parents are not edges: importing qa.rank.fusion runs qa/__init__.py, which
    # imports only records and errors eagerly (the public calls load lazily).
    graph = {
        name: {found for found in imports if not name.startswith(found + ".")}
        for name, imports in import_graph("qa").items()
    }
    assert find_cycle(graph) is None


@pytest.mark.parametrize("room", ROOMS)
def test_a_room_imports_only_the_rooms_below_it(room: str) -> None:
    allowed = set(ROOMS[: ROOMS.index(room) + 1])
    wrong = {
        (module, found)
        for module, imports in import_graph("qa").items()
        if room_of(module) == room
        for found in imports
        if found.startswith("qa.")
        and found not in FOUNDATION
        and found != "qa"
        and room_of(found) not in allowed
    }
    assert not wrong, f"qa/{room} imports what it may not: {sorted(wrong)}"


def test_the_foundation_imports_no_room() -> None:
    graph = import_graph("qa")
    wrong = {(m, f) for m in FOUNDATION for f in graph[m] if room_of(f) is not None}
    assert not wrong


@pytest.mark.parametrize("room", ROOMS)
def test_each_room_says_what_it_owns_and_may_import(room: str) -> None:
    docstring = ast.get_docstring(ast.parse((ROOT / "qa" / room / "__init__.py").read_text()))
    assert docstring and "May import" in docstring


@pytest.mark.parametrize(("package", "forbidden"), [("embeddings", ("qa", "ui")), ("qa", ("ui",))])
def test_imports_flow_from_ui_to_qa_to_embeddings(package: str, forbidden: tuple[str, ...]) -> None:
    wrong = {
        (module_name(path), found)
        for path in source_files(package)
        for found in imported_modules(path)
        if found.split(".")[0] in forbidden
    }
    assert not wrong


def test_no_module_of_qa_is_past_the_size_of_one_job() -> None:
    long = {
        str(path.relative_to(ROOT)): lines
        for path in source_files("qa")
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"split these into files with one job each: {long}"
