"""SQL implementations of the core's ports, one short transaction per call."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Insert, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from bot.core.messages import Language
from bot.core.ports import StaleState
from bot.core.records import MissReason, TranscriptEntry, UnansweredQuestion
from bot.core.state import ConversationState
from storage.db import Database
from storage.events import clip
from storage.models import (
    ConversationRow,
    ProcessedDeliveryRow,
    TranscriptMessageRow,
    UnansweredQuestionRow,
    utc_now,
)


class SqlConversationStore:
    """`ConversationStore` on the `conversations` table."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def load(self, channel: str, conversation_id: str) -> ConversationState | None:
        """The stored state, or None."""
        query = select(ConversationRow).where(
            ConversationRow.channel == channel, ConversationRow.conversation_id == conversation_id
        )
        with self._db.transaction() as session:
            row = session.scalars(query).one_or_none()
            if row is None:
                return None
            return ConversationState(
                row.channel,
                row.conversation_id,
                row.user_id,
                language=cast(Language | None, row.language),
                language_chosen=row.language_chosen,
                form=row.form,
                source=row.source,
                last_question=row.last_question,
                version=row.version,
            )

    def save(self, state: ConversationState) -> ConversationState:
        """Insert or update if the stored version is still `state.version`."""
        values: dict[str, Any] = {
            "user_id": state.user_id,
            "language": state.language,
            "language_chosen": state.language_chosen,
            "form": dict(state.form) if state.form is not None else None,
            "source": state.source,
            "last_question": state.last_question,
            "version": state.version + 1,
            "updated_at": utc_now(),
        }
        lead_form = state.form is not None and state.form.get("kind") == "lead"
        try:
            with self._db.transaction() as session:
                if state.version == 0:
                    session.add(
                        ConversationRow(
                            channel=state.channel,
                            conversation_id=state.conversation_id,
                            form_started_at=values["updated_at"] if lead_form else None,
                            **values,
                        )
                    )
                else:
                    result = session.execute(
                        update(ConversationRow)
                        .where(
                            ConversationRow.channel == state.channel,
                            ConversationRow.conversation_id == state.conversation_id,
                            ConversationRow.version == state.version,
                        )
                        .values(
                            **values,
                            form_started_at=func.coalesce(
                                ConversationRow.form_started_at, values["updated_at"]
                            )
                            if lead_form
                            else ConversationRow.form_started_at,
                        )
                    )
                    if cast(CursorResult[Any], result).rowcount != 1:
                        raise StaleState(state.conversation_id)
        except IntegrityError as exc:  # two first messages of a new conversation
            raise StaleState(state.conversation_id) from exc
        return replace(state, version=state.version + 1)


class SqlDeliveryLog:
    """`DeliveryLog` on `processed_deliveries`; its unique key settles races between replicas."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def first_delivery(self, channel: str, delivery_id: str) -> bool:
        """Insert the delivery unless present; True if this call inserted it."""
        dialect = self._db.engine.dialect.name
        insert_: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement: Insert = (
            insert_(ProcessedDeliveryRow)
            .values(channel=channel, delivery_id=delivery_id, processed_at=utc_now())
            .on_conflict_do_nothing(index_elements=["channel", "delivery_id"])
            .returning(ProcessedDeliveryRow.id)
        )
        with self._db.transaction() as session:
            return session.execute(statement).first() is not None


class SqlTranscriptLog:
    """`TranscriptLog` on `transcript_messages`."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def append(self, entries: Sequence[TranscriptEntry]) -> None:
        """Insert the entries in order."""
        with self._db.transaction() as session:
            session.add_all(
                TranscriptMessageRow(
                    channel=e.channel,
                    conversation_id=e.conversation_id,
                    user_id=e.user_id,
                    direction=e.direction,
                    text=e.text,
                    intent_id=e.intent_id,
                    score=e.score,
                    at=e.at,
                )
                for e in entries
            )

    def conversation(self, channel: str, conversation_id: str) -> list[TranscriptEntry]:
        """The conversation's messages, oldest first."""
        query = (
            select(TranscriptMessageRow)
            .where(
                TranscriptMessageRow.channel == channel,
                TranscriptMessageRow.conversation_id == conversation_id,
            )
            .order_by(TranscriptMessageRow.id)
        )
        with self._db.transaction() as session:
            return [
                TranscriptEntry(
                    row.channel,
                    row.conversation_id,
                    row.user_id,
                    "in" if row.direction == "in" else "out",
                    row.text,
                    row.at,
                    intent_id=row.intent_id,
                    score=row.score,
                )
                for row in session.scalars(query)
            ]


class SqlQuestionLog:
    """`QuestionLog` on `unanswered_questions`."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def record(self, question: UnansweredQuestion) -> None:
        """Insert one question (its text and detail cut to `MAX_EVENT_TEXT`)."""
        with self._db.transaction() as session:
            session.add(
                UnansweredQuestionRow(
                    channel=question.channel,
                    conversation_id=question.conversation_id,
                    user_id=question.user_id,
                    text=clip(question.text) or "",
                    language=question.language,
                    best_intent=question.best_intent,
                    best_score=question.best_score,
                    at=question.at,
                    reason=question.reason,
                    detail=clip(question.detail),
                )
            )

    def replied(self, channel: str, conversation_id: str, since: datetime, reply: str) -> int:
        """The consultant's reply as the detail of the conversation's handoff misses."""
        row = UnansweredQuestionRow
        statement = (
            update(row)
            .where(
                row.channel == channel,
                row.conversation_id == conversation_id,
                row.reason == "handoff",
                row.detail.is_(None),
                row.at >= since,
            )
            .values(detail=clip(reply))
        )
        with self._db.transaction() as session:
            return int(cast(CursorResult[Any], session.execute(statement)).rowcount)

    def recent(self, limit: int = 100) -> list[UnansweredQuestion]:
        """The newest questions first."""
        query = (
            select(UnansweredQuestionRow)
            .order_by(UnansweredQuestionRow.at.desc(), UnansweredQuestionRow.id.desc())
            .limit(limit)
        )
        with self._db.transaction() as session:
            return [
                UnansweredQuestion(
                    row.channel,
                    row.conversation_id,
                    row.user_id,
                    row.text,
                    row.language,
                    row.at,
                    best_intent=row.best_intent,
                    best_score=row.best_score,
                    reason=cast(MissReason, row.reason),
                    detail=row.detail,
                )
                for row in session.scalars(query)
            ]
