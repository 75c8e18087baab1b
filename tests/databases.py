"""Fresh databases on the test PostgreSQL server (`LINGANG_TEST_POSTGRES_URL`)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

POSTGRES_ADMIN_URL = os.environ.get(
    "LINGANG_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


class PostgresUnreachable(Exception):
    """The test PostgreSQL server does not answer."""


def unavailable(message: str) -> NoReturn:
    """Fail in CI, where the service must be there; skip on a developer machine."""
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def fresh_postgres(prefix: str) -> Iterator[str]:
    """A new, empty database named `prefix_<random>`; its URL; dropped (connections and all)
    afterwards. Raises `PostgresUnreachable` when the server does not answer."""
    admin_url = make_url(POSTGRES_ADMIN_URL)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        raise PostgresUnreachable(
            f"PostgreSQL at {admin_url.render_as_string()} is not reachable: {exc.orig}"
        ) from exc
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
