"""In-memory implementations of the core's ports, with the same behaviour as the SQL ones.

For tests and for trying the engine without a database; nothing survives the process.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

from bot.core.ports import (
    LEASE,
    Budget,
    CatalogRevision,
    RevisionConflict,
    RevisionMeta,
    StaleState,
)
from bot.core.records import (
    OPEN_STATUSES,
    ConsentRecord,
    Lead,
    LeadEvent,
    LeadFilter,
    LeadStatus,
    LeadSubmission,
    OutboxItem,
    OutgoingMessage,
    Submitted,
    TranscriptEntry,
    UnansweredQuestion,
    email_key,
    pseudonym,
)
from bot.core.state import ConversationState
from intents.snapshot import files_digest


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

    def all(self) -> list[ConversationState]:
        """Every stored conversation."""
        with self._lock:
            return list(self._states.values())

    def erase(self, channel: str, user_id: str) -> int:
        """Forget one person's conversations; how many."""
        with self._lock:
            mine = [
                k for k, s in self._states.items() if (s.channel, s.user_id) == (channel, user_id)
            ]
            for key in mine:
                del self._states[key]
            return len(mine)


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

    def all(self) -> list[TranscriptEntry]:
        """Every message."""
        with self._lock:
            return list(self._entries)

    def erase(self, channel: str, user_id: str) -> int:
        """Forget one person's messages; how many."""
        with self._lock:
            kept = [e for e in self._entries if (e.channel, e.user_id) != (channel, user_id)]
            erased, self._entries = len(self._entries) - len(kept), kept
            return erased


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

    def erase(self, channel: str, user_id: str) -> int:
        """Forget one person's questions; how many."""
        with self._lock:
            kept = [q for q in self._questions if (q.channel, q.user_id) != (channel, user_id)]
            erased, self._questions = len(self._questions) - len(kept), kept
            return erased


@dataclass
class _Outgoing:
    item: OutboxItem
    due: datetime
    delivered: datetime | None = None
    error: str | None = None


