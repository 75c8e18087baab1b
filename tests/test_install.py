"""`make run` installs only pyproject's `dependencies`: the product must run on them alone.

A package that only the `dev` or `bench` extras bring (scikit-learn, Playwright, pytest, ...) is
present in the test venv, so a product module importing one would pass every other test and
then fail, or quietly behave differently, in the runtime install and the image. These tests read
the dev-only distributions from pyproject.toml and the installed metadata, and look for their
modules in the product's source (imports inside functions included) and in `sys.modules` after
importing every product module.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import tomllib
from collections.abc import Iterable
from functools import cache
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("bot", "intents", "storage")
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
NAME = canonicalize_name(PROJECT["name"])

# Every product module, imported in a fresh interpreter; the migrations are left out (Alembic
# runs them, and importing env.py runs a migration). Prints the top-level modules loaded.
PROBE = """
import importlib, json, pkgutil, sys
for root in sys.argv[1:]:
    package = importlib.import_module(root)
    for found in pkgutil.walk_packages(package.__path__, root + "."):
        if not found.name.startswith("storage.migrations"):
            importlib.import_module(found.name)
print(json.dumps(sorted({name.partition(".")[0] for name in sys.modules})))
"""


def _closure(requirements: Iterable[str]) -> set[str]:
    """The canonical names of the distributions `requirements` install, dependencies included
    (the project's own extras read from pyproject.toml, the others' from their metadata)."""
    found: set[str] = set()
    expanded: set[tuple[str, str]] = set()  # (distribution, extra) whose requirements are queued
    pending = [(Requirement(text), "") for text in requirements]
    while pending:
        requirement, extra = pending.pop()
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": extra}):
            continue
        name = canonicalize_name(requirement.name)
        if name == NAME:
            for wanted in sorted(requirement.extras):
                pending += [(Requirement(t), "") for t in PROJECT["optional-dependencies"][wanted]]
            continue
        found.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:  # not for this platform (its marker said so)
            continue
        for wanted in {"", *requirement.extras} - {e for n, e in expanded if n == name}:
            expanded.add((name, wanted))
            pending += [(Requirement(text), wanted) for text in requires]
    return found


@cache
def dev_only_modules() -> frozenset[str]:
    """Top-level modules whose every distribution comes only with the `dev`/`bench` extras."""
    runtime = _closure(PROJECT["dependencies"])
    extras = PROJECT["optional-dependencies"]
    dev_only = _closure(t for group in ("dev", "bench") for t in extras[group]) - runtime
    return frozenset(
        module
        for module, distributions in metadata.packages_distributions().items()
        if all(canonicalize_name(d) in dev_only for d in distributions)
    )


def test_the_dev_only_set_is_read_from_the_extras() -> None:
    # What a light install leaves out (the checks below would pass on an empty set).
    modules = dev_only_modules()
    assert {"sklearn", "scipy", "playwright", "pytest", "hypothesis", "mypy"} <= modules
    # ... and what it keeps, even where a dev package needs it too.
    assert not {"numpy", "typing_extensions", "sqlalchemy", "threadpoolctl", "bot"} & modules


def _imports(path: Path) -> set[str]:
    """Top-level names of the absolute imports anywhere in a file (inside functions too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.partition(".")[0])
    return names


def test_no_product_source_imports_a_dev_only_package() -> None:
    violations = [
        f"{path.relative_to(ROOT)} imports {module}"
        for package in PRODUCT
        for path in sorted((ROOT / package).rglob("*.py"))
        for module in sorted(_imports(path) & dev_only_modules())
    ]
    assert violations == []


def loaded_by_importing(*roots: str) -> set[str]:
    """The top-level modules a fresh interpreter holds after importing all of `roots`."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *roots],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return set(json.loads(result.stdout))


def test_importing_the_product_loads_no_dev_only_package() -> None:
    # Dependencies' own imports too: a runtime library that picks a dev package up when present.
    assert sorted(loaded_by_importing(*PRODUCT) & dev_only_modules()) == []
