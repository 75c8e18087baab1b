"""`lingang-bot intents check` holds the catalog to its coverage of the sources."""

from __future__ import annotations

import shutil
from pathlib import Path

from intents.catalog import PACKAGED_DIR
from tests.chat import copy_catalog
from tests.cli.commands import run

LEXICAL = {"LINGANG_MATCHER": "lexical"}


def test_check_lists_what_answers_each_heading(tmp_path: Path) -> None:
    result = run("intents", "check", "--coverage", env=LEXICAL, cwd=tmp_path)
    output = result.stdout.decode()
    assert result.returncode == 0, output + result.stderr.decode()
    assert "    1.1 Names and legal basis: lingang_name, lingang_legal_basis" in output
    assert "0 uncovered, 0 stale" in output.splitlines()[-1]


def test_check_fails_on_a_heading_no_intent_answers(tmp_path: Path) -> None:
    directory = copy_catalog(tmp_path)
    shutil.copy(PACKAGED_DIR / "coverage.yaml", directory / "coverage.yaml")
    shutil.copytree(PACKAGED_DIR / "sources", directory / "sources")
    sheet = directory / "sources" / "lingang-facts.md"
    sheet.write_text(sheet.read_text(encoding="utf-8") + "\n### 6.1 Canteens\n- Two.\n", "utf-8")
    result = run("intents", "check", str(directory), env=LEXICAL, cwd=tmp_path)
    assert result.returncode == 1
    assert "heading '6.1 Canteens' is not in coverage.yaml" in result.stdout.decode()
