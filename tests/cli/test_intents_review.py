"""`lingang-bot intents check` warns about answers past their date or due for a check."""

from __future__ import annotations

from pathlib import Path

from tests.chat import copy_catalog
from tests.cli.commands import run
from tests.dated import id_line, set_dates

LEXICAL = {"LINGANG_MATCHER": "lexical"}


def test_check_warns_about_expired_overdue_and_due_answers(tmp_path: Path) -> None:
    directory = copy_catalog(tmp_path)
    basics = directory / "faq" / "lingang_basics.yaml"
    set_dates(basics, "lingang_name", reviewed="2026-06-01", valid_until="2026-12-01")
    set_dates(basics, "lingang_legal_basis", reviewed="2026-01-10", review_every="90")
    set_dates(basics, "lingang_location")
    set_dates(basics, "lingang_area", reviewed="2026-11-26", review_every="20")
    expired, overdue, never, soon = (
        id_line(basics, name)
        for name in ("lingang_name", "lingang_legal_basis", "lingang_location", "lingang_area")
    )

    result = run(
        "intents", "check", str(directory), "--today", "2026-12-06", env=LEXICAL, cwd=tmp_path
    )
    output, warnings = result.stdout.decode(), result.stderr.decode()
    assert result.returncode == 0, output + warnings
    assert output.startswith("ok: ")  # warnings do not fail the check
    assert (
        f"{basics}:{expired + 2}: warning: lingang_name: answer expired, valid until "
        "2026-12-01 (the bot adds a dated caveat)"
    ) in warnings
    assert (
        f"{basics}:{overdue + 1}: warning: lingang_legal_basis: answer overdue for review since "
        "2026-04-10 (reviewed 2026-01-10, every 90 days)"
    ) in warnings
    assert "warning: lingang_location: answer overdue for review, never reviewed" in warnings
    assert (
        f"{basics}:{never}: warning: lingang_location" in warnings
    )  # no date to point at: the intent itself
    assert (
        f"{basics}:{soon + 1}: warning: lingang_area: answer due for review by 2026-12-16 "
        "(reviewed 2026-11-26, every 20 days)"
    ) in warnings
    mine = ("lingang_name", "lingang_location", "lingang_legal_basis", "lingang_area")
    named = [line.split(": ")[2] for line in warnings.splitlines() if "warning: " in line]
    assert [intent for intent in named if intent in mine] == [
        "lingang_name",
        "lingang_location",
        "lingang_legal_basis",
        "lingang_area",
    ]


def test_a_coming_end_of_validity_is_warned_about_before_it_comes(tmp_path: Path) -> None:
    directory = copy_catalog(tmp_path)
    basics = directory / "faq" / "lingang_basics.yaml"
    set_dates(basics, "lingang_name", reviewed="2026-12-01", valid_until="2026-12-20")
    line = id_line(basics, "lingang_name")
    result = run(
        "intents", "check", str(directory), "--today", "2026-12-06", env=LEXICAL, cwd=tmp_path
    )
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    assert (
        f"{basics}:{line + 2}: warning: lingang_name: answer valid until 2026-12-20, "
        "review it before"
    ) in result.stderr.decode()
    later = run(
        "intents", "check", str(directory), "--today", "2026-11-01", env=LEXICAL, cwd=tmp_path
    )
    assert "lingang_name" not in later.stderr.decode()


def test_check_rejects_a_day_that_is_not_a_date(tmp_path: Path) -> None:
    result = run("intents", "check", "--today", "next week", env=LEXICAL, cwd=tmp_path)
    assert result.returncode == 2
    assert "--today" in result.stderr.decode()