class MemoryLeadRepository:
    """`LeadRepository` in lists; its outbox is read by `MemoryOutbox`."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.consents: dict[int, ConsentRecord] = {}
        self.leads: dict[int, Lead] = {}
        self.events: list[tuple[str | None, LeadEvent]] = []
        self.outgoing: list[_Outgoing] = []

    def submit(self, submission: LeadSubmission) -> Submitted:
        """Store a confirmed form once: consent, lead (new or updated), history, outbox."""
        s = submission
        with self.lock:
            for submission_id, event in self.events:
                if submission_id == s.submission_id:
                    return Submitted(self.leads[event.lead_id], created=False, repeated=True)
            consent = ConsentRecord(
                s.channel,
                s.user_id,
                s.notice_version,
                s.language,
                True,
                s.consented_at,
                event_id=s.event_id,
                id=len(self.consents) + 1,
            )
            self.consents[consent.id or 0] = consent
            answers = {k: v for k, v in s.answers.items() if v}
            key = email_key(answers.get("email"))
            existing = [
                lead
                for lead in self.leads.values()
                if lead.status in OPEN_STATUSES
                and (
                    (lead.channel, lead.user_id) == (s.channel, s.user_id)
                    or (key and email_key(lead.email) == key)
                )
            ]
            if existing:
                old = max(existing, key=lambda lead: (lead.created_at, lead.id))
                changes = {
                    k: (old.answers.get(k), v)
                    for k, v in answers.items()
                    if old.answers.get(k) != v
                }
                lead = replace(
                    old,
                    answers={**old.answers, **answers},
                    consent_id=consent.id or 0,
                    score=s.score,
                    language=s.language,
                    updated_at=s.submitted_at,
                    question=s.question or old.question,
                    source=old.source or s.source,
                )
                kind: Literal["created", "updated"] = "updated"
            else:
                lead = Lead(
                    id=len(self.leads) + 1,
                    channel=s.channel,
                    user_id=s.user_id,
                    conversation_id=s.conversation_id,
                    language=s.language,
                    consent_id=consent.id or 0,
                    status="new",
                    score=s.score,
                    created_at=s.submitted_at,
                    updated_at=s.submitted_at,
                    answers=answers,
                    question=s.question,
                    source=s.source,
                )
                kind, changes = "created", {}
            self.leads[lead.id] = lead
            event = LeadEvent(
                lead.id, s.submitted_at, kind, f"{s.channel}:prospect", changes=changes
            )
            self.events.append((s.submission_id, event))
            notice: Literal["lead_created", "lead_updated"] = (
                "lead_created" if kind == "created" else "lead_updated"
            )
            item = OutboxItem(len(self.outgoing) + 1, notice, lead.id, s.submitted_at)
            self.outgoing.append(_Outgoing(item, s.submitted_at))
            return Submitted(lead, created=kind == "created")

    def get(self, lead_id: int) -> Lead | None:
        """One lead, or None."""
        with self.lock:
            return self.leads.get(lead_id)

    def find(self, criteria: LeadFilter) -> list[Lead]:
        """Leads matching `criteria`, newest first."""
        c = criteria
        needle = c.search.strip().casefold() if c.search else None
        with self.lock:
            leads = [
                lead
                for lead in self.leads.values()
                if (c.status is None or lead.status == c.status)
                and (c.since is None or lead.created_at >= c.since)
                and (c.channel is None or lead.channel == c.channel)
                and (c.interest is None or lead.answers.get("interest") == c.interest)
                and (c.language is None or lead.language == c.language)
                and (
                    needle is None
                    or any(
                        needle in (value or "").casefold()
                        for value in (*lead.answers.values(), lead.question)
                    )
                )
            ]
        leads.sort(key=lambda lead: (lead.created_at, lead.id), reverse=True)
        return leads[c.offset : c.offset + c.limit]

    def history(self, lead_id: int) -> list[LeadEvent]:
        """A lead's events, oldest first."""
        with self.lock:
            return [event for _, event in self.events if event.lead_id == lead_id]

    def consent(self, consent_id: int) -> ConsentRecord | None:
        """One consent record, or None."""
        with self.lock:
            return self.consents.get(consent_id)

    def set_status(self, lead_id: int, status: LeadStatus, actor: str, note: str | None) -> Lead:
        """Change the status (or add a note) and record who did it."""
        now = datetime.now(UTC)
        with self.lock:
            lead = replace(self.leads[lead_id], status=status, updated_at=now)
            self.leads[lead_id] = lead
            self.events.append((None, LeadEvent(lead_id, now, "status", actor, status, note)))
            return lead

    def claim(self, lead_id: int, actor: str) -> Lead:
        """Make `actor` the owner and record it."""
        now = datetime.now(UTC)
        with self.lock:
            lead = replace(self.leads[lead_id], owner=actor, updated_at=now)
            self.leads[lead_id] = lead
            self.events.append((None, LeadEvent(lead_id, now, "claimed", actor)))
            return lead

    def purge(self, before: datetime) -> dict[str, int]:
        """Delete leads older than `before` (transcripts live in `MemoryTranscriptLog`)."""
        with self.lock:
            old = {i for i, lead in self.leads.items() if lead.created_at < before}
            for lead_id in old:
                del self.leads[lead_id]
            self.events = [(k, e) for k, e in self.events if e.lead_id not in old]
            self.outgoing = [o for o in self.outgoing if o.item.lead_id not in old]
            needed = {lead.consent_id for lead in self.leads.values()}
            stale = [i for i, c in self.consents.items() if c.at < before and i not in needed]
            for consent_id in stale:
                del self.consents[consent_id]
        return {"leads": len(old), "consent_records": len(stale), "transcript_messages": 0}

    def erase(self, channel: str, user_id: str) -> dict[str, int]:
        """Delete one person's leads, their history and notifications, and consent records."""
        with self.lock:
            mine = {
                i
                for i, lead in self.leads.items()
                if (lead.channel, lead.user_id) == (channel, user_id)
            }
            events = sum(1 for _, e in self.events if e.lead_id in mine)
            items = sum(1 for o in self.outgoing if o.item.lead_id in mine)
            self.events = [(k, e) for k, e in self.events if e.lead_id not in mine]
            self.outgoing = [o for o in self.outgoing if o.item.lead_id not in mine]
            for lead_id in mine:
                del self.leads[lead_id]
            consents = [
                i for i, c in self.consents.items() if (c.channel, c.user_id) == (channel, user_id)
            ]
            for consent_id in consents:
                del self.consents[consent_id]
        return {
            "lead_events": events,
            "outbox": items,
            "leads": len(mine),
            "consent_records": len(consents),
        }


