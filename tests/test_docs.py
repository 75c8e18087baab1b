"""The README tells the truth: its commands are CI's, its tables match the code."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from bot.config import env_names
from tests.cli.test_cli import all_commands

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    """The README text under the `## title` heading."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.M | re.S)
    assert match, f"README has no section {title!r}"
    return match.group(1)


def setup_commands() -> list[str]:
    block = re.search(r"```sh\n(.*?)```", section("Set-up: two commands"), re.S)
    assert block
    return [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_readme_gives_exactly_two_setup_commands() -> None:
    assert setup_commands() == ["make run", "make test"]


def test_ci_runs_the_readmes_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    commands = [
        line.strip() for line in ci.splitlines() if line.strip() and not line.startswith("#")
    ]
    assert commands[-1] == setup_commands()[1]


def test_makefile_test_target_runs_linters_types_and_pytest() -> None:
    dry_run = subprocess.run(
        ["make", "-n", "-W", "pyproject.toml", "test"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    for tool in ("ruff check", "ruff format --check", "mypy", "pytest"):
        assert tool in dry_run


def test_readme_run_command_chats_with_the_bot(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in env_names() and k != "MAKEFLAGS"}
    result = subprocess.run(
        setup_commands()[0].split(),
        cwd=ROOT,
        input="where is Lingang?\n",
        capture_output=True,
        text=True,
        env={**env, "LINGANG_DATA_DIR": str(tmp_path)},
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Pudong" in result.stdout
    assert (tmp_path / "lingang.db").exists()


def test_settings_table_lists_exactly_the_settings_in_the_code() -> None:
    rows = re.findall(r"^\| `([A-Z_]+)` \|", section("Settings"), re.M)
    assert rows == env_names()


@pytest.mark.parametrize("path", [p for p in all_commands() if p], ids=" ".join)
def test_every_command_is_documented(path: tuple[str, ...]) -> None:
    assert f"`lingang-bot {' '.join(path)}" in README
