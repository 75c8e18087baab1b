"""`serve` purges what is past its time once a day, on one replica: the lifespan's task, and
two replicas sharing one database."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

import bot.retention
from bot.app import App, retention_rules
from bot.config import Settings
from bot.retention import DailyPurge
from bot.web.app import create_app
from storage.catalogs import SqlPeriodicRuns
from storage.db import Database
from storage.models import PeriodicRunRow, ProcessedDeliveryRow
from storage.repositories import SqlDeliveryLog
from storage.retention import SqlRetention
from tests.web.conftest import BASE_URL

DAY = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def aged(database: Database, delivery_id: str, at: datetime) -> None:
    """Take delivery `delivery_id` in, then move it back to `at`."""
    SqlDeliveryLog(database).first_delivery("telegram", delivery_id)
    with database.transaction() as session:
        session.execute(
            update(ProcessedDeliveryRow)
            .where(ProcessedDeliveryRow.delivery_id == delivery_id)
            .values(processed_at=at)
        )


def deliveries(database: Database) -> set[str]:
    """The ids of the deliveries kept."""
    with database.transaction() as session:
        return set(session.scalars(select(ProcessedDeliveryRow.delivery_id)))


def test_the_running_app_purges_in_the_background(
    site_app: App, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    database = site_app.storage.database
    aged(database, "old", datetime.now(UTC) - timedelta(days=3))
    aged(database, "new", datetime.now(UTC))
    monkeypatch.setattr(bot.retention, "CHECK_SECONDS", 0.05)
    with (
        caplog.at_level(logging.INFO, logger="bot.retention"),
        TestClient(create_app(site_app), base_url=BASE_URL),
    ):
        deadline = time.monotonic() + 10
        while "old" in deliveries(database) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert deliveries(database) == {"new"}
    with database.transaction() as session:
        jobs = list(session.scalars(select(PeriodicRunRow.job)))
    assert jobs == ["retention_purge"], "today is claimed: no other replica purges again"
    said = [r.getMessage() for r in caplog.records if r.name == "bot.retention"]
    assert "retention purge done: processed_deliveries 1" in said


def test_one_replica_purges_a_day(database: Database) -> None:
    aged(database, "old", DAY - timedelta(days=3))
    clock = [DAY]
    rules = retention_rules(Settings(_env_file=None))
    replicas = [
        DailyPurge(
            SqlRetention(database, rules),
            SqlPeriodicRuns(database),
            clock=lambda: clock[0],
            replica=name,
        )
        for name in ("a", "b")
    ]
    assert [r.run_once() for r in replicas] == ["purged", "taken"]
    assert deliveries(database) == set()
    aged(database, "later", DAY - timedelta(days=2))
    clock[0] = DAY + timedelta(days=1)
    assert [r.run_once() for r in reversed(replicas)] == ["purged", "taken"]
    assert deliveries(database) == set()
