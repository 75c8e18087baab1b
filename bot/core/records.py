"""Records the core writes through its ports: transcripts, unanswered questions, leads, consent."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Direction = Literal["in", "out"]
LeadStatus = Literal["new", "contacted", "qualified", "won", "lost"]
LEAD_STATUSES: tuple[LeadStatus, ...] = ("new", "contacted", "qualified", "won", "lost")
OPEN_STATUSES: tuple[LeadStatus, ...] = ("new", "contacted", "qualified")


def email_key(email: str | None) -> str | None:
    """The form of an email address that identifies a person (its case does not)."""
    return email.strip().casefold() if email else None


def pseudonym(channel: str, user_id: str) -> str:
    """A one-way name for a person, for records that must not hold personal data."""
    return hashlib.sha256(f"{channel}:{user_id}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class TranscriptEntry:
    """One message of a conversation, as said by the person (`in`) or the bot (`out`)."""

    channel: str
    conversation_id: str
    user_id: str
    direction: Direction
    text: str
    at: datetime
    intent_id: str | None = None
    score: float | None = None


@dataclass(frozen=True, slots=True)
class UnansweredQuestion:
    """A question the bot could not answer, kept for admins to improve the catalog."""

    channel: str
    conversation_id: str
    user_id: str
    text: str
    language: str
    at: datetime
    best_intent: str | None = None
    best_score: float | None = None


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    """Evidence that a person agreed to have their data stored for a lead; append-only."""

    channel: str
    user_id: str
    notice_version: str
    language: str
    granted: bool
    at: datetime
    event_id: str | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class LeadSubmission:
    """A completed, confirmed lead form; `submission_id` makes submitting it idempotent."""

    submission_id: str
    channel: str
    user_id: str
    conversation_id: str
    language: str
    notice_version: str
    consented_at: datetime
    submitted_at: datetime
    answers: Mapping[str, str]
    score: int
    question: str | None = None
    source: str | None = None
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class Lead:
    """A prospect who asked to be contacted, with what they told us."""

    id: int
    channel: str
    user_id: str
    conversation_id: str
    language: str
    consent_id: int
    status: LeadStatus
    score: int
    created_at: datetime
    updated_at: datetime
    answers: Mapping[str, str] = field(default_factory=dict)
    question: str | None = None
    source: str | None = None
    owner: str | None = None  # who on the sales team claimed it, e.g. "slack:U0123"

    def answer(self, field_id: str) -> str | None:
        """One answer of the form, or None if it was skipped."""
        return self.answers.get(field_id) or None

    @property
    def name(self) -> str | None:
        """The prospect's name."""
        return self.answer("name")

    @property
    def email(self) -> str | None:
        """The prospect's email address."""
        return self.answer("email")


@dataclass(frozen=True, slots=True)
class LeadEvent:
    """One entry of a lead's history: created, updated by a new form, status changed."""

    lead_id: int
    at: datetime
    kind: Literal["created", "updated", "status", "claimed"]
    actor: str
    status: LeadStatus | None = None
    note: str | None = None
    changes: Mapping[str, tuple[str | None, str | None]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Submitted:
    """What submitting a lead form did: a new lead, or an update of the prospect's open one."""

    lead: Lead
    created: bool
    repeated: bool = False  # this very form was already stored; nothing changed


@dataclass(frozen=True, slots=True)
class LeadFilter:
    """Which leads to list; every criterion is optional."""

    status: LeadStatus | None = None
    since: datetime | None = None
    search: str | None = None
    channel: str | None = None
    interest: str | None = None
    language: str | None = None
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A message to a person that a platform did not accept yet (kept to be sent later)."""

    channel: str
    chat_id: str
    user_id: str
    body: Mapping[str, object]
    created_at: datetime
    id: int | None = None
    attempts: int = 0


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """A notification to deliver to sales, kept until it is delivered."""

    id: int
    kind: Literal["lead_created", "lead_updated"]
    lead_id: int
    created_at: datetime
    attempts: int = 0
