"""SQLite on one host: concurrent writers wait for each other instead of failing."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

from bot.core.records import TranscriptEntry
from storage.db import Database
from storage.repositories import SqlTranscriptLog


def test_concurrent_writers_get_no_database_is_locked(tmp_path: Path) -> None:
    writers, rows = 6, 60
    db = Database(f"sqlite:///{tmp_path / 'lingang.db'}")
    db.ensure_schema()
    log = SqlTranscriptLog(db)
    errors: list[Exception] = []
    at = datetime(2026, 11, 26, tzinfo=UTC)

    def write(writer: int) -> None:
        try:
            for row in range(rows):
                log.append([TranscriptEntry("test", f"c{writer}", "u", "in", str(row), at)])
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        total = sum(len(log.conversation("test", f"c{n}")) for n in range(writers))
        assert total == writers * rows
    finally:
        db.dispose()
