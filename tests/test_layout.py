"""The house rules a reader relies on: small modules, no import circles, and data flowing one way.

`lint-imports` (pyproject.toml's [tool.importlinter]) holds the layers between rooms; these
tests hold what it does not: every module's size, and no circle at the level of single files.
"""

import ast
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent
# A module past this has seams worth making modules of a package (CONTRIBUTING.md).
MAX_LINES = 300
PACKAGES = ("musicsite", "search", "subscriptions")
# One settings file read from the environment is the house's choice (CONVENTIONS.md), long or not.
UNSIZED = {BASE_DIR / "musicsite" / "settings.py"}


def modules(*packages):
    for package in packages:
        for path in sorted((BASE_DIR / package).rglob("*.py")):
            if "tests" not in path.parts and "migrations" not in path.parts:
                yield path


def module_name(path):
    parts = list(path.relative_to(BASE_DIR).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path, known=frozenset()):
    """Absolute names of what `path` imports. `from pkg import x` names the module `pkg.x` when
    that is one of the `known` modules, and `pkg` itself otherwise."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module_name(path)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                submodule = f"{module}.{alias.name}"
                yield submodule if submodule in known else module


def import_graph():
    """File -> the files of the tree it imports (a package's name means its __init__)."""
    paths = {module_name(path): path for path in modules(*PACKAGES)}
    return {
        name: {other for other in imported_modules(path, frozenset(paths)) if other in paths}
        - {name}
        for name, path in paths.items()
    }


def circles(graph):
    """Tarjan's strongly connected components of more than one file."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def sized_modules():
    return [path for path in modules(*PACKAGES) if path not in UNSIZED]


@pytest.mark.parametrize("path", sized_modules(), ids=lambda path: str(path.relative_to(BASE_DIR)))
def test_modules_stay_small(path):
    assert len(path.read_text(encoding="utf-8").splitlines()) <= MAX_LINES


def test_no_import_circles():
    assert circles(import_graph()) == []


def test_the_circle_finder_sees_a_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}

    assert circles(graph) == [["a", "b", "c"]]


def test_search_never_imports_subscriptions():
    graph = import_graph()
    importers = [
        name
        for name in graph
        if name.split(".")[0] == "search"
        and any(other.split(".")[0] == "subscriptions" for other in graph[name])
    ]

    assert importers == []


def test_settings_import_no_app_code():
    imported = set(imported_modules(BASE_DIR / "musicsite" / "settings.py"))

    assert {name.split(".")[0] for name in imported} & {"search", "subscriptions"} == set()
