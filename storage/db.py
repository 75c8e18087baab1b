"""Connecting to the database: engine options per backend, sessions, schema migrations.

SQLite (the embedded default) runs in WAL mode with a busy timeout and takes the write lock
at the start of each transaction, so concurrent writers wait instead of failing. A PostgreSQL
connection idle for a while is pinged before use, so a restarted server costs no failed request
(one in steady use is not: a ping is a round trip, and pinging every checkout cost a quarter of a
replica's database time under load).

`Database.unit` runs everything inside it in one transaction: the stores' own transactions join
it. A message's turn (the conversation, its records, the inbox) is one unit, so it costs one
commit instead of six (bench/load.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

from bot.core.ports import OutOfRange, StorageUnavailable, UnitFailed

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000
CONNECT_TIMEOUT_S = 5
# A pooled connection unused for longer than this is pinged before it is used again.
PING_AFTER_IDLE_S = 2.0


class SchemaOutOfDate(Exception):
    """The database's schema is older than this code; `lingang-bot db upgrade` fixes it."""


def is_sqlite(url: URL) -> bool:
    """Whether `url` names an SQLite database."""
    return url.get_backend_name() == "sqlite"


def create_db_engine(url: str | URL) -> Engine:
    """An engine configured for the backend `url` names."""
    parsed = make_url(url)
    if is_sqlite(parsed):
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed)
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    connect_args: dict[str, Any] = {}
    if parsed.get_backend_name() == "postgresql":
        connect_args["connect_timeout"] = CONNECT_TIMEOUT_S
    engine = create_engine(parsed, connect_args=connect_args)
    event.listen(engine, "checkin", _note_checkin)
    event.listen(engine, "checkout", _ping_if_idle)
    return engine


def _note_checkin(_dbapi: Any, record: ConnectionPoolEntry) -> None:
    record.info["checked_in"] = time.monotonic()


def _ping_if_idle(dbapi: Any, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection) -> None:
    """SQLAlchemy's documented custom pre-ping: a connection idle for a while may have lost its
    server (a restart); `DisconnectionError` makes the pool replace it and try again."""
    if time.monotonic() - record.info.get("checked_in", 0.0) < PING_AFTER_IDLE_S:
        return
    try:
        cursor = dbapi.cursor()
        try:
            cursor.execute("SELECT 1")
        finally:
            cursor.close()
        dbapi.rollback()
    except Exception as exc:  # any failure means the connection cannot be used
        raise DisconnectionError(str(exc)) from exc


def _sqlite_on_connect(dbapi_connection: Any, _record: object) -> None:
    # pysqlite's own transaction handling is bypassed so that BEGIN is ours (see below).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_on_begin(connection: Connection) -> None:
    # IMMEDIATE takes the write lock up front: a read-then-write transaction can then never
    # fail with SQLITE_BUSY half-way; it waits up to the busy timeout instead.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _reason(exc: DBAPIError) -> str:
    """The driver's message on one line."""
    return " ".join(str(exc.orig).split())


def unreachable(exc: Exception) -> bool:
    """Whether a database error means the server could not be used at all."""
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


@dataclass
class _Unit:
    database: Database
    session: Session
    failed: BaseException | None = None


# The unit the current thread (or task) is in, if any.
_CURRENT: ContextVar[_Unit | None] = ContextVar("lingang_unit", default=None)