class MemoryOutbox:
    """`Outbox` over a `MemoryLeadRepository`'s queued notifications."""

    def __init__(self, leads: MemoryLeadRepository) -> None:
        self._leads = leads

    def claim(self, now: datetime, limit: int = 20, lease: timedelta = LEASE) -> list[OutboxItem]:
        """Take undelivered items whose next attempt is due, oldest first, for `lease`."""
        with self._leads.lock:
            due = [o for o in self._leads.outgoing if o.delivered is None and o.due <= now]
            for outgoing in due[:limit]:
                outgoing.due = now + lease
            return [o.item for o in due[:limit]]

    def delivered(self, item_id: int, at: datetime) -> None:
        """Mark delivered."""
        with self._leads.lock:
            for outgoing in self._leads.outgoing:
                if outgoing.item.id == item_id:
                    outgoing.delivered = at

    def failed(self, item_id: int, error: str, retry_at: datetime) -> None:
        """Count the attempt and schedule the next."""
        with self._leads.lock:
            for outgoing in self._leads.outgoing:
                if outgoing.item.id == item_id:
                    outgoing.item = replace(outgoing.item, attempts=outgoing.item.attempts + 1)
                    outgoing.due, outgoing.error = retry_at, error

    def depth(self) -> int:
        """How many notifications wait for delivery."""
        with self._leads.lock:
            return sum(1 for o in self._leads.outgoing if o.delivered is None)


class MemoryOutgoingQueue:
    """`OutgoingQueue` in a list."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.kept: list[tuple[OutgoingMessage, datetime, datetime | None]] = []

    def keep(self, message: OutgoingMessage, retry_at: datetime) -> None:
        """Store a message that could not be sent."""
        with self._lock:
            self.kept.append((replace(message, id=len(self.kept) + 1), retry_at, None))

    def claim(
        self, channel: str, now: datetime, limit: int = 20, lease: timedelta = LEASE
    ) -> list[OutgoingMessage]:
        """Take unsent messages of `channel` due now, oldest first, for `lease`."""
        with self._lock:
            claimed = [
                m
                for m, at, sent in self.kept
                if m.channel == channel and sent is None and at <= now
            ][:limit]
            ids = {m.id for m in claimed}
            self.kept = [(m, now + lease if m.id in ids else at, s) for m, at, s in self.kept]
            return claimed

    def sent(self, message_id: int, at: datetime) -> None:
        """Mark sent."""
        with self._lock:
            self.kept = [(m, due, at if m.id == message_id else s) for m, due, s in self.kept]

    def failed(self, message_id: int, error: str, retry_at: datetime) -> None:
        """Count the attempt and schedule the next."""
        del error
        with self._lock:
            self.kept = [
                (replace(m, attempts=m.attempts + 1), retry_at, s)
                if m.id == message_id
                else (m, due, s)
                for m, due, s in self.kept
            ]

    def erase(self, channel: str, user_id: str) -> int:
        """Forget one person's kept messages."""
        with self._lock:
            kept = [k for k in self.kept if (k[0].channel, k[0].user_id) != (channel, user_id)]
            erased, self.kept = len(self.kept) - len(kept), kept
            return erased


class MemoryRateBudget:
    """`RateBudget` in a dict: the same next-free-slot rule as `SqlRateBudget`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next_free: dict[str, float] = {}
        self._paused_until = 0.0

    def reserve(self, budget: Budget, now: float) -> float:
        """Take the budget's next free slot, after any pause; seconds to wait."""
        with self._lock:
            start = max(now, self._paused_until)
            slot = max(self._next_free.get(budget.key, start), start) + budget.interval
            self._next_free[budget.key] = slot
            return max(start, slot - budget.burst * budget.interval) - now

    def pause(self, until: float) -> None:
        """Hold reservations back until `until`."""
        with self._lock:
            self._paused_until = max(self._paused_until, until)

    def paused_until(self) -> float:
        """Until when reservations are held back."""
        with self._lock:
            return self._paused_until


