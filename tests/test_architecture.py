"""The dependency rule between our packages, checked on the source and at import time."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

FORBIDDEN = {
    "bot/core": (
        "bot.adapters", "bot.web", "bot.app", "bot.cli", "bot.config", "storage",
        "telegram", "slack_bolt", "slack_sdk", "sqlalchemy", "alembic", "psycopg",
        "typer", "httpx", "fastapi", "starlette",
    ),
    "intents": ("bot", "storage"),
    "storage": (
        "bot.adapters", "bot.web", "bot.app", "bot.cli", "bot.config", "telegram", "slack_bolt",
    ),
    "bot/adapters": ("storage", "sqlalchemy", "bot.app", "bot.cli", "bot.channels", "bot.web"),
    # The channels drive a platform SDK; they reach storage only through the core's ports.
    "bot/channels": ("storage", "sqlalchemy", "bot.app", "bot.cli", "bot.web", "fastapi"),
    "bot/web": ("storage", "sqlalchemy", "bot.cli"),
}  # fmt: skip


def imported_modules(path: Path) -> set[str]:
    """Every module a source file imports, absolute names."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_only_what_the_rule_allows(package: str) -> None:
    violations = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for module in imported_modules(path)
        for banned in FORBIDDEN[package]
        if module == banned or module.startswith(f"{banned}.")
    ]
    assert violations == []


def test_importing_the_core_loads_no_sdk_or_sql() -> None:
    probe = (
        "import sys, bot.core.engine, bot.core.answers, bot.core.ports;"
        "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'sqlalchemy','telegram','slack_bolt','slack_sdk','storage','alembic','psycopg'})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert result.stdout.strip() == ""
