"""The database schema. Constraint names follow one convention so migrations can name them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    Dialect,
    Double,
    ForeignKey,
    Index,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Timestamps stored in UTC and always read back timezone-aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; the bot stores UTC-aware timestamps only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Json = JSON().with_variant(JSONB(), "postgresql")


def utc_now() -> datetime:
    """Default for created/updated columns."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Base of every table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime(), str: String(255)}


class ConversationRow(Base):
    """One conversation's state; `version` guards against two writers."""

    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("channel", "conversation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    conversation_id: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[str] = mapped_column(String(128), index=True)
    language: Mapped[str | None] = mapped_column(String(8))
    language_chosen: Mapped[bool] = mapped_column(default=False)
    form: Mapped[dict[str, Any] | None] = mapped_column(Json)
    source: Mapped[str | None] = mapped_column(String(128))
    last_question: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(default=1)
    # When the lead form was first started here (the funnel's second step).
    form_started_at: Mapped[datetime | None] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)


class TranscriptMessageRow(Base):
    """One message said in a conversation, in either direction."""

    __tablename__ = "transcript_messages"
    __table_args__ = (
        CheckConstraint("direction IN ('in', 'out')", name="direction"),
        Index("ix_transcript_messages_conversation", "channel", "conversation_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    conversation_id: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[str] = mapped_column(String(128), index=True)
    direction: Mapped[str] = mapped_column(String(3))
    text: Mapped[str] = mapped_column(Text)
    intent_id: Mapped[str | None] = mapped_column(String(64))
    score: Mapped[float | None]
    at: Mapped[datetime] = mapped_column(index=True)


class UnansweredQuestionRow(Base):
    """A question no intent answered."""

    __tablename__ = "unanswered_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    conversation_id: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[str] = mapped_column(String(128), index=True)
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8))
    best_intent: Mapped[str | None] = mapped_column(String(64))
    best_score: Mapped[float | None]
    at: Mapped[datetime] = mapped_column(index=True)
    # Set when an admin dealt with it: added as an example of `handled_intent`, or dismissed
    # (`handled_intent` null). Handled questions leave the admin's list.
    handled_at: Mapped[datetime | None]
    handled_by: Mapped[str | None] = mapped_column(String(320))
    handled_intent: Mapped[str | None] = mapped_column(String(64))
    # Why it is a miss (`bot.core.records.MissReason`); rows from before issue 15 were all
    # fallbacks. `detail`: the 👎's comment, or the consultant's first reply.
    reason: Mapped[str] = mapped_column(String(16), default="fallback", server_default="fallback")
    detail: Mapped[str | None] = mapped_column(Text)


class ConsentRecordRow(Base):
    """Evidence of a consent choice; rows are only ever added."""

    __tablename__ = "consent_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(128), index=True)
    notice_version: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(8))
    granted: Mapped[bool]
    event_id: Mapped[str | None] = mapped_column(String(128))
    at: Mapped[datetime]


class LeadRow(Base):
    """A prospect who asked to be contacted."""

    __tablename__ = "leads"
    __table_args__ = (
        CheckConstraint(
            "status IN ('new', 'contacted', 'qualified', 'won', 'lost')", name="status"
        ),
        Index("ix_leads_channel_user", "channel", "user_id"),
        # The leads API's feed pages through leads in this order.
        Index("ix_leads_updated", "updated_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(128))
    conversation_id: Mapped[str] = mapped_column(String(128))
    language: Mapped[str] = mapped_column(String(8))
    consent_id: Mapped[int] = mapped_column(ForeignKey("consent_records.id"))
    name: Mapped[str | None]
    email: Mapped[str | None] = mapped_column(String(320))
    email_key: Mapped[str | None] = mapped_column(String(320), index=True)
    company: Mapped[str | None]
    phone: Mapped[str | None] = mapped_column(String(32))
    country: Mapped[str | None] = mapped_column(String(64))
    interest: Mapped[str | None] = mapped_column(String(64), index=True)
    timeline: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    question: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(128))
    owner: Mapped[str | None] = mapped_column(String(128))
    score: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16), default="new", index=True)
    answers: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    created_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)
    # Where the lead's Slack card was posted, so that erasing the lead can delete it.
    card_channel: Mapped[str | None] = mapped_column(String(32))
    card_ts: Mapped[str | None] = mapped_column(String(32))


class LeadEventRow(Base):
    """One entry of a lead's history."""

    __tablename__ = "lead_events"
    __table_args__ = (
        CheckConstraint("kind IN ('created', 'updated', 'status', 'claimed')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    # The lead form this event came from: unique, so one form is never stored twice.
    submission_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(128))
    status: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    changes: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)


