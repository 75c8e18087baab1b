"""One catalog for every replica on any host: a change on one replica is a revision in the
database, served by the others with no shared folder; the shipped files seed an empty
database; a revision that does not load keeps the old catalog; two admins editing one intent
at once: one wins, the other is told."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.app import App, build_app
from bot.catalog_edits import CatalogEditor, EditConflict
from bot.catalog_sync import CatalogRefused, CatalogSync
from bot.config import Settings
from bot.core.ports import CatalogRevision, RevisionMeta
from bot.web.app import create_app
from intents.drafts import etag, faq_intents
from intents.knowledge import KnowledgeBase
from intents.snapshot import read_files
from storage.db import Database
from storage.memory import MemoryCatalogRevisions
from tests.chat import copy_catalog
from tests.web.conftest import BASE_URL, staff_client
from tests.web.test_chat import say, text_of

QUESTION = "how big is lingang?"
OLD = "119.5 km², covering"
NEW = "119.5 km² (as edited by an admin), covering"


def edit_answer(folder: Path) -> None:
    """Change the answer about Lingang's size in the files (not yet imported anywhere)."""
    path = folder / "faq" / "lingang_basics.yaml"
    text = path.read_text(encoding="utf-8")
    assert OLD in text
    path.write_text(text.replace(OLD, NEW), encoding="utf-8")


def replica(database: Database, folder: Path, data: Path) -> App:
    """One replica's wired app: its own data and intents folders, the shared database."""
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
def replicas(database: Database, tmp_path: Path) -> Iterator[list[App]]:
    """Two replicas over one database (each backend in turn), each with its own folders."""
    apps = [
        replica(database, copy_catalog(tmp_path / f"intents-{name}"), tmp_path / name)
        for name in ("a", "b")
    ]
    try:
        yield apps
    finally:
        for app in apps:
            app.close()


def wait_for_version(replica: App, version: int) -> None:
    deadline = time.monotonic() + 10  # the replica follows within its poll (1 s here)
    while replica.catalog.version != version:
        assert time.monotonic() < deadline, "the replica never followed"
        time.sleep(0.1)


def test_the_files_reloaded_on_one_replica_are_served_by_the_other_without_a_shared_folder(
    replicas: list[App],
) -> None:
    first, second = replicas
    assert first.catalog.version == second.catalog.version == 1, "one seed for both"
    with (
        TestClient(create_app(first), base_url=BASE_URL, follow_redirects=False) as admin,
        TestClient(create_app(second), base_url=BASE_URL) as visitor,
    ):
        csrf = staff_client(first, admin, "admin")
        assert OLD in text_of(say(visitor, QUESTION))
        edit_answer(first.settings.intents_dir)  # only the first replica's folder

        assert admin.post("/admin/intents/reload", data={"csrf": csrf}).status_code == 303

        latest = first.storage.catalogs.latest()
        assert latest is not None
        assert (latest.number, latest.actor, latest.kind) == (2, "admin@example.com", "import")
        assert [(c.kind, c.subject) for c in latest.changes] == [("edited", "lingang_area")]
        assert first.catalog.version == latest.number
        wait_for_version(second, latest.number)
        assert NEW in text_of(say(visitor, QUESTION))
        assert OLD in (second.settings.intents_dir / "faq" / "lingang_basics.yaml").read_text()
    assert second.catalog.follow() is False, "nothing newer: no second reload"


def test_an_edit_survives_a_rebuilt_replica_that_ships_the_old_files(
    database: Database, tmp_path: Path
) -> None:
    folder = copy_catalog(tmp_path)
    first = replica(database, folder, tmp_path / "a")
    try:
        files = first.catalog.files()
        data = faq_intents(files)["lingang_area"].data
        edited = {**data, "answer": {**data["answer"], "en": data["answer"]["en"] + " Edited."}}
        first.editor.save("lingang_area", edited, etag(files, "lingang_area"), "a@example.com")
    finally:
        first.close()
    rebuilt = replica(database, folder, tmp_path / "fresh")  # a new container: empty cache
    try:
        assert rebuilt.catalog.version == 2
        catalog = rebuilt.knowledge.current.catalog
        assert catalog.intent("lingang_area").answer.en.endswith(" Edited.")
        built_from = catalog.directory
        assert built_from.is_relative_to(tmp_path / "fresh"), "the revision's private copy"
        assert rebuilt.catalog.follow() is False
        assert rebuilt.knowledge.current.catalog is catalog, "built once at start"
    finally:
        rebuilt.close()


