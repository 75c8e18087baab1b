"""A person's rights over their data, on SQL: export everything, or erase everything."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import DeclarativeBase

from bot.core.records import pseudonym
from storage.db import Database
from storage.models import (
    ConsentRecordRow,
    ConversationRow,
    ErasureRow,
    LeadEventRow,
    LeadRow,
    OutboxRow,
    OutgoingMessageRow,
    TranscriptMessageRow,
    UnansweredQuestionRow,
)

# Every table that holds rows about a person, keyed by (channel, user_id). Lead events and
# outbox items belong to a lead and go with it (ON DELETE CASCADE).
PERSONAL = (  # in an order that deletes leads before the consent records they point to
    ConversationRow,
    OutgoingMessageRow,
    TranscriptMessageRow,
    UnansweredQuestionRow,
    LeadRow,
    ConsentRecordRow,
)


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


def _row(row: DeclarativeBase) -> dict[str, object]:
    return {column.key: _plain(getattr(row, column.key)) for column in row.__table__.columns}


class SqlPrivacyRegistry:
    """`PrivacyRegistry` over every table that holds personal data."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def export(self, channel: str, user_id: str) -> dict[str, list[dict[str, object]]]:
        """Every row about one person, by table (lead history and notifications included)."""
        found: dict[str, list[dict[str, object]]] = {}
        with self._db.transaction() as session:
            for model in PERSONAL:
                query: Any = select(model).where(model.channel == channel, model.user_id == user_id)
                found[model.__tablename__] = [_row(row) for row in session.scalars(query)]
            lead_ids = [row["id"] for row in found["leads"]]
            for child in (LeadEventRow, OutboxRow):
                query = select(child).where(child.lead_id.in_(lead_ids)).order_by(child.id)
                found[child.__tablename__] = [_row(row) for row in session.scalars(query)]
        return found

    def erase(self, channel: str, user_id: str, at: datetime) -> dict[str, int]:
        """Delete every row about one person; record the erasure under a one-way hash."""
        counts: dict[str, int] = {}
        with self._db.transaction() as session:
            lead_ids = select(LeadRow.id).where(
                LeadRow.channel == channel, LeadRow.user_id == user_id
            )
            for child in (LeadEventRow, OutboxRow):
                rows = session.execute(delete(child).where(child.lead_id.in_(lead_ids)))
                counts[child.__tablename__] = int(getattr(rows, "rowcount", 0))
            for model in PERSONAL:
                statement: Any = delete(model).where(
                    model.channel == channel, model.user_id == user_id
                )
                counts[model.__tablename__] = int(
                    getattr(session.execute(statement), "rowcount", 0)
                )
            session.add(ErasureRow(subject=pseudonym(channel, user_id), at=at, counts=counts))
        return counts
