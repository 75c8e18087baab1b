"""The conversation event log on SQL: what every funnel number is counted from."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from sqlalchemy import Table, insert, select

from bot.core.records import MAX_EVENT_TEXT, ConversationEvent, EventKind
from storage.db import Database
from storage.models import ConversationEventRow


def clip(text: str | None) -> str | None:
    """`text` cut to what an event (or a miss) keeps."""
    return text[:MAX_EVENT_TEXT] if text is not None else None


def event_of(row: ConversationEventRow) -> ConversationEvent:
    """The record of an event row."""
    return ConversationEvent(
        row.channel,
        row.conversation_id,
        row.user_id,
        cast(EventKind, row.kind),
        row.at,
        outcome=row.outcome,
        language=row.language,
        intent_id=row.intent_id,
        score=row.score,
        catalog=row.catalog,
        answer_key=row.answer_key,
        text=row.text,
        id=row.id,
    )


_ADD = insert(cast(Table, ConversationEventRow.__table__))  # built once: every message adds events


class SqlEventLog:
    """`EventLog` on `conversation_events`."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def add(self, events: Sequence[ConversationEvent]) -> None:
        """Append `events` in one transaction (texts cut to `MAX_EVENT_TEXT`)."""
        if not events:
            return
        rows = [
            {
                "channel": e.channel,
                "conversation_id": e.conversation_id,
                "user_id": e.user_id,
                "kind": e.kind,
                "at": e.at,
                "outcome": e.outcome,
                "language": e.language,
                "intent_id": e.intent_id,
                "score": e.score,
                "catalog": e.catalog,
                "answer_key": e.answer_key,
                "text": clip(e.text),
            }
            for e in events
        ]
        with self._db.transaction() as session:  # Core: a fraction of the ORM's CPU
            session.connection().execute(_ADD, rows)

    def answer(self, answer_key: str) -> ConversationEvent | None:
        """The answer (a `turn` event) that offered 👍/👎 under `answer_key`, or None."""
        query = (
            select(ConversationEventRow)
            .where(
                ConversationEventRow.answer_key == answer_key,
                ConversationEventRow.kind == "turn",
            )
            .order_by(ConversationEventRow.id)
            .limit(1)
        )
        with self._db.transaction() as session:
            row = session.scalars(query).first()
            return event_of(row) if row is not None else None