class Database:
    """One database: its engine and short transactions on it."""

    def __init__(self, url: str | URL) -> None:
        self.url = make_url(url)
        self.engine = create_db_engine(self.url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def safe_url(self) -> str:
        """The URL with any password hidden, fit for messages."""
        return self.url.render_as_string(hide_password=True)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error.

        A database that cannot be reached raises `StorageUnavailable`. Inside a `unit`, the
        session is the unit's: committed with it.
        """
        unit = _CURRENT.get()
        if unit is not None and unit.database is self:
            yield from self._joined(unit)
            return
        try:
            with self._sessions.begin() as session:
                yield session
        except (DBAPIError, OverflowError) as exc:
            translated = self._translated(exc)
            if translated is exc:
                raise
            raise translated from exc

    def _joined(self, unit: _Unit) -> Iterator[Session]:
        """The unit's session for one store's transaction; after a failed statement every
        later one fails at once (the unit is rolled back at its end)."""
        if unit.failed is not None:
            raise UnitFailed(f"database {self.safe_url}: an earlier statement of the unit failed")
        try:
            yield unit.session
        except (DBAPIError, OverflowError) as exc:
            unit.failed = exc
            translated = self._translated(exc)
            if translated is exc:
                raise
            raise translated from exc

    def _translated(self, exc: DBAPIError | OverflowError) -> Exception:
        if isinstance(exc, DataError):  # PostgreSQL: a number or text its column cannot hold
            return OutOfRange(_reason(exc))
        if isinstance(exc, OverflowError):  # SQLite: an integer past 64 bits
            return OutOfRange(str(exc))
        if unreachable(exc):
            return StorageUnavailable(f"database {self.safe_url}: {_reason(exc)}")
        return exc

    @contextmanager
    def unit(self) -> Iterator[None]:
        """One transaction for every store's work inside, in this thread: committed at the
        end. When any statement in it failed (even one whose error a caller caught), or the
        commit did, it is rolled back as a whole and `UnitFailed` raised, so that the caller
        can do the work again without a unit. A unit inside a unit is the outer one."""
        if _CURRENT.get() is not None:
            yield
            return
        session = self._sessions()
        unit = _Unit(self, session)
        token = _CURRENT.set(unit)
        try:
            try:
                yield
            finally:
                _CURRENT.reset(token)
            if unit.failed is not None:
                raise UnitFailed(f"database {self.safe_url}: the unit was rolled back")
            try:
                session.commit()
            except (DBAPIError, OverflowError) as exc:
                raise UnitFailed(f"database {self.safe_url}: {self._translated(exc)}") from exc
        finally:
            session.close()  # rolls back whatever was not committed

    def ping(self) -> None:
        """Raise `StorageUnavailable` unless the database answers."""
        with self.transaction() as session:
            session.execute(text("SELECT 1"))

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    # -- schema ---------------------------------------------------------------------------

    def alembic_config(self) -> Config:
        """Alembic's configuration for this database (no alembic.ini needed)."""
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        # ConfigParser interpolates %, which URL escapes (%3D, passwords) contain.
        url = self.url.render_as_string(hide_password=False).replace("%", "%%")
        config.set_main_option("sqlalchemy.url", url)
        return config

    def schema_revisions(self) -> tuple[str | None, str | None]:
        """The revision the database is at, and the newest one this code knows."""
        head = ScriptDirectory.from_config(self.alembic_config()).get_current_head()
        try:
            with self.engine.connect() as connection:
                current = MigrationContext.configure(connection).get_current_revision()
        except DBAPIError as exc:
            if unreachable(exc):
                raise StorageUnavailable(f"database {self.safe_url}: {_reason(exc)}") from exc
            raise
        return current, head

    def upgrade(self) -> None:
        """Migrate the schema to the newest revision."""
        config = self.alembic_config()
        try:
            with self.engine.begin() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        except DBAPIError as exc:
            if unreachable(exc):
                raise StorageUnavailable(f"database {self.safe_url}: {_reason(exc)}") from exc
            raise

    def ensure_schema(self) -> None:
        """Make sure the schema is current: SQLite is migrated in place, others must be asked.

        PostgreSQL serves several replicas, so migrating is an explicit, single step there.
        """
        current, head = self.schema_revisions()
        if current == head:
            return
        if is_sqlite(self.url):
            log.info("migrating the SQLite database from %s to %s", current, head)
            self.upgrade()
            return
        raise SchemaOutOfDate(
            f"the database schema is at {current or 'nothing'}, this version needs {head}: "
            "run `lingang-bot db upgrade`"
        )
