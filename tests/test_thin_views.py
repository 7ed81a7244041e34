"""Views stay thin: no view module reads a model itself; reads go through the selectors.

Every views module of the apps (``views.py`` and ``*_views.py``) is parsed with ``ast``; a use of
a model manager (``Model.objects``) or of ``get_object_or_404`` / ``get_list_or_404`` is an
error unless the function or class holding it is in ALLOWED, with the reason it cannot move.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("employers", "enrollment", "contributions", "portal")
MANAGERS = {"objects", "_default_manager", "_base_manager"}
SHORTCUTS = {"get_object_or_404", "get_list_or_404"}

# (module, enclosing function or class) -> why its read stays in the view.
ALLOWED = {
    ("portal/views.py", "dev_outbox"): (
        "DEBUG-only developer page listing the notification outbox: no agent, no unit data to scope"
    ),
}


def views_modules() -> list[Path]:
    found = set()
    for app in APPS:
        for pattern in ("views.py", "*_views.py"):
            found.update(
                path for path in (ROOT / app).rglob(pattern) if "migrations" not in path.parts
            )
    return sorted(found)


class _ReadFinder(ast.NodeVisitor):
    def __init__(self):
        self.scope: list[str] = []
        self.found: list[tuple[str, int, str]] = []

    def _enter(self, node):
        self.scope.append(node.name)
        self.generic_visit(node)
        self.scope.pop()

    visit_ClassDef = visit_FunctionDef = visit_AsyncFunctionDef = _enter

    def _note(self, node, what: str):
        # The outermost function or class names the view (a method belongs to its class).
        self.found.append((self.scope[0] if self.scope else "<module>", node.lineno, what))

    def visit_Attribute(self, node):
        if node.attr in MANAGERS:
            self._note(node, f"{ast.unparse(node)}")
        elif node.attr in SHORTCUTS:
            self._note(node, node.attr)
        self.generic_visit(node)

    def visit_Name(self, node):
        if node.id in SHORTCUTS:
            self._note(node, node.id)

    def visit_ImportFrom(self, node):
        for alias in node.names:
            if alias.name in SHORTCUTS:
                self._note(node, f"import {alias.name}")


def direct_reads(source: str) -> list[tuple[str, int, str]]:
    """(enclosing view, line, what) of every manager or 404-shortcut use in the source."""
    finder = _ReadFinder()
    finder.visit(ast.parse(source))
    return finder.found


def test_views_modules_are_found():
    names = {path.relative_to(ROOT).as_posix() for path in views_modules()}
    assert {"portal/views.py", "contributions/exports/views.py", "employers/agents/views.py"} <= (
        names
    )
    assert len(names) >= 15


def test_the_check_sees_managers_and_404_shortcuts():
    source = (
        "from django.shortcuts import get_object_or_404\n"
        "class V:\n"
        "    def get(self):\n"
        "        return Bill.objects.filter(pk=1), get_object_or_404(Bill, pk=1)\n"
        "def f(bill):\n"
        "    return type(bill)._default_manager.all()\n"
    )
    assert [(view, what) for view, _line, what in direct_reads(source)] == [
        ("<module>", "import get_object_or_404"),
        ("V", "Bill.objects"),
        ("V", "get_object_or_404"),
        ("f", "type(bill)._default_manager"),
    ]


@pytest.mark.parametrize(
    "path", views_modules(), ids=lambda path: path.relative_to(ROOT).as_posix()
)
def test_views_read_only_through_selectors(path):
    module = path.relative_to(ROOT).as_posix()
    offending = [
        f"{module}:{line} {view}: {what}"
        for view, line, what in direct_reads(path.read_text(encoding="utf-8"))
        if (module, view) not in ALLOWED
    ]
    assert not offending, "move these reads into a selector taking the agent:\n" + "\n".join(
        offending
    )


def test_allow_list_has_no_stale_entries():
    used = {
        (path.relative_to(ROOT).as_posix(), view)
        for path in views_modules()
        for view, _line, _what in direct_reads(path.read_text(encoding="utf-8"))
    }
    assert set(ALLOWED) <= used, f"no longer needed: {sorted(set(ALLOWED) - used)}"
