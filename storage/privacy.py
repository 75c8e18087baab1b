"""A person's rights over their data, on SQL: export everything, or erase everything."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import DeclarativeBase, Session

from bot.core.records import pseudonym
from storage.db import Database
from storage.events import event_of
from storage.exports import event_export, handoff_export
from storage.handoffs import handoff_of, relay_item_of
from storage.models import (
    AuditEntryRow,
    ConsentRecordRow,
    ConversationEventRow,
    ConversationRow,
    ErasureRow,
    HandoffRow,
    LeadEventRow,
    LeadRow,
    OutboxRow,
    OutgoingMessageRow,
    RelayItemRow,
    TranscriptMessageRow,
    UnansweredQuestionRow,
)

EXAMPLE_ADDED = "question.add_example"  # the audit action whose details copy a question
REDACTED = "[redacted]"
AUDIT_SLACK = timedelta(minutes=5)  # clocks of replicas and the database disagree a little

# Every table that holds rows about a person, keyed by (channel, user_id). Lead events and
# outbox items belong to a lead and go with it (ON DELETE CASCADE). Handoffs are not deleted
# but redacted (see `SqlPrivacyRegistry.erase`).
PERSONAL = (  # in an order that deletes leads before the consent records they point to
    ConversationRow,
    ConversationEventRow,
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
            # Events and handoffs read as in every store (`storage.exports`): no staff ids.
            events = (
                select(ConversationEventRow)
                .where(
                    ConversationEventRow.channel == channel,
                    ConversationEventRow.user_id == user_id,
                )
                .order_by(ConversationEventRow.id)
            )
            found["conversation_events"] = [
                event_export(event_of(row)) for row in session.scalars(events)
            ]
            handoffs = (
                select(HandoffRow)
                .where(HandoffRow.channel == channel, HandoffRow.user_id == user_id)
                .order_by(HandoffRow.id)
            )
            found["handoffs"] = []
            for row in session.scalars(handoffs).all():
                items = select(RelayItemRow).where(RelayItemRow.handoff_id == row.id)
                found["handoffs"].append(
                    handoff_export(
                        handoff_of(row),
                        [
                            relay_item_of(item)
                            for item in session.scalars(items.order_by(RelayItemRow.id))
                        ],
                    )
                )
        return found

    def erase(self, channel: str, user_id: str, at: datetime) -> dict[str, int]:
        """Delete every row about one person, redact their handoffs; record the erasure under
        a one-way hash."""
        counts: dict[str, int] = {}
        with self._db.transaction() as session:
            counts["handoffs"] = _redact_handoffs(session, channel, user_id)
            counts["audit_log"] = _redact_audit(session, channel, user_id)
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


def _redact_audit(session: Session, channel: str, user_id: str) -> int:
    """Redact the text of the person's questions in the audit entries of admins who added
    them to an intent as examples (the entry names the questions it handled)."""
    mine = session.execute(
        select(UnansweredQuestionRow.id, UnansweredQuestionRow.handled_at).where(
            UnansweredQuestionRow.channel == channel,
            UnansweredQuestionRow.user_id == user_id,
            UnansweredQuestionRow.handled_intent.is_not(None),
        )
    ).all()
    if not mine:
        return 0
    ids = {row.id for row in mine}
    # The entry is written in the transaction that handled the questions: not before it.
    since = min(row.handled_at for row in mine if row.handled_at is not None) - AUDIT_SLACK
    entries = select(AuditEntryRow).where(
        AuditEntryRow.action == EXAMPLE_ADDED, AuditEntryRow.at >= since
    )
    redacted = 0
    for entry in session.scalars(entries):
        named = entry.details.get("questions")
        if not isinstance(named, list) or ids.isdisjoint(named):
            continue
        if entry.details.get("text") not in (None, REDACTED):
            entry.details = {**entry.details, "text": REDACTED}
            redacted += 1
    return redacted


def _redact_handoffs(session: Session, channel: str, user_id: str) -> int:
    """Strip one person from their handoffs, which stay (under a pseudonym) for the numbers
    and for the `delete` relay items that remove our Slack posts after the erasure: no
    question, name or relayed text is left; parameters only on items still to be sent."""
    mine = select(HandoffRow.id).where(HandoffRow.channel == channel, HandoffRow.user_id == user_id)
    session.execute(
        update(RelayItemRow)
        .where(RelayItemRow.handoff_id.in_(mine), RelayItemRow.kind != "delete")
        .values(text=None)
    )
    session.execute(
        update(RelayItemRow)
        .where(
            RelayItemRow.handoff_id.in_(mine),
            RelayItemRow.kind != "delete",
            or_(RelayItemRow.sent_at.is_not(None), RelayItemRow.failed_at.is_not(None)),
        )
        .values(params={})
    )
    result = session.execute(
        update(HandoffRow)
        .where(HandoffRow.channel == channel, HandoffRow.user_id == user_id)
        .values(user_id=pseudonym(channel, user_id), question=None, display_name=None)
    )
    return int(getattr(result, "rowcount", 0))
