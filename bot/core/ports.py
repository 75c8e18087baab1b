"""The ports the engine works through; `storage` implements them, tests fake them.

Each method is one short unit of work. A store that cannot reach its database raises
`StorageUnavailable`, so the engine can keep answering and say what it could not keep.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bot.core.records import ConsentRecord, Lead, TranscriptEntry, UnansweredQuestion
from bot.core.state import ConversationState


class StorageUnavailable(Exception):
    """The database could not be reached; nothing was written."""


class StaleState(Exception):
    """Another message of the same conversation saved first; load again and redo the turn."""


class ConversationStore(Protocol):
    """Conversation state, keyed by `(channel, conversation_id)`."""

    def load(self, channel: str, conversation_id: str) -> ConversationState | None:
        """The stored state, or None for a conversation never saved."""
        ...

    def save(self, state: ConversationState) -> ConversationState:
        """Store `state` if the stored version is still `state.version`; return it one higher.

        Raises `StaleState` when another save came first.
        """
        ...


class DeliveryLog(Protocol):
    """Platform deliveries already processed, so a redelivery is not answered twice."""

    def first_delivery(self, channel: str, delivery_id: str) -> bool:
        """Record the delivery; True the first time it is seen, False ever after."""
        ...


class TranscriptLog(Protocol):
    """Every message of every conversation, in order."""

    def append(self, entries: Sequence[TranscriptEntry]) -> None:
        """Add `entries`, in order, in one unit of work."""
        ...

    def conversation(self, channel: str, conversation_id: str) -> list[TranscriptEntry]:
        """The conversation's messages, oldest first."""
        ...


class QuestionLog(Protocol):
    """Questions the bot could not answer."""

    def record(self, question: UnansweredQuestion) -> None:
        """Keep one unanswered question."""
        ...

    def recent(self, limit: int = 100) -> list[UnansweredQuestion]:
        """The latest unanswered questions, newest first."""
        ...


class LeadRepository(Protocol):
    """Leads and the consent records behind them."""

    def record_consent(self, consent: ConsentRecord) -> ConsentRecord:
        """Append a consent record; return it with its id."""
        ...

    def consent(self, consent_id: int) -> ConsentRecord | None:
        """One consent record."""
        ...

    def add(self, lead: Lead) -> Lead:
        """Store a new lead; return it with its id."""
        ...

    def get(self, lead_id: int) -> Lead | None:
        """One lead, or None."""
        ...

    def recent(self, limit: int = 50) -> list[Lead]:
        """The latest leads, newest first."""
        ...


class Notifier(Protocol):
    """Tells sales staff about something that needs them (a new lead)."""

    def notify(self, lead: Lead) -> None:
        """Deliver the news about `lead`, or raise so the outbox retries later."""
        ...
