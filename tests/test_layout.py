"""The house rules a reader relies on: small modules, and data flowing one way between the apps."""

import ast
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent
# A module past this has seams worth making modules of a package (CONTRIBUTING.md).
MAX_LINES = 300
SIZED = ("musicsite", "search")
# One settings file read from the environment is the house's choice (CONVENTIONS.md), long or not.
UNSIZED = {BASE_DIR / "musicsite" / "settings.py"}


def modules(*packages):
    for package in packages:
        for path in sorted((BASE_DIR / package).rglob("*.py")):
            if "tests" not in path.parts and "migrations" not in path.parts:
                yield path


def sized_modules():
    return [path for path in modules(*SIZED) if path not in UNSIZED]


@pytest.mark.parametrize("path", sized_modules(), ids=lambda path: str(path.relative_to(BASE_DIR)))
def test_modules_stay_small(path):
    assert len(path.read_text(encoding="utf-8").splitlines()) <= MAX_LINES


def imported_modules(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


def test_search_never_imports_subscriptions():
    importers = [
        str(path.relative_to(BASE_DIR))
        for path in modules("search")
        if any(name.split(".")[0] == "subscriptions" for name in imported_modules(path))
    ]

    assert importers == []
