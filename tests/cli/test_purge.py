"""`lingang-bot leads purge`: once the retention has passed, nothing about a prospect is left
in any table (what `serve` also does once a day)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import update

from storage.db import Database
from storage.models import Base, UtcDateTime
from tests.cli.commands import out_lines, run
from tests.cli.test_leads_cli import FORM

LONG_AGO = datetime.now(UTC) - timedelta(days=400)


def age_everything(folder: Path) -> None:
    """Move every timestamp of every row in the folder's database back 400 days."""
    database = Database(f"sqlite:///{folder / 'var' / 'lingang.db'}")
    try:
        with database.transaction() as session:
            for table in Base.metadata.sorted_tables:
                stamps = {
                    c.name: LONG_AGO for c in table.columns if isinstance(c.type, UtcDateTime)
                }
                if stamps:
                    session.execute(update(table).values(stamps))
    finally:
        database.dispose()


def mydata(folder: Path) -> str:
    """What /mydata tells the prospect."""
    result = run("chat", "--jsonl", "--user", "ann", stdin="/mydata\n", cwd=folder)
    [answer] = (json.loads(line) for line in out_lines(result))
    return str(answer["replies"][0]["text"])


def test_after_the_retention_the_purge_leaves_nothing_about_the_prospect(tmp_path: Path) -> None:
    said = [*FORM, "what does a zorblax cost on mars?"]
    made = run("chat", "--jsonl", "--user", "ann", stdin="\n".join(said) + "\n", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    age_everything(tmp_path)
    purged = run("leads", "purge", cwd=tmp_path)
    assert purged.returncode == 0, purged.stderr
    assert "1 leads" in purged.stdout.decode()
    assert "Nothing is stored about you" in mydata(tmp_path)
