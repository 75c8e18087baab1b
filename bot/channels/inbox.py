"""Taking deliveries in so that nothing acknowledged is lost and nothing is answered twice.

A webhook update or Slack event is acknowledged only once it is kept: in the inbox (the
database, with its payload) or, while the database is down, in the spool (files on the data
volume the replicas share). The replica that kept it answers it; the engine's replies are kept
before they are sent, in the same transaction as the engine's turn (`decide`), and the delivery
is marked answered after: with the next turn's transaction, or within a second when none comes
(`mark_answered`), so a message costs two transactions, its taking-in and its turn. A delivery
whose replica died in between is due again once its lease ends: `recover` (on every replica,
every few seconds) files the spool into the inbox when the database is back and takes the due
deliveries, each for one replica only, to be answered through the same path (with the kept
replies, when the engine had decided already: its work is not done twice).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from bot.channels.spool import DeliverySpool
from bot.core.messages import Button, Reply
from bot.core.ports import Delivery, DeliveryLog, StorageUnavailable, Transactions, UnitFailed

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
# Longer than any answer takes (a slow Bot API call is retried for about a minute at most):
# a delivery is replayed only when its replica has not answered it by then.
INBOX_LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 3  # a delivery whose handling failed this often is not tried again
REPLAY_BATCH = 20
# Seconds an answered delivery may wait for its mark (it rides on the next turn's transaction):
# a replica that dies meanwhile leaves it to be answered again after its lease.
MARK_WITHIN = 1.0

Payload = Callable[[], Mapping[str, Any]]


class Unbatched:
    """`Transactions` for stores without a database: each call is its own unit."""

    @contextlib.contextmanager
    def unit(self) -> Iterator[None]:
        """Nothing to group."""
        yield


class Unkept(Exception):
    """Neither the database nor the spool took the delivery: refuse it, so the platform
    sends it again."""


@dataclass(frozen=True, slots=True)
class Ticket:
    """The right to answer one delivery: attempt 1 for the replica that took it in, more for
    a replay, 0 for a delivery spooled while the database was down."""

    delivery_id: str
    attempt: int
    replies: Sequence[Mapping[str, Any]] | None = None

    @classmethod
    def of(cls, delivery: Delivery) -> Ticket:
        """The ticket of a due delivery taken for replay."""
        return cls(delivery.delivery_id, delivery.attempt, delivery.replies)

    @property
    def decided(self) -> list[Reply] | None:
        """The replies kept for the delivery, if the engine had decided them."""
        return None if self.replies is None else [reply_of(kept) for kept in self.replies]


@dataclass(frozen=True, slots=True)
class _Mark:
    ticket: Ticket
    payload: Payload


def kept_reply(reply: Reply) -> dict[str, Any]:
    """A reply as JSON, to keep in the inbox."""
    return {
        "text": reply.text,
        "buttons": [[button.title, button.payload] for button in reply.buttons],
        "kind": reply.kind,
        "field": reply.field,
        "releases": reply.releases,
    }


def reply_of(kept: Mapping[str, Any]) -> Reply:
    """The reply kept by `kept_reply`."""
    return Reply(
        str(kept["text"]),
        tuple(Button(str(title), str(payload)) for title, payload in kept.get("buttons") or []),
        kind=kept.get("kind") or "answer",
        field=kept.get("field"),
        releases=kept.get("releases"),
    )


class Intake:
    """One channel's deliveries: taken in, held while answered, replayed when abandoned.

    Every method does blocking I/O: call it in a thread.
    """

    def __init__(
        self,
        channel: str,
        deliveries: DeliveryLog,
        spool: DeliverySpool,
        *,
        clock: Clock = lambda: datetime.now(UTC),
        lease: timedelta = INBOX_LEASE,
        max_attempts: int = MAX_ATTEMPTS,
        units: Transactions | None = None,
        mark_within: float = MARK_WITHIN,
    ) -> None:
        """`units` groups a turn's work in one transaction; without it, each store's call
        is its own and marks are written at once."""
        self.channel = channel
        self._deliveries = deliveries
        self._spool = spool
        self._clock = clock
        self.lease = lease
        self._max_attempts = max_attempts
        self._units = units
        self._mark_within = mark_within
        self._marks: list[_Mark] = []
        self._marks_lock = threading.Lock()
        self._flushing: asyncio.Task[None] | None = None

    def take(self, delivery_id: str, payload: Mapping[str, Any]) -> Ticket | None:
        """Keep a new delivery: its ticket, or None for one taken in before (anywhere).

        Raises `Unkept` when neither the database nor the spool could keep it.
        """
        if self._spool.holds(self.channel, delivery_id):
            return None  # spooled by a replica while the database was down
        try:
            first = self._deliveries.take_in(
                self.channel, delivery_id, payload, self._clock() + self.lease
            )
        except StorageUnavailable:
            return self._spooled(delivery_id, payload)
        return Ticket(delivery_id, 1) if first else None

    def _spooled(self, delivery_id: str, payload: Mapping[str, Any]) -> Ticket | None:
        try:
            first = self._spool.take(self.channel, delivery_id, payload)
        except OSError as exc:
            log.error("delivery neither recorded nor spooled (%s): refused", type(exc).__name__)
            raise Unkept(delivery_id) from exc
        if first:
            log.warning("delivery spooled (database unavailable); answering it")
        return Ticket(delivery_id, 0) if first else None

    def decide(
        self,
        ticket: Ticket,
        decide: Callable[[bool], list[Reply]],
        then: Callable[[list[Reply]], None] | None = None,
    ) -> list[Reply] | None:
        """The engine's replies (`decide(first)`), kept with the delivery, and `then`'s work
        with them (a send slot), in one transaction with the engine's turn and the marks of the
        deliveries answered meanwhile; None when another replica holds the delivery now.

        When that transaction fails, none of it is kept and it is done again without one
        (each store's call then handles the database being down its own way), `decide(False)`
        this time (the first try was counted)."""
        units = self._units or Unbatched()
        marks = self._taken_marks()
        try:
            with units.unit():
                replies, kept = self._decide(ticket, partial(decide, True), then)
                self._write_marks(marks)
        except UnitFailed as exc:
            log.warning("turn not kept in one transaction (%s); doing it again", exc)
            self._return_marks(marks)
            replies, kept = self._decide(ticket, partial(decide, False), then)
        return replies if kept else None

    def _decide(
        self,
        ticket: Ticket,
        decide: Callable[[], list[Reply]],
        then: Callable[[list[Reply]], None] | None,
    ) -> tuple[list[Reply], bool]:
        replies = decide()
        kept = self.decided(ticket, replies)
        if kept and then is not None:
            then(replies)
        return replies, kept

    def decided(self, ticket: Ticket, replies: Sequence[Reply]) -> bool:
        """Keep the engine's replies before they are sent; False when another replica holds
        the delivery now (its lease ended): then this one must not answer it."""
        if ticket.attempt == 0:
            return True
        kept = [kept_reply(reply) for reply in replies]
        try:
            return self._deliveries.hold(
                self.channel, ticket.delivery_id, ticket.attempt, self._clock() + self.lease, kept
            )
        except StorageUnavailable:
            log.warning("replies not kept (database unavailable); answering all the same")
            return True

    async def mark_answered(self, ticket: Ticket, payload: Payload) -> None:
        """The delivery is answered: not to be replayed. With `units`, the mark waits (at most
        `mark_within` seconds) to ride on the next turn's transaction; else it is written now.
        `payload` gives the delivery again, should the mark have to go to the spool."""
        if self._units is None or ticket.attempt == 0:
            await asyncio.to_thread(self.answered, ticket, payload())
            return
        with self._marks_lock:
            self._marks.append(_Mark(ticket, payload))
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush_later())

    async def _flush_later(self) -> None:
        await asyncio.sleep(self._mark_within)
        await asyncio.to_thread(self.flush_marks)

    def flush_marks(self) -> None:
        """Write the marks still waiting, in one transaction."""
        marks = self._taken_marks()
        if not marks:
            return
        try:
            self._write_marks(marks)
        except StorageUnavailable:
            log.warning("answers not recorded (database unavailable); spooling the marks")
            for mark in marks:
                self._spool_mark(mark.ticket, mark.payload())

    async def close(self) -> None:
        """Write the marks still waiting (at shutdown)."""
        if self._flushing is not None:
            self._flushing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flushing
        await asyncio.to_thread(self.flush_marks)

    def _taken_marks(self) -> list[_Mark]:
        with self._marks_lock:
            marks, self._marks = self._marks, []
        return marks

    def _return_marks(self, marks: list[_Mark]) -> None:
        with self._marks_lock:
            self._marks[:0] = marks

    def _write_marks(self, marks: list[_Mark]) -> None:
        if marks:
            pairs = [(mark.ticket.delivery_id, mark.ticket.attempt) for mark in marks]
            self._deliveries.answered_many(self.channel, pairs, self._clock())

    def answered(self, ticket: Ticket, payload: Mapping[str, Any]) -> None:
        """The delivery is answered: not to be replayed (while the database is down, the mark
        goes to the spool and is filed later)."""
        if ticket.attempt > 0:
            try:
                self._deliveries.answered(
                    self.channel, ticket.delivery_id, ticket.attempt, self._clock()
                )
            except StorageUnavailable:
                log.warning("answer not recorded (database unavailable); spooling the mark")
            else:
                return
        self._spool_mark(ticket, payload)

    def _spool_mark(self, ticket: Ticket, payload: Mapping[str, Any]) -> None:
        try:
            self._spool.take(self.channel, ticket.delivery_id, payload)
            self._spool.answered(self.channel, ticket.delivery_id)
        except OSError as exc:
            log.error("answered delivery not marked (%s)", type(exc).__name__)

    def recover(self) -> list[Delivery]:
        """File the spool into the inbox, then take the deliveries due for a replay.

        Raises `StorageUnavailable` while the database is down (the spool stays).
        """
        self.flush_marks()
        now = self._clock()
        for entry in self._spool.entries(self.channel):
            if entry.answered_at is None and now - entry.spooled_at < self.lease:
                continue  # its replica may be answering it right now
            self._deliveries.file(
                self.channel, entry.delivery_id, entry.payload, entry.answered_at, now
            )
            self._spool.remove(self.channel, entry.delivery_id)
        due = self._deliveries.due(
            self.channel, now, now + self.lease, REPLAY_BATCH, self._max_attempts
        )
        # One spooled meanwhile is the spool's to settle (answered, or filed when abandoned).
        return [d for d in due if not self._spool.holds(self.channel, d.delivery_id)]


class ClaimsOnly:
    """A `DeliveryLog` that only claims deliveries (through the engine's `claim`) and keeps
    nothing to replay: for a service built without an inbox, in tests of other things."""

    def __init__(self, claim: Callable[[str, str], bool]) -> None:
        self._claim = claim

    def first_delivery(self, channel: str, delivery_id: str) -> bool:
        """Claim the delivery."""
        return self._claim(channel, delivery_id)

    def take_in(
        self, channel: str, delivery_id: str, payload: Mapping[str, Any], lease_until: datetime
    ) -> bool:
        """Claim the delivery (the payload is not kept)."""
        return self._claim(channel, delivery_id)

    def hold(
        self,
        channel: str,
        delivery_id: str,
        attempt: int,
        lease_until: datetime,
        replies: Sequence[Mapping[str, Any]] | None = None,
    ) -> bool:
        """Nothing is replayed, so the claimant always holds its delivery."""
        return True

    def answered(self, channel: str, delivery_id: str, attempt: int, at: datetime) -> bool:
        """Nothing to mark."""
        return True

    def answered_many(self, channel: str, marks: Sequence[tuple[str, int]], at: datetime) -> int:
        """Nothing to mark."""
        return len(marks)

    def due(
        self, channel: str, now: datetime, lease_until: datetime, limit: int, max_attempts: int
    ) -> list[Delivery]:
        """Nothing is kept, so nothing is due."""
        return []

    def file(
        self,
        channel: str,
        delivery_id: str,
        payload: Mapping[str, Any],
        answered_at: datetime | None,
        now: datetime,
    ) -> None:
        """Claim a spooled delivery, so that a retry is not answered again."""
        self._claim(channel, delivery_id)
