"""One catalog for every replica: an admin's reload on one replica is published in the database
and the others reload the shared files too; a catalog that does not load keeps the old one."""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import intents
from bot.app import App, build_app
from bot.catalog_sync import CatalogSync
from bot.config import Settings
from bot.web.app import create_app
from intents.knowledge import KnowledgeBase
from storage.db import Database
from storage.memory import MemoryCatalogVersions
from tests.web.conftest import BASE_URL, staff_client
from tests.web.test_chat import say, text_of

QUESTION = "how big is lingang?"
OLD = "119.5 km², covering"
NEW = "119.5 km² (as edited by an admin), covering"


@pytest.fixture
def shared_folder(tmp_path: Path) -> Path:
    """A copy of the packaged catalog: the folder every replica reads (a shared volume)."""
    copy = tmp_path / "catalog"
    packaged = Path(intents.__file__).parent
    shutil.copytree(packaged, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def edit_answer(folder: Path) -> None:
    """Change the answer about Lingang's size in the files (not yet reloaded anywhere)."""
    path = folder / "faq" / "lingang_basics.yaml"
    text = path.read_text(encoding="utf-8")
    assert OLD in text
    path.write_text(text.replace(OLD, NEW), encoding="utf-8")


def replica(database: Database, folder: Path, data: Path) -> App:
    """One replica's wired app: its own data folder, the shared database and catalog files."""
    return build_app(
        Settings(
            _env_file=None,
            LINGANG_DATA_DIR=data,
            LINGANG_DATABASE_URL=database.url.render_as_string(hide_password=False),
            LINGANG_MATCHER="lexical",
            LINGANG_INTENTS_DIR=folder,
            LINGANG_CATALOG_POLL_SECONDS=1,
        )
    )


@pytest.fixture
def replicas(database: Database, shared_folder: Path, tmp_path: Path) -> Iterator[list[App]]:
    """Two replicas over one database (each backend in turn) and one catalog folder."""
    apps = [replica(database, shared_folder, tmp_path / name) for name in ("a", "b")]
    try:
        yield apps
    finally:
        for app in apps:
            app.close()


def test_a_reload_on_one_replica_is_served_by_the_other(
    replicas: list[App], shared_folder: Path
) -> None:
    first, second = replicas
    with (
        TestClient(create_app(first), base_url=BASE_URL, follow_redirects=False) as admin,
        TestClient(create_app(second), base_url=BASE_URL) as visitor,
    ):
        csrf = staff_client(first, admin, "admin")
        assert OLD in text_of(say(visitor, QUESTION))
        edit_answer(shared_folder)

        assert admin.post("/admin/intents/reload", data={"csrf": csrf}).status_code == 303

        published = first.storage.catalogs.latest()
        assert published is not None
        assert published.published_by == "admin@example.com"
        assert admin.get("/readyz").json()["catalog_version"] == published.version
        deadline = time.monotonic() + 10  # the second follows within its poll (1 s here)
        while visitor.get("/readyz").json()["catalog_version"] != published.version:
            assert time.monotonic() < deadline, "the second replica never followed"
            time.sleep(0.1)
        assert NEW in text_of(say(visitor, QUESTION))
        assert visitor.get("/readyz").json()["catalog"] == published.digest
    assert second.catalog.follow() is False, "nothing newer: no second reload"


# -- following, one replica at a time ------------------------------------------------------


@pytest.fixture
def follower(shared_folder: Path) -> tuple[KnowledgeBase, MemoryCatalogVersions, CatalogSync]:
    knowledge, versions = KnowledgeBase(shared_folder), MemoryCatalogVersions()
    return knowledge, versions, CatalogSync(knowledge, versions)


def test_a_replica_already_serving_the_published_files_does_not_reload(
    follower: tuple[KnowledgeBase, MemoryCatalogVersions, CatalogSync],
) -> None:
    knowledge, versions, sync = follower
    serving = knowledge.current
    published = versions.publish(serving.catalog.fingerprint, "admin@example.com", _now())
    assert sync.follow() is False
    assert knowledge.current is serving
    assert sync.version == published.version


def test_a_published_catalog_that_does_not_load_here_keeps_the_old_one(
    follower: tuple[KnowledgeBase, MemoryCatalogVersions, CatalogSync],
    shared_folder: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    knowledge, versions, sync = follower
    serving = knowledge.current
    path = shared_folder / "faq" / "lingang_basics.yaml"
    good = path.read_text(encoding="utf-8")
    path.write_text(good.replace("reviewed:", "reviewd:", 1), encoding="utf-8")
    versions.publish("0123456789abcdef", "admin@example.com", _now())

    with caplog.at_level(logging.WARNING, logger="bot.catalog_sync"):
        assert sync.follow() is False
        assert sync.follow() is False
    assert knowledge.current is serving
    assert sync.version is None
    assert len([r for r in caplog.records if "does not load" in r.getMessage()]) == 1

    path.write_text(good, encoding="utf-8")
    assert sync.follow() is True, "tried again until the files load"


def test_files_that_differ_from_the_published_ones_are_reported(
    follower: tuple[KnowledgeBase, MemoryCatalogVersions, CatalogSync],
    shared_folder: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, versions, sync = follower
    edit_answer(shared_folder)  # what the admin's replica had...
    versions.publish("0123456789abcdef", "admin@example.com", _now())  # ...is not what is here

    with caplog.at_level(logging.WARNING, logger="bot.catalog_sync"):
        assert sync.follow() is True
    assert any("shared by every replica" in r.getMessage() for r in caplog.records)
    assert sync.follow() is False, "warned once, not reloaded on every poll"


def _now() -> datetime:
    return datetime.now(UTC)
