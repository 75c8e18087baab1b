"""SQL implementations of the core's ports, one short transaction per call.

A message's path (the conversation, its transcript, the inbox) uses SQLAlchemy Core on the
session's connection rather than the ORM's unit of work: the same statements for a fraction of
the CPU (bench/load.py), and an error comes from the statement that caused it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    CursorResult,
    Insert,
    Table,
    Update,
    bindparam,
    func,
    insert,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from bot.core.messages import Language
from bot.core.ports import Delivery, StaleState
from bot.core.records import MissReason, TranscriptEntry, UnansweredQuestion
from bot.core.state import ConversationState
from storage.db import Database
from storage.events import clip
from storage.models import (
    Base,
    ConversationRow,
    ProcessedDeliveryRow,
    TranscriptMessageRow,
    UnansweredQuestionRow,
    utc_now,
)


def table_of(model: type[Base]) -> Table:
    """A model's table, for SQLAlchemy Core."""
    return cast(Table, model.__table__)


def bound(column: ColumnElement[Any]) -> BindParameter[Any]:
    """A parameter for `column`'s new value, of its type (`v_<name>`: apart from the
    parameters of a WHERE clause)."""
    return bindparam(f"v_{column.key}", type_=column.type)


# The statements asked of every message, built once (SQLAlchemy then reuses their compiled
# form without building and hashing them again).
_C = table_of(ConversationRow).c
_LOAD = select(
    _C.channel,
    _C.conversation_id,
    _C.user_id,
    _C.language,
    _C.language_chosen,
    _C.form,
    _C.source,
    _C.last_question,
    _C.version,
).where(_C.channel == bindparam("b_channel"), _C.conversation_id == bindparam("b_conversation"))
_CREATE = insert(table_of(ConversationRow))
_SAVED = (
    _C.user_id,
    _C.language,
    _C.language_chosen,
    _C.form,
    _C.source,
    _C.last_question,
    _C.version,
    _C.updated_at,
)
_SAVE = (
    update(table_of(ConversationRow))
    .where(
        _C.channel == bindparam("b_channel"),
        _C.conversation_id == bindparam("b_conversation"),
        _C.version == bindparam("b_version"),
    )
    .values({column: bound(column) for column in _SAVED})
)
# In a lead form: when it started (the first save of it).
_SAVE_IN_FORM = _SAVE.values(
    form_started_at=func.coalesce(_C.form_started_at, bound(_C.updated_at))
)
_TRANSCRIPT = insert(table_of(TranscriptMessageRow))
_QUESTION = insert(table_of(UnansweredQuestionRow))


