"""The package's shape: no import circles (function-level imports included), model modules hold no wording or
command-line code, and the presentation layer (story, display, plots, notebooks) never imports a model."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from sendlib.paths import PACKAGE_DIR, REPO_ROOT

MODELS = {"sendlib.funding", "sendlib.programmes", "sendlib.compare", "sendlib.effects", "sendlib.flags"}
#: the models the issue names: no wording or formatting at all (flags' messages are the content of its table and
#: go through sendlib.formatting)
PURE_MODELS = MODELS - {"sendlib.flags"}
PRESENT = {"sendlib.story", "sendlib.display", "sendlib.plots", "sendlib.formatting", "sendlib.hexmap"}


def module_name(path: Path) -> str:
    """Return the dotted module name of a file in the package (a package is its __init__)."""
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def modules() -> dict[str, Path]:
    """Return every module of the package by dotted name."""
    return {module_name(p): p for p in sorted(PACKAGE_DIR.rglob("*.py"))}


def imported(path: Path, known: set[str]) -> set[str]:
    """Return the package modules a file imports anywhere in it (inside functions too)."""
    found = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != "sendlib":
                found.add(name)
    return found


def import_graph() -> dict[str, set[str]]:
    """Return module -> the package modules it imports (itself excluded)."""
    files = modules()
    known = set(files)
    return {name: imported(path, known) - {name} for name, path in files.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Return the strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
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

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def path_between(graph: dict[str, set[str]], start: str, goal: str) -> list[str]:
    """Return one import path from start to goal (breadth first), to name a circle."""
    queue, seen = [[start]], {start}
    while queue:
        path = queue.pop(0)
        for nxt in sorted(graph.get(path[-1], ())):
            if nxt == goal:
                return path + [goal]
            if nxt not in seen:
                seen.add(nxt)
                queue.append(path + [nxt])
    return []


def test_the_circle_finder_finds_and_names_a_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert circles(graph) == [["a", "b", "c"]]
    assert path_between(graph, "a", "a") == ["a", "b", "c", "a"]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_function_level_imports_are_seen(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from sendlib.data import load\n    import sendlib.story\n", encoding="utf-8")
    assert imported(source, set(modules())) == {"sendlib.data", "sendlib.story"}


def test_no_module_imports_one_that_imports_it_back():
    graph = import_graph()
    found = circles(graph)
    named = [" -> ".join(path_between(graph, c[0], c[0])) for c in found]
    assert not found, "import circles: " + "; ".join(named)


@pytest.mark.parametrize("model", sorted(MODELS))
def test_model_modules_hold_no_command_line_or_formatting_code(model):
    path = modules()[model]
    text = path.read_text(encoding="utf-8")
    tree = ast.parse(text)
    names = imported(path, set(modules()))
    forbidden = PRESENT if model in PURE_MODELS else PRESENT - {"sendlib.formatting"}
    assert not names & (forbidden | {"sendlib.cli"}) and not any(n.startswith("sendlib.commands") for n in names)
    assert "argparse" not in text and "print(" not in text
    assert not any(isinstance(n, ast.FunctionDef) and n.name.startswith(("command_", "format_", "_format"))
                   for n in ast.walk(tree)), model


@pytest.mark.parametrize("present", sorted(PRESENT))
def test_presentation_never_imports_a_model(present):
    graph = import_graph()
    reached, todo = set(), [present]
    while todo:  # everything it imports, directly or through others
        for nxt in graph.get(todo.pop(), ()):
            if nxt not in reached:
                reached.add(nxt)
                todo.append(nxt)
    assert not reached & (MODELS | {"sendlib.derive"}), f"{present} reaches {sorted(reached & MODELS)}"


@pytest.mark.parametrize("notebook", sorted((REPO_ROOT / "notebooks").glob("*.py")))
def test_notebooks_import_only_the_presentation_layer(notebook):
    names = imported(notebook, set(modules()))
    assert names <= PRESENT | {"sendlib"} | {n for n in names if n.startswith("sendlib.feedback")}, names
    assert "read_csv" not in notebook.read_text(encoding="utf-8")  # never a file by path
