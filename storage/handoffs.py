"""Handoffs to the sales team on SQL, with the outbox of messages relayed between the
prospect and the Slack thread.

A conversation has one open handoff at most: the partial unique index `ix_handoffs_open`
settles two replicas asking at once. Claims and closes are conditional updates, so of two
people clicking at once exactly one wins. Relay items go out in order per handoff and
direction: only the oldest unsettled item of each is ever handed out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, and_, bindparam, exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from bot.core.ports import LEASE
from bot.core.records import (
    HANDOFF_OPEN,
    CloseReason,
    Handoff,
    HandoffStatus,
    NewHandoff,
    RelayDirection,
    RelayDraft,
    RelayItem,
    RelayKind,
)
from storage.db import Database
from storage.models import HandoffRow, RelayItemRow, utc_now

# Kinds of relay item that leave a post of ours in the Slack thread.
POSTING_KINDS: tuple[RelayKind, ...] = ("open", "text", "notice")
# How many times `request` retries when the open handoff it collided with closed meanwhile.
REQUEST_ATTEMPTS = 3


def handoff_of(row: HandoffRow) -> Handoff:
    """The record of a handoff row."""
    return Handoff(
        id=row.id,
        channel=row.channel,
        conversation_id=row.conversation_id,
        user_id=row.user_id,
        language=row.language,
        status=cast(HandoffStatus, row.status),
        requested_at=row.requested_at,
        question=row.question,
        display_name=row.display_name,
        claimed_by=row.claimed_by,
        rep_name=row.rep_name,
        claimed_at=row.claimed_at,
        first_reply_at=row.first_reply_at,
        last_rep_at=row.last_rep_at,
        closed_at=row.closed_at,
        close_reason=cast(CloseReason | None, row.close_reason),
        thread_channel=row.thread_channel,
        thread_ts=row.thread_ts,
        lead_id=row.lead_id,
    )


def relay_item_of(row: RelayItemRow) -> RelayItem:
    """The record of a relay item row."""
    return RelayItem(
        id=row.id,
        handoff_id=row.handoff_id,
        direction=cast(RelayDirection, row.direction),
        kind=cast(RelayKind, row.kind),
        created_at=row.created_at,
        text=row.text,
        notice=row.notice,
        params={str(k): str(v) for k, v in row.params.items()},
        target_ts=row.target_ts,
        attempts=row.attempts,
    )


def _queue(
    session: Session, handoff_id: int, relays: Sequence[RelayDraft], at: datetime
) -> list[RelayItem]:
    rows = [
        RelayItemRow(
            handoff_id=handoff_id,
            direction=draft.direction,
            kind=draft.kind,
            created_at=at,
            text=draft.text,
            notice=draft.notice,
            params=dict(draft.params),
            target_ts=draft.target_ts,
            attempts=0,
            next_attempt_at=at,
        )
        for draft in relays
    ]
    session.add_all(rows)
    session.flush()
    return [relay_item_of(row) for row in rows]


def _changed(result: Any) -> bool:
    return cast(CursorResult[Any], result).rowcount == 1


_OPEN = HandoffRow.status.in_(HANDOFF_OPEN)
_UNSETTLED = and_(RelayItemRow.sent_at.is_(None), RelayItemRow.failed_at.is_(None))


_H = HandoffRow.__table__.c
_ANY_OPEN = (
    select(_H.id)
    .where(
        _H.channel == bindparam("b_channel"),
        _H.conversation_id == bindparam("b_conversation"),
        _H.status.in_(HANDOFF_OPEN),
    )
    .limit(1)
)


class SqlHandoffs:
    """`Handoffs` on `handoffs` and `relay_items`."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def _one(self, query: Any) -> Handoff | None:
        with self._db.transaction() as session:
            row = session.scalars(query).first()
            return handoff_of(row) if row is not None else None

    def _many(self, query: Any) -> list[Handoff]:
        with self._db.transaction() as session:
            return [handoff_of(row) for row in session.scalars(query)]

    def current(self, channel: str, conversation_id: str) -> Handoff | None:
        """The conversation's open (waiting or held) handoff, or None."""
        # Asked of every message: most conversations have none, and a statement built once
        # in SQLAlchemy Core finds that out for a fraction of what loading through the ORM costs.
        given = {"b_channel": channel, "b_conversation": conversation_id}
        with self._db.transaction() as session:
            if session.connection().execute(_ANY_OPEN, given).first() is None:
                return None
        return self._one(
            select(HandoffRow).where(
                HandoffRow.channel == channel,
                HandoffRow.conversation_id == conversation_id,
                _OPEN,
            )
        )

    def get(self, handoff_id: int) -> Handoff | None:
        """One handoff, or None."""
        return self._one(select(HandoffRow).where(HandoffRow.id == handoff_id))

    def by_thread(self, thread_channel: str, thread_ts: str) -> Handoff | None:
        """The handoff whose Slack thread this is (open or closed), or None."""
        return self._one(
            select(HandoffRow)
            .where(HandoffRow.thread_channel == thread_channel, HandoffRow.thread_ts == thread_ts)
            .order_by(HandoffRow.id.desc())
        )

    def latest(self, channel: str, conversation_id: str) -> Handoff | None:
        """The conversation's newest handoff, open or closed, or None."""
        return self._one(
            select(HandoffRow)
            .where(HandoffRow.channel == channel, HandoffRow.conversation_id == conversation_id)
            .order_by(HandoffRow.id.desc())
        )

    def request(self, handoff: NewHandoff, relays: Sequence[RelayDraft]) -> tuple[Handoff, bool]:
        """Open a handoff and queue `relays`, unless the conversation has an open one: then
        that one and False (nothing queued). A `closed_reason` stores it closed at once."""
        for attempt in range(REQUEST_ATTEMPTS):
            try:
                with self._db.transaction() as session:
                    existing = session.scalars(
                        select(HandoffRow).where(
                            HandoffRow.channel == handoff.channel,
                            HandoffRow.conversation_id == handoff.conversation_id,
                            _OPEN,
                        )
                    ).first()
                    if existing is not None:
                        return handoff_of(existing), False
                    row = _new_row(handoff)
                    session.add(row)
                    session.flush()  # a concurrent open request fails here (unique index)
                    _queue(session, row.id, relays, handoff.requested_at)
                    return handoff_of(row), True
            except IntegrityError:
                # Another replica opened one first: it is visible once its commit is done.
                found = self.current(handoff.channel, handoff.conversation_id)
                if found is not None:
                    return found, False
                if attempt == REQUEST_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def threaded(self, handoff_id: int, thread_channel: str, thread_ts: str) -> None:
        """Record where the thread's first post went."""
        with self._db.transaction() as session:
            session.execute(
                update(HandoffRow)
                .where(HandoffRow.id == handoff_id)
                .values(thread_channel=thread_channel, thread_ts=thread_ts)
            )

    def claim(
        self,
        handoff_id: int,
        rep_id: str,
        rep_name: str,
        at: datetime,
        relays: Sequence[RelayDraft],
    ) -> Handoff | None:
        """`rep_id` takes a waiting handoff and `relays` are queued; None when it is not
        waiting any more (the conditional update lets exactly one of two claims win)."""
        with self._db.transaction() as session:
            result = session.execute(
                update(HandoffRow)
                .where(HandoffRow.id == handoff_id, HandoffRow.status == "waiting")
                .values(status="held", claimed_by=rep_id, rep_name=rep_name, claimed_at=at)
            )
            if not _changed(result):
                return None
            _queue(session, handoff_id, relays, at)
            row = session.get_one(HandoffRow, handoff_id)
            return handoff_of(row)

    def relay(self, handoff_id: int, relays: Sequence[RelayDraft], at: datetime) -> list[RelayItem]:
        """Queue messages of a handoff; a consultant's text sets `first_reply_at` (once) and
        `last_rep_at`."""
        with self._db.transaction() as session:
            items = _queue(session, handoff_id, relays, at)
            if any(d.direction == "to_prospect" and d.kind == "text" for d in relays):
                session.execute(
                    update(HandoffRow)
                    .where(HandoffRow.id == handoff_id)
                    .values(
                        first_reply_at=func.coalesce(HandoffRow.first_reply_at, at),
                        last_rep_at=at,
                    )
                )
            return items

    def close(
        self, handoff_id: int, reason: CloseReason, at: datetime, relays: Sequence[RelayDraft]
    ) -> Handoff | None:
        """Close an open handoff and queue `relays`; None (nothing queued) when it was closed
        already."""
        with self._db.transaction() as session:
            result = session.execute(
                update(HandoffRow)
                .where(HandoffRow.id == handoff_id, _OPEN)
                .values(status="closed", closed_at=at, close_reason=reason)
            )
            if not _changed(result):
                return None
            _queue(session, handoff_id, relays, at)
            return handoff_of(session.get_one(HandoffRow, handoff_id))

    def unclaimed_since(self, before: datetime) -> list[Handoff]:
        """Waiting handoffs requested before `before`, oldest first."""
        return self._many(
            select(HandoffRow)
            .where(HandoffRow.status == "waiting", HandoffRow.requested_at < before)
            .order_by(HandoffRow.requested_at, HandoffRow.id)
        )

    def silent_since(self, before: datetime) -> list[Handoff]:
        """Held handoffs whose consultant last spoke (or claimed it) before `before`."""
        last = func.coalesce(HandoffRow.last_rep_at, HandoffRow.claimed_at)
        return self._many(
            select(HandoffRow)
            .where(HandoffRow.status == "held", last < before)
            .order_by(last, HandoffRow.id)
        )

    def due(self, now: datetime, limit: int = 20, lease: timedelta = LEASE) -> list[RelayItem]:
        """Take relay items due now for `lease`, oldest first: only the oldest unsettled item
        of each handoff and direction, so order is kept. Items another replica is taking
        are skipped (`SKIP LOCKED`); the ones behind them wait, as they are not the oldest."""
        earlier = aliased(RelayItemRow)
        blocked = exists().where(
            earlier.handoff_id == RelayItemRow.handoff_id,
            earlier.direction == RelayItemRow.direction,
            earlier.sent_at.is_(None),
            earlier.failed_at.is_(None),
            earlier.id < RelayItemRow.id,
        )
        query = (
            select(RelayItemRow)
            .where(_UNSETTLED, RelayItemRow.next_attempt_at <= now, ~blocked)
            .order_by(RelayItemRow.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=RelayItemRow)
        )
        with self._db.transaction() as session:
            rows = list(session.scalars(query))
            for row in rows:
                row.next_attempt_at = now + lease
            return [relay_item_of(row) for row in rows]

    def relayed(self, item_id: int, at: datetime, posted_ts: str | None = None) -> None:
        """An item went out (`posted_ts`: our Slack post's ts, kept so it can be deleted)."""
        with self._db.transaction() as session:
            session.execute(
                update(RelayItemRow)
                .where(RelayItemRow.id == item_id)
                .values(sent_at=at, posted_ts=posted_ts)
            )

    def relay_failed(self, item_id: int, error: str, retry_at: datetime | None) -> None:
        """Count a failed attempt and schedule the next; `retry_at` None settles the item as
        failed, so the items behind it can go."""
        values: dict[str, Any] = {"attempts": RelayItemRow.attempts + 1, "last_error": error[:1000]}
        if retry_at is None:
            values["failed_at"] = utc_now()
        else:
            values["next_attempt_at"] = retry_at
        with self._db.transaction() as session:
            session.execute(update(RelayItemRow).where(RelayItemRow.id == item_id).values(values))

    def posts(self, handoff_id: int) -> list[str]:
        """The ts of every post we made in the handoff's thread, oldest first."""
        query = (
            select(RelayItemRow.posted_ts)
            .where(
                RelayItemRow.handoff_id == handoff_id,
                RelayItemRow.direction == "to_thread",
                RelayItemRow.kind.in_(POSTING_KINDS),
                RelayItemRow.sent_at.is_not(None),
                RelayItemRow.posted_ts.is_not(None),
            )
            .order_by(RelayItemRow.id)
        )
        with self._db.transaction() as session:
            return [str(ts) for ts in session.scalars(query)]

    def of_person(self, channel: str, user_id: str) -> list[Handoff]:
        """Every handoff of one person, oldest first."""
        return self._many(
            select(HandoffRow)
            .where(HandoffRow.channel == channel, HandoffRow.user_id == user_id)
            .order_by(HandoffRow.id)
        )


def _new_row(handoff: NewHandoff) -> HandoffRow:
    closed = handoff.closed_reason is not None
    return HandoffRow(
        channel=handoff.channel,
        conversation_id=handoff.conversation_id,
        user_id=handoff.user_id,
        language=handoff.language,
        status="closed" if closed else "waiting",
        requested_at=handoff.requested_at,
        question=handoff.question,
        display_name=handoff.display_name,
        lead_id=handoff.lead_id,
        closed_at=handoff.requested_at if closed else None,
        close_reason=handoff.closed_reason,
    )