class MemoryCatalogRevisions:
    """`CatalogRevisions` in a list."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._revisions: list[tuple[CatalogRevision, dict[str, str]]] = []

    def latest(self) -> CatalogRevision | None:
        """The newest revision, or None."""
        with self._lock:
            return self._revisions[-1][0] if self._revisions else None

    def get(self, number: int) -> CatalogRevision | None:
        """The revision `number`, or None."""
        with self._lock:
            return self._revisions[number - 1][0] if 0 < number <= len(self._revisions) else None

    def files(self, number: int) -> dict[str, str]:
        """The files of revision `number` (KeyError when there is none)."""
        with self._lock:
            if not 0 < number <= len(self._revisions):
                raise KeyError(number)
            return dict(self._revisions[number - 1][1])

    def add(self, parent: int, files: Mapping[str, str], meta: RevisionMeta) -> CatalogRevision:
        """Save `files` after `parent`; `RevisionConflict` unless `parent` is the newest."""
        with self._lock:
            if parent != len(self._revisions):
                raise RevisionConflict(f"revision {len(self._revisions)} is newer than {parent}")
            number = parent + 1
            revision = CatalogRevision(
                number,
                parent,
                files_digest(files),
                meta.actor,
                meta.at,
                meta.kind,
                meta.comment,
                meta.changes,
            )
            self._revisions.append((revision, dict(sorted(files.items()))))
            return revision

    def history(self, limit: int, offset: int = 0) -> list[CatalogRevision]:
        """Revisions, newest first."""
        with self._lock:
            newest_first = [revision for revision, _ in reversed(self._revisions)]
            return newest_first[offset : offset + limit]


class MemoryPeriodicRuns:
    """`PeriodicRuns` in a set."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._done: set[tuple[str, str]] = set()

    def claim(self, job: str, period: str, by: str, at: datetime) -> bool:
        """True for the first caller of `job` in `period`."""
        with self._lock:
            if (job, period) in self._done:
                return False
            self._done.add((job, period))
            return True


class MemoryPrivacyRegistry:
    """`PrivacyRegistry` over the other memory stores."""

    def __init__(
        self,
        conversations: MemoryConversationStore,
        transcripts: MemoryTranscriptLog,
        questions: MemoryQuestionLog,
        leads: MemoryLeadRepository,
        outgoing: MemoryOutgoingQueue | None = None,
    ) -> None:
        self._conversations = conversations
        self._transcripts = transcripts
        self._questions = questions
        self._leads = leads
        self._outgoing = outgoing or MemoryOutgoingQueue()
        self.erasures: list[tuple[str, datetime, dict[str, int]]] = []

    def export(self, channel: str, user_id: str) -> dict[str, list[dict[str, object]]]:
        """Every record about one person, by kind."""

        def mine(record: _Owned) -> bool:
            return (record.channel, record.user_id) == (channel, user_id)

        with self._leads.lock:
            leads = [lead for lead in self._leads.leads.values() if mine(lead)]
            ids = {lead.id for lead in leads}
            consents = [c for c in self._leads.consents.values() if mine(c)]
            events = [e for _, e in self._leads.events if e.lead_id in ids]
            items = [o.item for o in self._leads.outgoing if o.item.lead_id in ids]
        return {
            "conversations": _dicts(s for s in self._conversations.all() if mine(s)),
            "transcript_messages": _dicts(e for e in self._transcripts.all() if mine(e)),
            "unanswered_questions": _dicts(q for q in self._questions.recent(10**9) if mine(q)),
            "leads": _dicts(leads),
            "consent_records": _dicts(consents),
            "lead_events": _dicts(events),
            "outbox": _dicts(items),
            "outgoing_messages": _dicts(m for m, _, _ in self._outgoing.kept if mine(m)),
        }

    def erase(self, channel: str, user_id: str, at: datetime) -> dict[str, int]:
        """Delete every record about one person; keep a count under a one-way hash."""
        counts = self._leads.erase(channel, user_id)
        counts["conversations"] = self._conversations.erase(channel, user_id)
        counts["transcript_messages"] = self._transcripts.erase(channel, user_id)
        counts["unanswered_questions"] = self._questions.erase(channel, user_id)
        counts["outgoing_messages"] = self._outgoing.erase(channel, user_id)
        self.erasures.append((pseudonym(channel, user_id), at, counts))
        return counts


class _Owned(Protocol):
    @property
    def channel(self) -> str: ...
    @property
    def user_id(self) -> str: ...


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


def _dicts(records: Iterable[Any]) -> list[dict[str, object]]:
    return [{k: _plain(v) for k, v in asdict(record).items()} for record in records]
