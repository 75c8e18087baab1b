"""Records the core writes through its ports: transcripts, unanswered questions, leads, consent."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Direction = Literal["in", "out"]
LeadStatus = Literal["new", "contacted", "qualified", "won", "lost"]


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
    """Evidence that a person agreed (or refused) to have their data stored; append-only."""

    channel: str
    user_id: str
    notice_version: str
    language: str
    granted: bool
    at: datetime
    event_id: str | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class Lead:
    """A prospect who asked to be contacted, with what they told us."""

    channel: str
    user_id: str
    conversation_id: str
    language: str
    consent_id: int
    created_at: datetime
    name: str
    email: str
    company: str | None = None
    phone: str | None = None
    country: str | None = None
    interest: str | None = None
    timeline: str | None = None
    note: str | None = None
    question: str | None = None
    source: str | None = None
    score: int = 0
    status: LeadStatus = "new"
    answers: Mapping[str, str] = field(default_factory=dict)
    id: int | None = None
