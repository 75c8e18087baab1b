"""The delivery inbox (`DeliveryLog`), in memory and on each database: kept once, held by one
attempt, due again once the lease ends, taken by one replica only."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from bot.core.ports import DeliveryLog
from storage.db import Database
from storage.repositories import SqlDeliveryLog
from tests.chat import Stores

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=2)
LATER = T0 + LEASE + timedelta(seconds=1)


def take_due(log: DeliveryLog, now: datetime, max_attempts: int = 3) -> list[tuple[str, int]]:
    return [
        (d.delivery_id, d.attempt) for d in log.due("telegram", now, now + LEASE, 20, max_attempts)
    ]


def test_a_delivery_is_kept_once_with_its_payload(stores: Stores) -> None:
    log = stores.deliveries
    assert log.take_in("telegram", "1", {"update_id": 1, "text": "hi"}, T0 + LEASE)
    assert not log.take_in("telegram", "1", {"update_id": 1}, T0 + LEASE)
    assert not log.first_delivery("telegram", "1")
    assert log.take_in("slack", "1", {}, T0 + LEASE), "per channel"
    assert take_due(log, T0) == [], "its replica holds it"
    [due] = log.due("telegram", LATER, LATER + LEASE, 20, 3)
    assert (due.delivery_id, due.attempt, dict(due.payload)) == (
        "1",
        2,
        {"update_id": 1, "text": "hi"},
    )
    assert take_due(log, LATER) == [], "taken: held by the replay now"


def test_only_the_holding_attempt_keeps_replies_or_answers(stores: Stores) -> None:
    log = stores.deliveries
    log.take_in("telegram", "2", {"update_id": 2}, T0 + LEASE)
    assert log.hold("telegram", "2", 1, T0 + LEASE, [{"text": "decided"}])
    assert take_due(log, LATER) == [("2", 2)]
    assert not log.hold("telegram", "2", 1, LATER + LEASE), "the replay holds it now"
    assert not log.answered("telegram", "2", 1, LATER), "the dead replica cannot answer it"
    [again] = log.due("telegram", LATER + 2 * LEASE, LATER + 3 * LEASE, 20, 5)
    assert again.replies == [{"text": "decided"}], "the decision is kept for the replay"
    assert log.answered("telegram", "2", 3, LATER + 2 * LEASE)
    assert take_due(log, LATER + 10 * LEASE, 10) == [], "answered: never due"


def test_a_delivery_that_keeps_failing_is_given_up(stores: Stores) -> None:
    log = stores.deliveries
    log.take_in("telegram", "3", {"update_id": 3}, T0)
    now = T0
    for attempt in (2, 3):
        now += LEASE * 2
        assert take_due(log, now) == [("3", attempt)]
    assert take_due(log, now + LEASE * 2) == [], "three attempts"


def test_deliveries_without_a_payload_are_never_due(stores: Stores) -> None:
    log = stores.deliveries
    assert log.first_delivery("telegram", "4")
    assert take_due(log, LATER) == []


def test_spooled_deliveries_are_filed_answered_or_due(stores: Stores) -> None:
    log = stores.deliveries
    log.file("telegram", "5", {"update_id": 5}, T0, T0)
    log.file("telegram", "6", {"update_id": 6}, None, T0)
    assert not log.take_in("telegram", "5", {}, LATER), "known after filing"
    assert take_due(log, T0 + timedelta(seconds=1)) == [("6", 2)]
    # Taken in by another replica meanwhile, then filed answered: answered.
    log.take_in("telegram", "7", {"update_id": 7}, T0 + LEASE)
    log.file("telegram", "7", {"update_id": 7}, T0, T0)
    assert take_due(log, LATER) == []


def test_two_replicas_taking_due_deliveries_at_once_take_each_once(database: Database) -> None:
    other = Database(database.url)
    try:
        logs = [SqlDeliveryLog(database), SqlDeliveryLog(other)]
        for number in range(60):
            logs[0].take_in("telegram", str(number), {"update_id": number}, T0)

        def drain(log: DeliveryLog) -> list[str]:
            taken: list[str] = []
            while batch := log.due("telegram", LATER, LATER + LEASE, 7, 3):
                taken += [d.delivery_id for d in batch]
            return taken

        with ThreadPoolExecutor(2) as pool:
            first, second = pool.map(drain, logs)
    finally:
        other.dispose()
    assert sorted(first + second, key=int) == [str(n) for n in range(60)]
