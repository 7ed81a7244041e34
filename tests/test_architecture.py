"""The shape of the code (DESIGN.md section 2, issue 12): one-way imports, small modules.

The import graph is read from the source with ``ast``: every ``import`` and ``from … import`` of a
project module counts, at module level or inside a function, since an import inside a function is
still a dependency (it only moves the moment it is paid).
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[1]
APPS = ("portal", "employers", "enrollment", "contributions")
# Apps depend one way: portal ← employers ← enrollment ← contributions.
LAYER = {"portal": 0, "employers": 1, "enrollment": 2, "contributions": 3}
# Only the top of the project may import every app: URLs, settings, the Celery app, the
# dashboard and the layout's menus, and operator commands that span apps (seed_demo).
TOP = {
    "portal.urls",
    "portal.settings",
    "portal.celery",
    "portal.views",
    "portal.dashboard",  # the workbench's attention list reads every app
    "portal.errors",  # handler500: answers /healthz with the health view when the database fails
    "portal.context_processors",
    "portal.navigation",
    "portal.management.commands.seed_demo",
}
# The yearly contribution policy is reference data low in the order: enrollment may read it.
LOW_REFERENCE = {"contributions.policy.reference"}
# What a model module may reach: other models and the field helpers they are built from (and
# portal.choices_display, the mixin that prints a field's choice label from a stored dict).
MODEL_HELPERS = {"portal.crypto", "portal.identifiers", "portal.choices_display"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(BASE_DIR).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    found = {}
    for app in APPS:
        for path in (BASE_DIR / app).rglob("*.py"):
            if "migrations" not in path.parts:
                found[module_name(path)] = path
    return found


@cache
def imports_of(name: str) -> frozenset[str]:
    """Project modules ``name`` imports, anywhere in its source."""
    known = modules()
    out = set()
    for node in ast.walk(ast.parse(known[name].read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] in APPS:
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    out.add(full if full in known else node.module)
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.split(".")[0] in APPS}
    # Importing a.b.c runs a/__init__ and a/b/__init__ too.
    with_parents = set()
    for target in out:
        parts = target.split(".")
        with_parents |= {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
    return frozenset(m for m in with_parents if m in known and m != name)


def reach(name: str, *, through_packages: bool = True) -> set[str]:
    """Every project module ``name`` depends on, directly or not."""
    seen, stack = set(), [name]
    while stack:
        for target in imports_of(stack.pop()):
            if target in seen or (not through_packages and is_package(target)):
                continue
            seen.add(target)
            stack.append(target)
    return seen


def is_model_module(name: str) -> bool:
    return name.endswith(".models") or ".models." in name


def is_package(name: str) -> bool:
    return modules()[name].name == "__init__.py"


def test_the_graph_sees_the_project():
    assert len(modules()) > 150
    for package in ("contributions", "contributions.policy"):
        assert not modules()[package].read_text().strip(), f"{package}/__init__.py must stay empty"
    assert "contributions.policy.reference" in imports_of("enrollment.rules")


def test_model_modules_reach_no_service_module():
    """Models hold data; what a decision does lives in the features (registered hooks)."""
    for name in modules():
        if not is_model_module(name):
            continue
        reached = reach(name)
        wrong = sorted(
            target
            for target in reached
            if not (is_model_module(target) or target in MODEL_HELPERS or is_package(target))
        )
        assert not wrong, f"{name} reaches {wrong}"


def test_apps_import_one_way():
    # Enrollment may read the policy reference, and so the models that it reads.
    reference = set().union(*(reach(name) | {name} for name in LOW_REFERENCE))
    reference |= {"contributions", "contributions.policy"}  # its packages (empty __init__ files)
    wrong = []
    for name in modules():
        if name in TOP:
            continue
        layer = LAYER[name.split(".")[0]]
        for target in imports_of(name):
            if LAYER[target.split(".")[0]] > layer and target not in reference:
                wrong.append(f"{name} -> {target}")
    assert not wrong, "imports against the app order:\n" + "\n".join(sorted(wrong))


def test_portal_base_modules_import_no_app():
    for name in modules():
        if name.split(".")[0] != "portal" or name in TOP:
            continue
        apps = sorted({t for t in reach(name) if t.split(".")[0] != "portal" and not is_package(t)})
        assert not apps, f"{name} reaches {apps}"


def test_the_policy_reference_imports_neither_enrollment_nor_other_features():
    for name in LOW_REFERENCE:
        wrong = sorted(
            target
            for target in reach(name)
            if target.split(".")[0] in ("employers", "enrollment")
            or (target.startswith("contributions.") and not is_model_module(target))
            and not is_package(target)
        )
        assert not wrong, f"{name} reaches {wrong}"


def test_no_import_circle_passes_through_a_model_module():
    for name in modules():
        if is_model_module(name):
            # A models package imports its own modules; a circle through anything else counts.
            assert name not in reach(name, through_packages=False), f"{name} comes back to itself"


def test_every_review_hook_module_has_the_conventional_name():
    """Hooks live in <feature>/review.py and are registered from the app's AppConfig.ready()."""
    hook_modules = {
        name for name in modules() if name.endswith(".review") and name != "portal.review"
    }
    assert hook_modules >= {
        "employers.registration.review",
        "employers.unitinfo.review",
        "enrollment.add.review",
        "enrollment.removal.review",
        "contributions.declarations.review",
    }
    for name in hook_modules:
        apps_module = name.split(".")[0] + ".apps"
        assert name in imports_of(apps_module), f"{apps_module} does not register {name}"


def test_no_app_module_is_over_700_lines():
    long = {
        name: lines
        for name, path in modules().items()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > 700
    }
    assert not long


def test_contributions_holds_at_most_12_python_files_at_its_top():
    top = sorted(p.name for p in (BASE_DIR / "contributions").glob("*.py"))
    assert len(top) <= 12, top


def test_only_portal_pdf_builds_paragraphs():
    """reportlab reads Paragraph text as markup: every PDF goes through portal.pdf's escaping."""
    builders = []
    for name, path in modules().items():
        if name == "portal.pdf":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Paragraph":
                builders.append(f"{name}:{node.lineno}")
    assert not builders
