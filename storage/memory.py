"""In-memory implementations of the core's ports, with the same behaviour as the SQL ones.

For tests and for trying the engine without a database; nothing survives the process.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace

from bot.core.ports import StaleState
from bot.core.records import ConsentRecord, Lead, TranscriptEntry, UnansweredQuestion
from bot.core.state import ConversationState


class MemoryConversationStore:
    """`ConversationStore` in a dict."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._states: dict[tuple[str, str], ConversationState] = {}

    def load(self, channel: str, conversation_id: str) -> ConversationState | None:
        """The stored state, or None."""
        with self._lock:
            return self._states.get((channel, conversation_id))

    def save(self, state: ConversationState) -> ConversationState:
        """Store if the stored version is still `state.version`."""
        key = (state.channel, state.conversation_id)
        with self._lock:
            stored = self._states.get(key)
            if (stored.version if stored else 0) != state.version:
                raise StaleState(state.conversation_id)
            form = dict(state.form) if state.form is not None else None
            saved = replace(state, form=form, version=state.version + 1)
            self._states[key] = saved
            return saved


class MemoryDeliveryLog:
    """`DeliveryLog` in a set."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: set[tuple[str, str]] = set()

    def first_delivery(self, channel: str, delivery_id: str) -> bool:
        """True the first time `(channel, delivery_id)` is seen."""
        with self._lock:
            if (channel, delivery_id) in self._seen:
                return False
            self._seen.add((channel, delivery_id))
            return True


class MemoryTranscriptLog:
    """`TranscriptLog` in a list."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[TranscriptEntry] = []

    def append(self, entries: Sequence[TranscriptEntry]) -> None:
        """Add the entries in order."""
        with self._lock:
            self._entries.extend(entries)

    def conversation(self, channel: str, conversation_id: str) -> list[TranscriptEntry]:
        """The conversation's messages, oldest first."""
        with self._lock:
            return [
                e
                for e in self._entries
                if e.channel == channel and e.conversation_id == conversation_id
            ]


class MemoryQuestionLog:
    """`QuestionLog` in a list."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._questions: list[UnansweredQuestion] = []

    def record(self, question: UnansweredQuestion) -> None:
        """Keep one question."""
        with self._lock:
            self._questions.append(question)

    def recent(self, limit: int = 100) -> list[UnansweredQuestion]:
        """The newest questions first."""
        with self._lock:
            ordered = sorted(enumerate(self._questions), key=lambda p: (p[1].at, p[0]))
            return [question for _, question in reversed(ordered)][:limit]


class MemoryLeadRepository:
    """`LeadRepository` in lists."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._consents: list[ConsentRecord] = []
        self._leads: list[Lead] = []

    def record_consent(self, consent: ConsentRecord) -> ConsentRecord:
        """Append a consent record."""
        with self._lock:
            stored = replace(consent, id=len(self._consents) + 1)
            self._consents.append(stored)
            return stored

    def consent(self, consent_id: int) -> ConsentRecord | None:
        """One consent record, or None."""
        with self._lock:
            return next((c for c in self._consents if c.id == consent_id), None)

    def add(self, lead: Lead) -> Lead:
        """Store a new lead; its consent record must exist, as the SQL foreign key demands."""
        with self._lock:
            if not any(c.id == lead.consent_id for c in self._consents):
                raise ValueError(f"no consent record {lead.consent_id}")
            stored = replace(lead, id=len(self._leads) + 1, answers=dict(lead.answers))
            self._leads.append(stored)
            return stored

    def get(self, lead_id: int) -> Lead | None:
        """One lead, or None."""
        with self._lock:
            return next((lead for lead in self._leads if lead.id == lead_id), None)

    def recent(self, limit: int = 50) -> list[Lead]:
        """The newest leads first."""
        with self._lock:
            ordered = sorted(self._leads, key=lambda lead: (lead.created_at, lead.id or 0))
            return list(reversed(ordered))[:limit]