class SqlConversationStore:
    """`ConversationStore` on the `conversations` table."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def load(self, channel: str, conversation_id: str) -> ConversationState | None:
        """The stored state, or None."""
        where = {"b_channel": channel, "b_conversation": conversation_id}
        with self._db.transaction() as session:
            row = session.connection().execute(_LOAD, where).one_or_none()
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
                connection = session.connection()
                if state.version == 0:
                    connection.execute(
                        _CREATE,
                        {
                            "channel": state.channel,
                            "conversation_id": state.conversation_id,
                            "form_started_at": values["updated_at"] if lead_form else None,
                            **values,
                        },
                    )
                else:
                    result = connection.execute(
                        _SAVE_IN_FORM if lead_form else _SAVE,
                        {
                            "b_channel": state.channel,
                            "b_conversation": state.conversation_id,
                            "b_version": state.version,
                            **{f"v_{name}": value for name, value in values.items()},
                        },
                    )
                    if result.rowcount != 1:
                        raise StaleState(state.conversation_id)
        except IntegrityError as exc:  # two first messages of a new conversation
            raise StaleState(state.conversation_id) from exc
        return replace(state, version=state.version + 1)


_D = table_of(ProcessedDeliveryRow).c
_D_HELD = (
    _D.channel == bindparam("b_channel"),
    _D.delivery_id == bindparam("b_delivery"),
    _D.attempts == bindparam("b_attempt"),
    _D.answered_at.is_(None),
)
_HOLD = (
    update(table_of(ProcessedDeliveryRow)).where(*_D_HELD).values(lease_until=bound(_D.lease_until))
)
_HOLD_WITH_REPLIES = _HOLD.values(replies=bound(_D.replies))
_ANSWERED_MANY = (
    update(table_of(ProcessedDeliveryRow))
    .where(
        _D.channel == bindparam("b_channel"),
        tuple_(_D.delivery_id, _D.attempts).in_(bindparam("b_marks", expanding=True)),
        _D.answered_at.is_(None),
    )
    .values(answered_at=bound(_D.answered_at), lease_until=None, payload=None, replies=None)
)


class SqlDeliveryLog:
    """`DeliveryLog` on `processed_deliveries` (the inbox); its unique key settles races
    between replicas, and one conditional UPDATE gives each due delivery to one replica."""

    def __init__(self, database: Database) -> None:
        self._db = database
        postgresql_ = database.engine.dialect.name == "postgresql"
        insert_: Any = postgresql.insert if postgresql_ else sqlite.insert
        # Built once: asked of every delivery.
        self._new: Insert = (
            insert_(table_of(ProcessedDeliveryRow))
            .on_conflict_do_nothing(index_elements=["channel", "delivery_id"])
            .returning(_D.id)
        )

    def _insert(self, **values: Any) -> bool:
        with self._db.transaction() as session:
            taken = session.connection().execute(self._new, {"processed_at": utc_now(), **values})
            return taken.first() is not None

    def first_delivery(self, channel: str, delivery_id: str) -> bool:
        """Insert the delivery unless present; True if this call inserted it."""
        return self._insert(channel=channel, delivery_id=delivery_id)

    def take_in(
        self, channel: str, delivery_id: str, payload: Mapping[str, Any], lease_until: datetime
    ) -> bool:
        """Insert the delivery with its payload, held as attempt 1, unless present."""
        return self._insert(
            channel=channel,
            delivery_id=delivery_id,
            payload=dict(payload),
            attempts=1,
            lease_until=lease_until,
        )

    def _held_by(self, channel: str, delivery_id: str, attempt: int) -> Update:
        row = ProcessedDeliveryRow
        return update(row).where(
            row.channel == channel,
            row.delivery_id == delivery_id,
            row.attempts == attempt,
            row.answered_at.is_(None),
        )

    def hold(
        self,
        channel: str,
        delivery_id: str,
        attempt: int,
        lease_until: datetime,
        replies: Sequence[Mapping[str, Any]] | None = None,
    ) -> bool:
        """Extend the lease of the holding attempt (and keep its replies)."""
        held: dict[str, Any] = {
            "b_channel": channel,
            "b_delivery": delivery_id,
            "b_attempt": attempt,
            "v_lease_until": lease_until,
        }
        statement = _HOLD
        if replies is not None:
            statement = _HOLD_WITH_REPLIES
            held["v_replies"] = [dict(reply) for reply in replies]
        with self._db.transaction() as session:
            return session.connection().execute(statement, held).rowcount == 1

    def answered(self, channel: str, delivery_id: str, attempt: int, at: datetime) -> bool:
        """Mark answered by the holding attempt; the payload and replies go."""
        statement = self._held_by(channel, delivery_id, attempt).values(
            answered_at=at, lease_until=None, payload=None, replies=None
        )
        with self._db.transaction() as session:
            return cast(CursorResult[Any], session.execute(statement)).rowcount == 1

    def answered_many(self, channel: str, marks: Sequence[tuple[str, int]], at: datetime) -> int:
        """Mark each (delivery_id, attempt) answered, in one UPDATE."""
        if not marks:
            return 0
        given = {
            "b_channel": channel,
            "b_marks": [tuple(mark) for mark in marks],
            "v_answered_at": at,
        }
        with self._db.transaction() as session:
            return session.connection().execute(_ANSWERED_MANY, given).rowcount

    def due(
        self, channel: str, now: datetime, lease_until: datetime, limit: int, max_attempts: int
    ) -> list[Delivery]:
        """One UPDATE takes the due rows; a row another replica took meanwhile no longer
        matches its WHERE (PostgreSQL re-checks it after the other's commit; SQLite writes
        one transaction at a time), so each row goes to one caller only."""
        row = ProcessedDeliveryRow
        expired = (
            row.channel == channel,
            row.lease_until < now,
            row.answered_at.is_(None),
            row.payload.is_not(None),
            row.attempts < max_attempts,
        )
        oldest = (
            select(row.id)
            .where(*expired)
            .order_by(row.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        statement = (
            update(row)
            .where(row.id.in_(oldest), *expired)
            .values(attempts=row.attempts + 1, lease_until=lease_until)
            .returning(row.id, row.delivery_id, row.payload, row.attempts, row.replies)
        )
        with self._db.transaction() as session:
            taken = sorted(session.execute(statement).all(), key=lambda found: int(found[0]))
        return [
            Delivery(channel, delivery_id, payload or {}, attempts, replies)
            for _, delivery_id, payload, attempts, replies in taken
        ]

    def file(
        self,
        channel: str,
        delivery_id: str,
        payload: Mapping[str, Any],
        answered_at: datetime | None,
        now: datetime,
    ) -> None:
        """Insert the spooled delivery (answered, or due now as attempt 1); an answered one
        also marks a row another replica took in meanwhile answered."""
        row = ProcessedDeliveryRow
        with self._db.transaction() as session:
            new = {"channel": channel, "delivery_id": delivery_id, "processed_at": utc_now()}
            if answered_at is None:
                later = {"payload": dict(payload), "attempts": 1, "lease_until": now}
                session.connection().execute(self._new, {**new, **later})
                return
            session.connection().execute(self._new, {**new, "answered_at": answered_at})
            session.execute(
                update(row)
                .where(
                    row.channel == channel,
                    row.delivery_id == delivery_id,
                    row.answered_at.is_(None),
                )
                .values(answered_at=answered_at, lease_until=None, payload=None, replies=None)
            )


class SqlTranscriptLog:
    """`TranscriptLog` on `transcript_messages`."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def append(self, entries: Sequence[TranscriptEntry]) -> None:
        """Insert the entries in order."""
        if not entries:
            return
        rows = [
            {
                "channel": e.channel,
                "conversation_id": e.conversation_id,
                "user_id": e.user_id,
                "direction": e.direction,
                "text": e.text,
                "intent_id": e.intent_id,
                "score": e.score,
                "at": e.at,
            }
            for e in entries
        ]
        with self._db.transaction() as session:
            session.connection().execute(_TRANSCRIPT, rows)

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
            session.connection().execute(
                _QUESTION,
                {
                    "channel": question.channel,
                    "conversation_id": question.conversation_id,
                    "user_id": question.user_id,
                    "text": clip(question.text) or "",
                    "language": question.language,
                    "best_intent": question.best_intent,
                    "best_score": question.best_score,
                    "at": question.at,
                    "reason": question.reason,
                    "detail": clip(question.detail),
                },
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
