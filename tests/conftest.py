"""Shared fixtures: isolated settings, the packaged catalog, databases on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.config import env_names
from intents.catalog import PACKAGED_DIR
from intents.knowledge import KnowledgeBase
from intents.multilingual import UseMultilingualEncoder
from intents.semantic import EmbeddingCache, SemanticUnavailable
from storage.db import Database
from storage.models import Base
from tests.chat import Chat, Stores, memory_stores, sql_stores
from tests.databases import PostgresUnreachable, fresh_postgres, unavailable
from tests.fakes.telegram_api import FakeBotApi

BACKENDS = ["sqlite", "postgresql"]
MATCHERS = ["lexical", "semantic"]


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's environment, `.env` or `./var`."""
    for name in env_names():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache of example embeddings for the whole session (and its subprocesses)."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session")
def encoder(cache_dir: Path) -> UseMultilingualEncoder:
    """The sentence-embedding model of the semantic matcher."""
    try:
        return UseMultilingualEncoder(cache_dir)
    except SemanticUnavailable as exc:
        unavailable(str(exc))


@pytest.fixture(scope="session")
def knowledge_semantic(encoder: UseMultilingualEncoder, cache_dir: Path) -> KnowledgeBase:
    """The packaged catalog with the semantic matcher (fills the session's cache)."""
    return KnowledgeBase(PACKAGED_DIR, encoder, EmbeddingCache(cache_dir))


@pytest.fixture(scope="session", params=MATCHERS)
def knowledge(request: pytest.FixtureRequest) -> KnowledgeBase:
    """The packaged catalog, with the default (lexical) and the semantic matcher in turn."""
    if request.param == "lexical":
        return KnowledgeBase(PACKAGED_DIR)
    semantic: KnowledgeBase = request.getfixturevalue("knowledge_semantic")
    return semantic


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session, dropped afterwards.

    Without a server the PostgreSQL tests are skipped on a developer machine and fail in CI.
    """
    with contextlib.ExitStack() as stack:
        try:
            url = stack.enter_context(fresh_postgres("lingang_test"))
        except PostgresUnreachable as exc:
            unavailable(str(exc))
        database = Database(url)
        database.upgrade()
        database.dispose()
        yield url


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies instead of migrating again."""
    path = tmp_path_factory.mktemp("template") / "lingang.db"
    database = Database(f"sqlite:///{path}")
    database.upgrade()
    database.dispose()
    return path


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty, migrated database on each backend in turn."""
    db = _open(request, str(request.param), tmp_path)
    try:
        yield db
    finally:
        db.dispose()


def _open(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> Database:
    if backend == "sqlite":
        template: Path = request.getfixturevalue("_sqlite_template")
        path = tmp_path / "lingang.db"
        path.write_bytes(template.read_bytes())
        return Database(f"sqlite:///{path}")
    db = Database(request.getfixturevalue("postgres_url"))
    _truncate(db)
    return db


def _truncate(db: Database) -> None:
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    with db.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["memory", *BACKENDS])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    """The storage ports, in memory and on each database backend in turn."""
    if request.param == "memory":
        yield memory_stores()
        return
    db = _open(request, str(request.param), tmp_path)
    try:
        yield sql_stores(db)
    finally:
        db.dispose()


@pytest.fixture
def chat(knowledge: KnowledgeBase) -> Chat:
    """A conversation with the engine over in-memory stores."""
    return Chat.over(knowledge, memory_stores())


@pytest.fixture
def api() -> Iterator[FakeBotApi]:
    """A fake Telegram Bot API on 127.0.0.1 (`api.base_url` is TELEGRAM_API_BASE_URL)."""
    with FakeBotApi() as fake:
        yield fake


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests last: Playwright's sync API keeps an event loop running in the main
    thread while its browser is open, which the asyncio tests cannot share."""
    items.sort(key=lambda item: "tests/browser/" in item.nodeid)