class OutboxRow(Base):
    """A sales notification waiting to be delivered; written with the lead, in one transaction.

    It names the lead rather than copying it, so it never holds personal data of its own.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint("kind IN ('lead_created', 'lead_updated')", name="kind"),
        Index("ix_outbox_due", "delivered_at", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]


class OutgoingMessageRow(Base):
    """A message to a person that the platform did not take yet; retried until it does."""

    __tablename__ = "outgoing_messages"
    __table_args__ = (Index("ix_outgoing_messages_due", "sent_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[str] = mapped_column(String(128), index=True)
    body: Mapped[dict[str, Any]] = mapped_column(Json)
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]


class ErasureRow(Base):
    """That someone's data was erased, and how much: no personal data, only a one-way hash."""

    __tablename__ = "erasures"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime]
    counts: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)


class ProcessedDeliveryRow(Base):
    """A platform delivery (Telegram update, Slack event) already taken in: the inbox.

    While a delivery taken in with its payload is not answered, `lease_until` says until when
    the replica holding it (attempt number `attempts`) may answer it before anyone may replay
    it; `replies` are what the engine decided for it. Answered, it keeps only its key.
    """

    __tablename__ = "processed_deliveries"
    __table_args__ = (UniqueConstraint("channel", "delivery_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    delivery_id: Mapped[str] = mapped_column(String(128))
    processed_at: Mapped[datetime] = mapped_column(default=utc_now, index=True)
    payload: Mapped[dict[str, Any] | None] = mapped_column(Json)
    replies: Mapped[list[dict[str, Any]] | None] = mapped_column(Json)
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    lease_until: Mapped[datetime | None] = mapped_column(index=True)
    answered_at: Mapped[datetime | None]


class StaffUserRow(Base):
    """A person who logs in to the web app: sales staff or an admin."""

    __tablename__ = "staff_users"
    __table_args__ = (CheckConstraint("role IN ('sales', 'admin')", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # lower-cased
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(256))
    disabled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    created_by: Mapped[str] = mapped_column(String(320))
    last_login_at: Mapped[datetime | None]


class StaffSessionRow(Base):
    """A logged-in browser. The id is the SHA-256 of the cookie's value, never the value."""

    __tablename__ = "staff_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), index=True
    )
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    last_seen_at: Mapped[datetime] = mapped_column(default=utc_now)


class LoginFailureRow(Base):
    """A failed login, by e-mail and by client address, for throttling across replicas."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(320), index=True)
    at: Mapped[datetime] = mapped_column(default=utc_now, index=True)


class ApiTokenRow(Base):
    """A bearer token for the API and its scope (`bot.core.staff.Scope`). Only its SHA-256
    is stored; it is shown once."""

    __tablename__ = "api_tokens"
    __table_args__ = (CheckConstraint("scope IN ('leads:read', 'catalog:admin')", name="scope"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    created_by: Mapped[str] = mapped_column(String(320))
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # Tokens made before scopes existed read the leads, as they always did.
    scope: Mapped[str] = mapped_column(
        String(32), default="leads:read", server_default="leads:read"
    )


class AuditEntryRow(Base):
    """One change made through the web app or the admin commands: who, what, when."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utc_now, index=True)
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(256))
    details: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)


class RateBudgetRow(Base):
    """The next free slot of one rate limit shared by the replicas (GCRA's theoretical
    arrival time), in seconds since the epoch; also a scope's pause after a 429."""

    __tablename__ = "rate_budgets"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    next_free: Mapped[float] = mapped_column(Double)


class CatalogBlobRow(Base):
    """A content file's text, stored once however many revisions share it."""

    __tablename__ = "catalog_blobs"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the text
    text: Mapped[str] = mapped_column(Text)


class CatalogRevisionRow(Base):
    """One state of the whole intent catalog; the newest is what every replica serves.

    `parent` is unique: two revisions saved from the same parent at once cannot both land,
    so one admin's save never silently replaces another's.
    """

    __tablename__ = "catalog_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    parent: Mapped[int] = mapped_column(unique=True)
    digest: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    kind: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str] = mapped_column(Text, default="")
    changes: Mapped[list[list[str]]] = mapped_column(Json)  # [[kind, subject], ...]
    manifest: Mapped[dict[str, str]] = mapped_column(Json)  # path -> blob digest


class PeriodicRunRow(Base):
    """A periodic job done for one period (a week): the primary key lets one replica in."""

    __tablename__ = "periodic_runs"

    job: Mapped[str] = mapped_column(String(64), primary_key=True)
    period: Mapped[str] = mapped_column(String(32), primary_key=True)
    ran_by: Mapped[str] = mapped_column(String(320))
    ran_at: Mapped[datetime] = mapped_column(default=utc_now)


