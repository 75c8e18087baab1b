"""Messages to people that a platform refused for now, kept in SQL until they go out."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update

from bot.core.ports import LEASE
from bot.core.records import OutgoingMessage
from storage.db import Database
from storage.models import OutgoingMessageRow


class SqlOutgoingQueue:
    """`OutgoingQueue` on `outgoing_messages`."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def keep(self, message: OutgoingMessage, retry_at: datetime) -> None:
        """Store a message that could not be sent."""
        with self._db.transaction() as session:
            session.add(
                OutgoingMessageRow(
                    channel=message.channel,
                    chat_id=message.chat_id,
                    user_id=message.user_id,
                    body=dict(message.body),
                    created_at=message.created_at,
                    next_attempt_at=retry_at,
                    attempts=message.attempts,
                )
            )

    def claim(
        self, channel: str, now: datetime, limit: int = 20, lease: timedelta = LEASE
    ) -> list[OutgoingMessage]:
        """Take unsent messages of `channel` whose next attempt is due, oldest first, for
        `lease` (rows another replica is claiming are skipped, as in `SqlOutbox.claim`)."""
        query = (
            select(OutgoingMessageRow)
            .where(
                OutgoingMessageRow.channel == channel,
                OutgoingMessageRow.sent_at.is_(None),
                OutgoingMessageRow.next_attempt_at <= now,
            )
            .order_by(OutgoingMessageRow.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        with self._db.transaction() as session:
            rows = list(session.scalars(query))
            for row in rows:
                row.next_attempt_at = now + lease
            return [
                OutgoingMessage(
                    row.channel,
                    row.chat_id,
                    row.user_id,
                    row.body,
                    row.created_at,
                    id=row.id,
                    attempts=row.attempts,
                )
                for row in rows
            ]

    def sent(self, message_id: int, at: datetime) -> None:
        """Mark sent."""
        with self._db.transaction() as session:
            session.execute(
                update(OutgoingMessageRow)
                .where(OutgoingMessageRow.id == message_id)
                .values(sent_at=at)
            )

    def failed(self, message_id: int, error: str, retry_at: datetime) -> None:
        """Count the attempt and schedule the next."""
        with self._db.transaction() as session:
            session.execute(
                update(OutgoingMessageRow)
                .where(OutgoingMessageRow.id == message_id)
                .values(
                    attempts=OutgoingMessageRow.attempts + 1,
                    last_error=error[:1000],
                    next_attempt_at=retry_at,
                )
            )