def test_a_newest_revision_that_does_not_load_at_start_falls_back_to_the_shipped_files(
    database: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = copy_catalog(tmp_path)
    first = replica(database, folder, tmp_path / "a")
    try:
        files = first.catalog.files()
        broken = {**files, "faq/yangshan.yaml": "intents:\n  - id: Not An Id\n"}
        first.storage.catalogs.add(1, broken, RevisionMeta("newer release", _now(), "import"))
    finally:
        first.close()
    with caplog.at_level(logging.ERROR):
        second = replica(database, folder, tmp_path / "b")
    try:
        assert second.knowledge.current.catalog.directory == folder
        assert OLD in second.knowledge.current.catalog.intent("lingang_area").answer.en
        assert second.catalog.version is None
        assert any("does not load" in r.getMessage() for r in caplog.records)
    finally:
        second.close()


def test_two_admins_editing_one_intent_on_two_replicas_one_wins_the_other_is_told(
    replicas: list[App],
) -> None:
    first, second = replicas
    seen = etag(first.catalog.files(), "lingang_area")
    data = faq_intents(first.catalog.files())["lingang_area"].data

    def edited(text: str) -> dict[str, object]:
        return {**data, "answer": {**data["answer"], "en": text}}

    won = first.editor.save("lingang_area", edited("First admin's answer."), seen, "a@x.org")
    with pytest.raises(EditConflict) as refused:
        second.editor.save("lingang_area", edited("Second admin's answer."), seen, "b@x.org")

    assert refused.value.revision == won
    assert "a@x.org" in str(refused.value)
    assert second.catalog.version == won.number, "the loser now serves the winner's edit"
    assert second.knowledge.current.catalog.intent("lingang_area").answer.en == (
        "First admin's answer."
    )
    other = faq_intents(second.catalog.files())["lingang_history"].data
    changed = {**other, "tags": [*other.get("tags", []), "edited"]}
    seen_other = etag(first.catalog.files(), "lingang_history")  # opened before the first save
    kept = second.editor.save("lingang_history", changed, seen_other, "b@x.org")
    assert kept.number == won.number + 1, "an edit of another intent is not a conflict"
    assert first.catalog.follow() is True
    catalog = first.knowledge.current.catalog
    assert catalog.intent("lingang_area").answer.en == "First admin's answer."
    assert "edited" in catalog.intent("lingang_history").tags


def test_two_saves_of_one_intent_at_the_same_moment_on_two_replicas_land_once(
    replicas: list[App],
) -> None:
    seen = etag(replicas[0].catalog.files(), "lingang_area")
    data = faq_intents(replicas[0].catalog.files())["lingang_area"].data
    start = threading.Barrier(2)

    def save(app: App, text: str) -> str:
        edited = {**data, "answer": {**data["answer"], "en": text}}
        start.wait()
        try:
            app.editor.save("lingang_area", edited, seen, text)
        except EditConflict:
            return "told"
        return "saved"

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(save, replicas, ["Answer A.", "Answer B."]))

    assert sorted(results) == ["saved", "told"]
    latest = replicas[0].storage.catalogs.latest()
    assert latest is not None
    assert latest.number == 2
    winner = "Answer A." if results[0] == "saved" else "Answer B."
    assert latest.actor == winner
    for app in replicas:
        app.catalog.follow()
        assert app.knowledge.current.catalog.intent("lingang_area").answer.en == winner


# -- one replica at a time, revisions in memory ----------------------------------------------


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return copy_catalog(tmp_path)


@pytest.fixture
def sync(folder: Path, tmp_path: Path) -> CatalogSync:
    knowledge = KnowledgeBase(folder)
    return CatalogSync(knowledge, MemoryCatalogRevisions(), tmp_path / "work")


def started(sync: CatalogSync, folder: Path) -> CatalogRevision:
    """`sync.start(folder)`, which must serve a revision."""
    serving = sync.start(folder)
    assert serving is not None
    return serving


def test_an_empty_database_is_seeded_from_the_shipped_files_once(
    sync: CatalogSync, folder: Path
) -> None:
    serving = started(sync, folder)
    assert (serving.number, serving.kind, serving.parent) == (1, "seed", 0)
    assert sync.revisions.files(1) == read_files(folder)
    assert started(sync, folder).number == 1, "the same files: no new revision"
    created = {c.subject for c in serving.changes if c.kind == "created"}
    assert "lingang_area" in created


def test_new_shipped_files_are_taken_until_an_admin_changes_the_catalog(
    sync: CatalogSync, folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sync.start(folder)
    edit_answer(folder)  # an upgrade ships new content, nobody edited yet
    upgraded = started(sync, folder)
    assert (upgraded.number, upgraded.kind) == (2, "seed")
    assert NEW in sync.files()["faq/lingang_basics.yaml"]

    editor = CatalogEditor(sync)
    data = faq_intents(sync.files())["lingang_name"].data
    editor.save(
        "lingang_name", {**data, "tags": ["named"]}, etag(sync.files(), "lingang_name"), "a"
    )
    path = folder / "faq" / "lingang_basics.yaml"
    path.write_text(path.read_text().replace(NEW, OLD))
    with caplog.at_level(logging.INFO, logger="bot.catalog_sync"):
        assert started(sync, folder).number == 3, "an admin's catalog is never overwritten"
    assert any("intents import" in r.getMessage() for r in caplog.records)


def test_a_revision_that_does_not_load_here_keeps_the_old_one(
    sync: CatalogSync, folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sync.start(folder)
    serving = sync.knowledge_in_use()
    files = sync.files()
    broken = {**files, "faq/lingang_basics.yaml": files["faq/lingang_basics.yaml"] + "  - id: [\n"}
    sync.revisions.add(1, broken, RevisionMeta("someone", _now(), "import"))

    with caplog.at_level(logging.WARNING, logger="bot.catalog_sync"):
        assert sync.follow() is False
        assert sync.follow() is False
    assert sync.knowledge_in_use() is serving
    assert sync.version == 1
    assert len([r for r in caplog.records if "does not load" in r.getMessage()]) == 1
    with pytest.raises(CatalogRefused) as refused:
        sync.check(broken)
    assert any(p.startswith("faq/lingang_basics.yaml:") for p in refused.value.problems)


def _now() -> datetime:
    return datetime.now(UTC)
