"""The schema: migrations match the models and run both ways on both backends."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, text

from bot.core.records import TranscriptEntry
from storage.db import Database, SchemaOutOfDate
from storage.repositories import SqlTranscriptLog
from tests.conftest import BACKENDS


@pytest.fixture(params=BACKENDS)
def blank(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database with no schema at all, on each backend in turn."""
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'blank.db'}")
        yield db
        db.dispose()
        return
    base = Database(request.getfixturevalue("postgres_url"))
    schema = f"blank_{uuid.uuid4().hex[:8]}"
    with base.engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    db = Database(base.url.update_query_dict({"options": f"-csearch_path={schema}"}))
    try:
        yield db
    finally:
        db.dispose()
        with base.engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        base.dispose()


def test_models_and_migrations_agree(blank: Database) -> None:
    blank.upgrade()
    command.check(blank.alembic_config())


def test_every_constraint_and_index_has_a_name(blank: Database) -> None:
    blank.upgrade()
    inspector = inspect(blank.engine)
    for table in inspector.get_table_names():
        for index in inspector.get_indexes(table):
            assert index["name"], table
        for unique in inspector.get_unique_constraints(table):
            assert unique["name"], table
        for foreign in inspector.get_foreign_keys(table):
            assert foreign["name"], table


def test_downgrade_and_upgrade_again_keeps_the_schema(blank: Database) -> None:
    blank.upgrade()
    command.downgrade(blank.alembic_config(), "base")
    assert set(inspect(blank.engine).get_table_names()) <= {"alembic_version"}
    blank.upgrade()
    command.check(blank.alembic_config())


def test_fresh_sqlite_file_is_migrated_on_first_use(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'new' / 'lingang.db'}")
    try:
        db.ensure_schema()
        current, head = db.schema_revisions()
        assert current == head
        entry = TranscriptEntry("test", "c1", "u1", "in", "hi", datetime(2026, 1, 1, tzinfo=UTC))
        SqlTranscriptLog(db).append([entry])
        assert SqlTranscriptLog(db).conversation("test", "c1") == [entry]
    finally:
        db.dispose()


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'lingang.db'}")
    try:
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        db.dispose()


def test_postgresql_behind_the_code_asks_for_an_explicit_upgrade(
    blank: Database,
) -> None:
    if blank.url.get_backend_name() == "sqlite":
        blank.ensure_schema()
        assert blank.schema_revisions()[0] is not None
        return
    with pytest.raises(SchemaOutOfDate, match="lingang-bot db upgrade"):
        blank.ensure_schema()
