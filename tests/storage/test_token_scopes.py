"""Migration 0008 on both backends: tokens made before scopes read the leads, as they did; a
scope outside the known ones is refused by the database; a downgrade drops the tokens that
would otherwise read the leads without their scope."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from storage.db import Database
from storage.staff import SqlStaff
from tests.storage.test_migrations import blank

__all__ = ["blank"]  # the fixture: a database with no schema, on each backend

INSERT = (
    "INSERT INTO api_tokens (name, token_hash, created_at, created_by{col}) "
    "VALUES (:name, :hash, CURRENT_TIMESTAMP, 'test'{val})"
)


def insert(db: Database, name: str, scope: str | None = None) -> None:
    extra = {"col": ", scope", "val": ", :scope"} if scope else {"col": "", "val": ""}
    with db.engine.begin() as connection:
        connection.execute(
            text(INSERT.format(**extra)), {"name": name, "hash": f"{name:x<64}", "scope": scope}
        )


def test_tokens_made_before_scopes_read_the_leads(blank: Database) -> None:
    command.upgrade(blank.alembic_config(), "0007")
    insert(blank, "crm")
    command.upgrade(blank.alembic_config(), "head")
    [token] = SqlStaff(blank).tokens()
    assert (token.name, token.scope) == ("crm", "leads:read")


def test_the_database_refuses_an_unknown_scope(blank: Database) -> None:
    blank.upgrade()
    with pytest.raises(IntegrityError):
        insert(blank, "odd", "everything")
    insert(blank, "automation", "catalog:admin")
    assert [t.scope for t in SqlStaff(blank).tokens()] == ["catalog:admin"]


def test_a_downgrade_drops_the_catalog_tokens(blank: Database) -> None:
    blank.upgrade()
    insert(blank, "crm", "leads:read")
    insert(blank, "automation", "catalog:admin")
    command.downgrade(blank.alembic_config(), "0007")
    with blank.engine.connect() as connection:
        names = connection.execute(text("SELECT name FROM api_tokens")).scalars().all()
    assert names == ["crm"]