class ConversationEventRow(Base):
    """One thing that happened in a conversation (`bot.core.records.ConversationEvent`): the
    log every funnel number is counted from. A feedback event shares `answer_key` with the
    answer it rates."""

    __tablename__ = "conversation_events"
    __table_args__ = (
        CheckConstraint("kind IN ('turn', 'feedback', 'handoff', 'lead')", name="kind"),
        Index("ix_conversation_events_kind_at", "kind", "at"),
        Index("ix_conversation_events_conversation", "channel", "conversation_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    conversation_id: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[str] = mapped_column(String(128), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime]
    outcome: Mapped[str | None] = mapped_column(String(32))
    language: Mapped[str | None] = mapped_column(String(8))
    intent_id: Mapped[str | None] = mapped_column(String(64))
    score: Mapped[float | None]
    catalog: Mapped[str | None] = mapped_column(String(64))
    answer_key: Mapped[str | None] = mapped_column(String(64), index=True)
    text: Mapped[str | None] = mapped_column(Text)


HANDOFF_OPEN_SQL = "status IN ('waiting', 'held')"


class HandoffRow(Base):
    """A conversation handed to a person on the sales team (`bot.core.records.Handoff`).

    The partial unique index lets a conversation have one open (waiting or held) handoff at
    most, whatever replicas ask at once.
    """

    __tablename__ = "handoffs"
    __table_args__ = (
        CheckConstraint("status IN ('waiting', 'held', 'closed')", name="status"),
        Index(
            "ix_handoffs_open",
            "channel",
            "conversation_id",
            unique=True,
            sqlite_where=sql_text(HANDOFF_OPEN_SQL),
            postgresql_where=sql_text(HANDOFF_OPEN_SQL),
        ),
        Index("ix_handoffs_conversation", "channel", "conversation_id", "id"),
        Index("ix_handoffs_person", "channel", "user_id"),
        Index("ix_handoffs_thread", "thread_channel", "thread_ts"),
        Index("ix_handoffs_status", "status", "requested_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    conversation_id: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[str] = mapped_column(String(128))
    language: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))
    requested_at: Mapped[datetime]
    question: Mapped[str | None] = mapped_column(Text)
    display_name: Mapped[str | None]
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    rep_name: Mapped[str | None]
    claimed_at: Mapped[datetime | None]
    first_reply_at: Mapped[datetime | None]
    last_rep_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    close_reason: Mapped[str | None] = mapped_column(String(16))
    thread_channel: Mapped[str | None] = mapped_column(String(32))
    thread_ts: Mapped[str | None] = mapped_column(String(32))
    # An erased lead leaves the (redacted) handoff behind.
    lead_id: Mapped[int | None] = mapped_column(
        ForeignKey("leads.id", ondelete="SET NULL"), index=True
    )


class RelayItemRow(Base):
    """A message of a handoff waiting to be relayed (`bot.core.records.RelayItem`), written in
    the transaction that changed the handoff. Settled once `sent_at` or `failed_at` is set;
    `posted_ts` is our Slack post's ts, kept so that it can be deleted."""

    __tablename__ = "relay_items"
    __table_args__ = (
        CheckConstraint("direction IN ('to_thread', 'to_prospect')", name="direction"),
        CheckConstraint("kind IN ('open', 'text', 'notice', 'delete')", name="kind"),
        Index("ix_relay_items_due", "sent_at", "failed_at", "next_attempt_at"),
        Index("ix_relay_items_queue", "handoff_id", "direction", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    handoff_id: Mapped[int] = mapped_column(ForeignKey("handoffs.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    text: Mapped[str | None] = mapped_column(Text)
    notice: Mapped[str | None] = mapped_column(String(64))
    params: Mapped[dict[str, str]] = mapped_column(Json, default=dict)
    target_ts: Mapped[str | None] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    posted_ts: Mapped[str | None] = mapped_column(String(32))


class QuestionGroupRow(Base):
    """A group of misses alike in meaning (`bot.core.questions`): the vector of the question
    that started it (half precision), under one way of embedding (`model`)."""

    __tablename__ = "question_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    model: Mapped[str] = mapped_column(String(64), index=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]


class QuestionGroupingRow(Base):
    """The group an open miss joined when it was first grouped, per way of embedding; dropped
    with the miss, and once the miss is handled."""

    __tablename__ = "question_groupings"
    __table_args__ = (Index("ix_question_groupings_group", "group_id", "question_id"),)

    question_id: Mapped[int] = mapped_column(
        ForeignKey("unanswered_questions.id", ondelete="CASCADE"), primary_key=True
    )
    model: Mapped[str] = mapped_column(String(64), primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("question_groups.id", ondelete="CASCADE"))
