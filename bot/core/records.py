"""Records the core writes through its ports: transcripts, unanswered questions, leads, consent."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Direction = Literal["in", "out"]
MissReason = Literal["fallback", "thumbs_down", "clarify", "handoff"]
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
    # Why it is a miss: `fallback` (no answer), `thumbs_down` (the answer to it got a 👎;
    # `best_intent` is that answer's intent), `clarify` (the bot had to ask "did you mean", and
    # `best_intent` is what the person chose), `handoff` (it led the person to ask for a human;
    # `detail` gets the consultant's first reply).
    reason: MissReason = "fallback"
    detail: str | None = None  # the 👎's comment, or the consultant's reply


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
    user_id: str | None = None  # one person's (with `channel`)
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


# -- the event log, feedback and handoffs (issue 15) -------------------------------------------

EventKind = Literal[
    "turn",  # a message handled: `outcome` is the engine's (match, clarify, fallback, form, ...)
    "feedback",  # 👍/👎 on an answer: `outcome` up|down, `answer_key` the answer's
    "handoff",  # a handoff's step: `outcome` requested|claimed|human_reply|closed|unclaimed|...
    "lead",  # a lead form confirmed: `outcome` created|updated
]
MAX_EVENT_TEXT = 300  # characters of a question or comment an event keeps


@dataclass(frozen=True, slots=True)
class ConversationEvent:
    """One thing that happened in a conversation: the one log behind every funnel number.

    An answer that offered 👍/👎 carries `answer_key` (its buttons' payloads name it) and the
    question it answered in `text`; a feedback event names the same key, and the comment, if
    any, in `text`.
    """

    channel: str
    conversation_id: str
    user_id: str
    kind: EventKind
    at: datetime
    outcome: str | None = None
    language: str | None = None
    intent_id: str | None = None
    score: float | None = None
    catalog: str | None = None  # the catalog's fingerprint when the answer was given
    answer_key: str | None = None
    text: str | None = None
    id: int | None = None


HandoffStatus = Literal["waiting", "held", "closed"]
HANDOFF_OPEN: tuple[HandoffStatus, ...] = ("waiting", "held")
CloseReason = Literal[
    "rep",  # the consultant closed it (button or word in the thread)
    "prospect",  # the prospect ended it
    "rep_silent",  # the consultant said nothing for too long: back to the bot
    "unclaimed",  # nobody took it in time
    "after_hours",  # asked outside office hours: the thread says so, the bot stays on
    "erased",  # the prospect erased their data
]


@dataclass(frozen=True, slots=True)
class Handoff:
    """A conversation handed to a person on the sales team, from the request to its close.

    While it is `waiting` (for someone to take it) or `held` (by `rep_name`), the bot says
    nothing in the conversation: the prospect's messages go to the Slack thread, the
    consultant's replies come back.
    """

    id: int
    channel: str
    conversation_id: str
    user_id: str
    language: str
    status: HandoffStatus
    requested_at: datetime
    question: str | None = None  # what the prospect asked before asking for a person
    display_name: str | None = None  # the prospect's name as the platform gave it
    claimed_by: str | None = None  # the consultant's Slack user id
    rep_name: str | None = None  # the consultant's display name, shown to the prospect
    claimed_at: datetime | None = None
    first_reply_at: datetime | None = None
    last_rep_at: datetime | None = None
    closed_at: datetime | None = None
    close_reason: CloseReason | None = None
    thread_channel: str | None = None  # the Slack channel and ts of the thread's first post
    thread_ts: str | None = None
    lead_id: int | None = None

    @property
    def open(self) -> bool:
        """Whether a person (not the bot) has the conversation."""
        return self.status in HANDOFF_OPEN


@dataclass(frozen=True, slots=True)
class NewHandoff:
    """A request for a person, as the engine makes it."""

    channel: str
    conversation_id: str
    user_id: str
    language: str
    requested_at: datetime
    question: str | None = None
    display_name: str | None = None
    lead_id: int | None = None
    closed_reason: CloseReason | None = None  # after hours: recorded, and closed at once


RelayDirection = Literal["to_thread", "to_prospect"]
RelayKind = Literal[
    "open",  # the thread's first post: summary, lead fields, conversation so far (built when sent)
    "text",  # a message said by the prospect (to the thread) or the consultant (to the prospect)
    "notice",  # something the bot says about the handoff: `notice` names the text, `params` fill it
    "delete",  # remove our post `target_ts` from the thread (the prospect erased their data)
]


@dataclass(frozen=True, slots=True)
class RelayDraft:
    """A message to queue for a handoff (see `RelayItem`)."""

    direction: RelayDirection
    kind: RelayKind
    text: str | None = None
    notice: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    target_ts: str | None = None


@dataclass(frozen=True, slots=True)
class RelayItem:
    """One message of a handoff waiting in the outbox: delivered once, in order per handoff
    and direction, whatever replica sends it."""

    id: int
    handoff_id: int
    direction: RelayDirection
    kind: RelayKind
    created_at: datetime
    text: str | None = None
    notice: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    target_ts: str | None = None
    attempts: int = 0
