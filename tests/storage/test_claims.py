"""Several replicas over one database: the outbox and the kept messages are claimed by one
replica at a time, every item goes out exactly once, and a crashed replica's claim runs out."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest

from bot.core.records import Lead, LeadSubmission, OutgoingMessage
from bot.notifications import Relay
from storage.db import Database
from storage.leads import SqlLeadRepository, SqlOutbox
from storage.outgoing import SqlOutgoingQueue

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ITEMS = 40
REPLICAS = 2


@pytest.fixture
def replicas(database: Database) -> Iterator[list[Database]]:
    """`REPLICAS` connections to the same database, as separate processes would have."""
    others = [Database(database.url) for _ in range(REPLICAS)]
    try:
        yield others
    finally:
        for other in others:
            other.dispose()


def submit_leads(database: Database, count: int) -> None:
    leads = SqlLeadRepository(database)
    for n in range(count):
        leads.submit(
            LeadSubmission(
                submission_id=f"s{n}",
                channel="telegram",
                user_id=f"u{n}",
                conversation_id=f"c{n}",
                language="en",
                notice_version="2026-11-26",
                consented_at=T0,
                submitted_at=T0,
                answers={"name": "Test Person", "email": f"p{n}@example.com"},
                score=10,
                question=None,
                source=None,
                event_id=None,
            )
        )


def run_together(work: list[Callable[[], None]]) -> None:
    """Start every piece of work at the same moment; re-raise the first failure."""
    barrier = threading.Barrier(len(work))
    errors: list[BaseException] = []

    def run(job: Callable[[], None]) -> None:
        try:
            barrier.wait()
            job()
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(job,)) for job in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors


def test_replicas_claiming_together_never_get_the_same_notification(
    database: Database, replicas: list[Database]
) -> None:
    submit_leads(database, ITEMS)
    claimed: list[list[int]] = [[] for _ in replicas]

    def claim_all(outbox: SqlOutbox, mine: list[int]) -> None:
        while batch := outbox.claim(T0, limit=3):
            mine.extend(item.id for item in batch)

    run_together(
        [partial(claim_all, SqlOutbox(r), mine) for r, mine in zip(replicas, claimed, strict=True)]
    )
    every = [item for mine in claimed for item in mine]
    assert sorted(every) == sorted(set(every)), "an item was claimed twice"
    assert len(every) == ITEMS


def test_every_notification_is_delivered_exactly_once_by_some_replica(
    database: Database, replicas: list[Database]
) -> None:
    submit_leads(database, ITEMS)
    delivered: Counter[int] = Counter()
    lock = threading.Lock()

    def deliver(outbox: SqlOutbox) -> None:
        while batch := outbox.claim(T0, limit=4):
            for item in batch:
                with lock:
                    delivered[item.lead_id] += 1
                outbox.delivered(item.id, T0)

    run_together([partial(deliver, SqlOutbox(r)) for r in replicas])
    assert set(delivered.values()) == {1}
    assert len(delivered) == ITEMS
    assert SqlOutbox(database).depth() == 0


def test_a_notification_claimed_by_a_crashed_replica_comes_back_after_the_lease(
    database: Database, replicas: list[Database]
) -> None:
    submit_leads(database, 2)
    crashed, survivor = SqlOutbox(replicas[0]), SqlOutbox(replicas[1])
    lease = timedelta(seconds=60)
    taken = crashed.claim(T0, limit=1, lease=lease)  # ... and never delivered nor failed
    [other] = survivor.claim(T0, lease=lease)
    assert other.id != taken[0].id
    survivor.delivered(other.id, T0)
    assert survivor.claim(T0 + lease - timedelta(seconds=1)) == []
    assert [item.id for item in survivor.claim(T0 + lease)] == [taken[0].id]


def test_kept_messages_go_out_exactly_once_across_replicas(
    database: Database, replicas: list[Database]
) -> None:
    queue = SqlOutgoingQueue(database)
    for n in range(ITEMS):
        queue.keep(OutgoingMessage("telegram", str(n), f"u{n}", {"text": "hi"}, T0), T0)
    sent: Counter[str] = Counter()
    lock = threading.Lock()

    def resend(kept: SqlOutgoingQueue) -> None:
        while batch := kept.claim("telegram", T0, limit=3):
            for message in batch:
                with lock:
                    sent[message.chat_id] += 1
                kept.sent(message.id or 0, T0)

    run_together([partial(resend, SqlOutgoingQueue(r)) for r in replicas])
    assert set(sent.values()) == {1}
    assert len(sent) == ITEMS


# SQLite has one writer at a time (BEGIN IMMEDIATE): there a second claim waits, by design.
@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_a_claim_skips_rows_another_replica_is_claiming_instead_of_waiting(
    database: Database, replicas: list[Database]
) -> None:
    submit_leads(database, 3)
    outbox = SqlOutbox(replicas[1])
    claimed: list[int] = []
    with replicas[0].engine.connect() as busy:
        # Replica 0 is in the middle of a claim: it holds the oldest row.
        busy.exec_driver_sql("BEGIN")
        held = busy.exec_driver_sql(
            "SELECT id FROM outbox ORDER BY id LIMIT 1 FOR UPDATE"
        ).scalar_one()
        claim = threading.Thread(target=lambda: claimed.extend(i.id for i in outbox.claim(T0)))
        claim.start()
        claim.join(timeout=10)
        finished = not claim.is_alive()
        busy.exec_driver_sql("ROLLBACK")
    claim.join()
    assert finished, "the claim waited for the other replica's lock"
    assert held not in claimed
    assert len(claimed) == 2


class SlowNotifier:
    """A sales channel that takes 45 s per notification (on the test's clock)."""

    def __init__(self, clock: list[datetime]) -> None:
        self.clock = clock
        self.told: list[int] = []

    def notify(self, lead: Lead, kind: str) -> None:
        self.told.append(lead.id)
        self.clock[0] += timedelta(seconds=45)


def test_a_relay_whose_lease_runs_out_leaves_the_rest_to_be_claimed_again(
    database: Database, replicas: list[Database]
) -> None:
    submit_leads(database, 3)
    clock = [T0]
    slow, other = SlowNotifier(clock), SlowNotifier(clock)
    leads = SqlLeadRepository(database)
    first = Relay(SqlOutbox(replicas[0]), leads, slow, lambda: clock[0], timedelta(seconds=60))
    assert first.run_once() == 2, "the third was not started after the lease ran out"
    second = Relay(SqlOutbox(replicas[1]), leads, other, lambda: clock[0])
    assert second.run_once() == 1
    assert sorted(slow.told + other.told) == [1, 2, 3]
