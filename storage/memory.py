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
    Delivery,
    RevisionConflict,
    RevisionMeta,
    StaleState,
)
from bot.core.records import (
    MAX_EVENT_TEXT,
    OPEN_STATUSES,
    CloseReason,
    ConsentRecord,
    ConversationEvent,
    Handoff,
    Lead,
    LeadEvent,
    LeadFilter,
    LeadStatus,
    LeadSubmission,
    NewHandoff,
    OutboxItem,
    OutgoingMessage,
    RelayDraft,
    RelayItem,
    Submitted,
    TranscriptEntry,
    UnansweredQuestion,
    email_key,
    pseudonym,
)
from bot.core.state import ConversationState
from intents.snapshot import files_digest
from storage.exports import event_export, handoff_export


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


@dataclass(slots=True)
class _Kept:
    """One delivery in the memory inbox."""

    payload: Mapping[str, Any] | None = None
    attempts: int = 0
    lease_until: datetime | None = None
    answered_at: datetime | None = None
    replies: Sequence[Mapping[str, Any]] | None = None


class MemoryDeliveryLog:
    """`DeliveryLog` in a dictionary, in the order deliveries came."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: dict[tuple[str, str], _Kept] = {}

    def first_delivery(self, channel: str, delivery_id: str) -> bool:
        """True the first time `(channel, delivery_id)` is seen."""
        with self._lock:
            return self._add(channel, delivery_id, _Kept())

    def _add(self, channel: str, delivery_id: str, kept: _Kept) -> bool:
        if (channel, delivery_id) in self._kept:
            return False
        self._kept[(channel, delivery_id)] = kept
        return True

    def take_in(
        self, channel: str, delivery_id: str, payload: Mapping[str, Any], lease_until: datetime
    ) -> bool:
        """Keep the delivery with its payload, held as attempt 1, unless seen before."""
        with self._lock:
            return self._add(channel, delivery_id, _Kept(dict(payload), 1, lease_until))

    def _held(self, channel: str, delivery_id: str, attempt: int) -> _Kept | None:
        kept = self._kept.get((channel, delivery_id))
        if kept is None or kept.attempts != attempt or kept.answered_at is not None:
            return None
        return kept

    def hold(
        self,
        channel: str,
        delivery_id: str,
        attempt: int,
        lease_until: datetime,
        replies: Sequence[Mapping[str, Any]] | None = None,
    ) -> bool:
        """Extend the holding attempt's lease (and keep its replies)."""
        with self._lock:
            kept = self._held(channel, delivery_id, attempt)
            if kept is None:
                return False
            kept.lease_until = lease_until
            if replies is not None:
                kept.replies = [dict(reply) for reply in replies]
            return True

    def answered(self, channel: str, delivery_id: str, attempt: int, at: datetime) -> bool:
        """Mark answered by the holding attempt; the payload and replies go."""
        with self._lock:
            kept = self._held(channel, delivery_id, attempt)
            if kept is None:
                return False
            self._answer(kept, at)
            return True

    def answered_many(self, channel: str, marks: Sequence[tuple[str, int]], at: datetime) -> int:
        """`answered` for each (delivery_id, attempt)."""
        return sum(
            self.answered(channel, delivery_id, attempt, at) for delivery_id, attempt in marks
        )

    @staticmethod
    def _answer(kept: _Kept, at: datetime) -> None:
        kept.answered_at, kept.lease_until, kept.payload, kept.replies = at, None, None, None

    def due(
        self, channel: str, now: datetime, lease_until: datetime, limit: int, max_attempts: int
    ) -> list[Delivery]:
        """Take the unanswered deliveries whose lease ended, oldest first."""
        taken: list[Delivery] = []
        with self._lock:
            for (kept_channel, delivery_id), kept in self._kept.items():
                if len(taken) == limit:
                    break
                if (
                    kept_channel != channel
                    or kept.payload is None
                    or kept.answered_at is not None
                    or kept.lease_until is None
                    or kept.lease_until >= now
                    or kept.attempts >= max_attempts
                ):
                    continue
                kept.attempts += 1
                kept.lease_until = lease_until
                taken.append(
                    Delivery(channel, delivery_id, kept.payload, kept.attempts, kept.replies)
                )
        return taken

    def file(
        self,
        channel: str,
        delivery_id: str,
        payload: Mapping[str, Any],
        answered_at: datetime | None,
        now: datetime,
    ) -> None:
        """Record a spooled delivery: answered, or due now unless known."""
        with self._lock:
            if answered_at is None:
                self._add(channel, delivery_id, _Kept(dict(payload), 1, now))
                return
            self._add(channel, delivery_id, _Kept())
            kept = self._kept[(channel, delivery_id)]
            if kept.answered_at is None:
                self._answer(kept, answered_at)


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
        """Keep one question (its text and detail cut to `MAX_EVENT_TEXT`)."""
        clipped = replace(
            question,
            text=question.text[:MAX_EVENT_TEXT],
            detail=question.detail[:MAX_EVENT_TEXT] if question.detail is not None else None,
        )
        with self._lock:
            self._questions.append(clipped)

    def recent(self, limit: int = 100) -> list[UnansweredQuestion]:
        """The newest questions first."""
        with self._lock:
            ordered = sorted(enumerate(self._questions), key=lambda p: (p[1].at, p[0]))
            return [question for _, question in reversed(ordered)][:limit]

    def replied(self, channel: str, conversation_id: str, since: datetime, reply: str) -> int:
        """The consultant's reply as the detail of the conversation's handoff misses."""
        with self._lock:
            count = 0
            for index, question in enumerate(self._questions):
                if (
                    (question.channel, question.conversation_id) == (channel, conversation_id)
                    and question.reason == "handoff"
                    and question.detail is None
                    and question.at >= since
                ):
                    self._questions[index] = replace(question, detail=reply[:MAX_EVENT_TEXT])
                    count += 1
            return count

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
        self.cards: dict[int, tuple[str, str]] = {}  # lead id -> Slack channel and ts

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
                and (c.user_id is None or lead.user_id == c.user_id)
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

    def set_card(self, lead_id: int, channel: str, ts: str) -> None:
        """Record where the lead's Slack card was posted."""
        with self.lock:
            if lead_id in self.leads:
                self.cards[lead_id] = (channel, ts)

    def card(self, lead_id: int) -> tuple[str, str] | None:
        """The Slack channel and ts of the lead's card, or None."""
        with self.lock:
            return self.cards.get(lead_id) if lead_id in self.leads else None

    def cards_of(self, channel: str, user_id: str) -> list[tuple[str, str]]:
        """Where the person's lead cards were posted in Slack."""
        with self.lock:
            return [
                card
                for lead_id, card in self.cards.items()
                if (lead := self.leads.get(lead_id)) is not None
                and (lead.channel, lead.user_id) == (channel, user_id)
            ]

    def purge(self, before: datetime) -> dict[str, int]:
        """Delete leads older than `before` (transcripts live in `MemoryTranscriptLog`)."""
        with self.lock:
            old = {i for i, lead in self.leads.items() if lead.created_at < before}
            for lead_id in old:
                del self.leads[lead_id]
                self.cards.pop(lead_id, None)
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
                self.cards.pop(lead_id, None)
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
        return self.reserve_chain([budget], now)[0]

    def reserve_chain(self, budgets: Sequence[Budget], now: float) -> list[float]:
        """`reserve` each budget in turn while the slots are free now; their waits."""
        waits: list[float] = []
        with self._lock:
            start = max(now, self._paused_until)
            for budget in budgets:
                slot = max(self._next_free.get(budget.key, start), start) + budget.interval
                self._next_free[budget.key] = slot
                waits.append(max(start, slot - budget.burst * budget.interval) - now)
                if waits[-1] > 0:
                    break
        return waits

    def admit(self, budget: Budget, now: float) -> float:
        """Take the next slot only if it is free now; else the seconds until it is."""
        with self._lock:
            slot = max(self._next_free.get(budget.key, now), now) + budget.interval
            wait = slot - budget.burst * budget.interval - now
            if wait > 0:
                return wait
            self._next_free[budget.key] = slot
            return 0.0

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
        *,
        events: MemoryEventLog | None = None,
        handoffs: MemoryHandoffs | None = None,
    ) -> None:
        self._conversations = conversations
        self._transcripts = transcripts
        self._questions = questions
        self._leads = leads
        self._outgoing = outgoing or MemoryOutgoingQueue()
        self._events = events or MemoryEventLog()
        self._handoffs = handoffs or MemoryHandoffs()
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
            "conversation_events": [event_export(e) for e in self._events.all() if mine(e)],
            "handoffs": self._handoffs.export(channel, user_id),
        }

    def erase(self, channel: str, user_id: str, at: datetime) -> dict[str, int]:
        """Delete every record about one person; keep a count under a one-way hash."""
        counts = self._leads.erase(channel, user_id)
        counts["conversations"] = self._conversations.erase(channel, user_id)
        counts["transcript_messages"] = self._transcripts.erase(channel, user_id)
        counts["unanswered_questions"] = self._questions.erase(channel, user_id)
        counts["outgoing_messages"] = self._outgoing.erase(channel, user_id)
        counts["conversation_events"] = self._events.erase(channel, user_id)
        counts["handoffs"] = self._handoffs.redact(channel, user_id)
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


class MemoryEventLog:
    """`EventLog` in a list."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list[ConversationEvent] = []

    def add(self, events: Sequence[ConversationEvent]) -> None:
        """Append `events` (texts cut to `MAX_EVENT_TEXT`), numbered in order."""
        with self._lock:
            for event in events:
                text = event.text[:MAX_EVENT_TEXT] if event.text is not None else None
                self._events.append(replace(event, text=text, id=len(self._events) + 1))

    def answer(self, answer_key: str) -> ConversationEvent | None:
        """The answer (a `turn` event) that offered 👍/👎 under `answer_key`, or None."""
        with self._lock:
            return next(
                (e for e in self._events if e.answer_key == answer_key and e.kind == "turn"),
                None,
            )

    def all(self) -> list[ConversationEvent]:
        """Every event, oldest first."""
        with self._lock:
            return list(self._events)

    def erase(self, channel: str, user_id: str) -> int:
        """Forget one person's events; how many."""
        with self._lock:
            kept = [e for e in self._events if (e.channel, e.user_id) != (channel, user_id)]
            erased, self._events = len(self._events) - len(kept), kept
            return erased


@dataclass
class _Relay:
    item: RelayItem
    due: datetime
    sent_at: datetime | None = None
    failed_at: datetime | None = None
    posted_ts: str | None = None
    error: str | None = None

    @property
    def settled(self) -> bool:
        return self.sent_at is not None or self.failed_at is not None


class MemoryHandoffs:
    """`Handoffs` in a dict and a list, with the same rules as `SqlHandoffs`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._handoffs: dict[int, Handoff] = {}
        self._relays: list[_Relay] = []

    def _queue(
        self, handoff_id: int, relays: Sequence[RelayDraft], at: datetime
    ) -> list[RelayItem]:
        items = []
        for draft in relays:
            item = RelayItem(
                id=len(self._relays) + 1,
                handoff_id=handoff_id,
                direction=draft.direction,
                kind=draft.kind,
                created_at=at,
                text=draft.text,
                notice=draft.notice,
                params=dict(draft.params),
                target_ts=draft.target_ts,
            )
            self._relays.append(_Relay(item, at))
            items.append(item)
        return items

    def _open(self, channel: str, conversation_id: str) -> Handoff | None:
        return next(
            (
                h
                for h in self._handoffs.values()
                if (h.channel, h.conversation_id) == (channel, conversation_id) and h.open
            ),
            None,
        )

    def current(self, channel: str, conversation_id: str) -> Handoff | None:
        """The conversation's open (waiting or held) handoff, or None."""
        with self._lock:
            return self._open(channel, conversation_id)

    def get(self, handoff_id: int) -> Handoff | None:
        """One handoff, or None."""
        with self._lock:
            return self._handoffs.get(handoff_id)

    def by_thread(self, thread_channel: str, thread_ts: str) -> Handoff | None:
        """The handoff whose Slack thread this is (open or closed), or None."""
        with self._lock:
            found = [
                h
                for h in self._handoffs.values()
                if (h.thread_channel, h.thread_ts) == (thread_channel, thread_ts)
            ]
            return max(found, key=lambda h: h.id, default=None)

    def latest(self, channel: str, conversation_id: str) -> Handoff | None:
        """The conversation's newest handoff, open or closed, or None."""
        with self._lock:
            found = [
                h
                for h in self._handoffs.values()
                if (h.channel, h.conversation_id) == (channel, conversation_id)
            ]
            return max(found, key=lambda h: h.id, default=None)

    def request(self, handoff: NewHandoff, relays: Sequence[RelayDraft]) -> tuple[Handoff, bool]:
        """Open a handoff and queue `relays`, unless the conversation has an open one."""
        h = handoff
        with self._lock:
            existing = self._open(h.channel, h.conversation_id)
            if existing is not None:
                return existing, False
            closed = h.closed_reason is not None
            new = Handoff(
                id=len(self._handoffs) + 1,
                channel=h.channel,
                conversation_id=h.conversation_id,
                user_id=h.user_id,
                language=h.language,
                status="closed" if closed else "waiting",
                requested_at=h.requested_at,
                question=h.question,
                display_name=h.display_name,
                lead_id=h.lead_id,
                closed_at=h.requested_at if closed else None,
                close_reason=h.closed_reason,
            )
            self._handoffs[new.id] = new
            self._queue(new.id, relays, h.requested_at)
            return new, True

    def threaded(self, handoff_id: int, thread_channel: str, thread_ts: str) -> None:
        """Record where the thread's first post went."""
        with self._lock:
            if handoff_id in self._handoffs:
                self._handoffs[handoff_id] = replace(
                    self._handoffs[handoff_id], thread_channel=thread_channel, thread_ts=thread_ts
                )

    def claim(
        self,
        handoff_id: int,
        rep_id: str,
        rep_name: str,
        at: datetime,
        relays: Sequence[RelayDraft],
    ) -> Handoff | None:
        """`rep_id` takes a waiting handoff and `relays` are queued; None when it is not
        waiting any more."""
        with self._lock:
            handoff = self._handoffs.get(handoff_id)
            if handoff is None or handoff.status != "waiting":
                return None
            held = replace(
                handoff, status="held", claimed_by=rep_id, rep_name=rep_name, claimed_at=at
            )
            self._handoffs[handoff_id] = held
            self._queue(handoff_id, relays, at)
            return held

    def relay(self, handoff_id: int, relays: Sequence[RelayDraft], at: datetime) -> list[RelayItem]:
        """Queue messages of a handoff; a consultant's text sets `first_reply_at` (once) and
        `last_rep_at`."""
        with self._lock:
            items = self._queue(handoff_id, relays, at)
            handoff = self._handoffs.get(handoff_id)
            if handoff is not None and any(
                d.direction == "to_prospect" and d.kind == "text" for d in relays
            ):
                self._handoffs[handoff_id] = replace(
                    handoff, first_reply_at=handoff.first_reply_at or at, last_rep_at=at
                )
            return items

    def close(
        self, handoff_id: int, reason: CloseReason, at: datetime, relays: Sequence[RelayDraft]
    ) -> Handoff | None:
        """Close an open handoff and queue `relays`; None when it was closed already."""
        with self._lock:
            handoff = self._handoffs.get(handoff_id)
            if handoff is None or not handoff.open:
                return None
            closed = replace(handoff, status="closed", closed_at=at, close_reason=reason)
            self._handoffs[handoff_id] = closed
            self._queue(handoff_id, relays, at)
            return closed

    def unclaimed_since(self, before: datetime) -> list[Handoff]:
        """Waiting handoffs requested before `before`, oldest first."""
        with self._lock:
            found = [
                h
                for h in self._handoffs.values()
                if h.status == "waiting" and h.requested_at < before
            ]
        return sorted(found, key=lambda h: (h.requested_at, h.id))

    def silent_since(self, before: datetime) -> list[Handoff]:
        """Held handoffs whose consultant last spoke (or claimed it) before `before`."""

        def last(h: Handoff) -> datetime | None:
            return h.last_rep_at or h.claimed_at

        with self._lock:
            found = [
                (at, h)
                for h in self._handoffs.values()
                if h.status == "held" and (at := last(h)) is not None and at < before
            ]
        return [h for _, h in sorted(found, key=lambda p: (p[0], p[1].id))]

    def due(self, now: datetime, limit: int = 20, lease: timedelta = LEASE) -> list[RelayItem]:
        """Take relay items due now for `lease`, oldest first, only the oldest unsettled
        item of each handoff and direction."""
        with self._lock:
            heads: dict[tuple[int, str], _Relay] = {}
            for relay in self._relays:
                key = (relay.item.handoff_id, relay.item.direction)
                if not relay.settled and key not in heads:
                    heads[key] = relay
            due = sorted((r for r in heads.values() if r.due <= now), key=lambda r: r.item.id)[
                :limit
            ]
            for relay in due:
                relay.due = now + lease
            return [r.item for r in due]

    def _relay(self, item_id: int) -> _Relay | None:
        return next((r for r in self._relays if r.item.id == item_id), None)

    def relayed(self, item_id: int, at: datetime, posted_ts: str | None = None) -> None:
        """An item went out (`posted_ts`: our Slack post's ts)."""
        with self._lock:
            relay = self._relay(item_id)
            if relay is not None:
                relay.sent_at, relay.posted_ts = at, posted_ts

    def relay_failed(self, item_id: int, error: str, retry_at: datetime | None) -> None:
        """Count a failed attempt and schedule the next; `retry_at` None settles it failed."""
        with self._lock:
            relay = self._relay(item_id)
            if relay is None:
                return
            relay.item = replace(relay.item, attempts=relay.item.attempts + 1)
            relay.error = error
            if retry_at is None:
                relay.failed_at = datetime.now(UTC)
            else:
                relay.due = retry_at

    def posts(self, handoff_id: int) -> list[str]:
        """The ts of every post we made in the handoff's thread, oldest first."""
        with self._lock:
            return [
                r.posted_ts
                for r in self._relays
                if r.item.handoff_id == handoff_id
                and r.item.direction == "to_thread"
                and r.item.kind in ("open", "text", "notice")
                and r.sent_at is not None
                and r.posted_ts is not None
            ]

    def of_person(self, channel: str, user_id: str) -> list[Handoff]:
        """Every handoff of one person, oldest first."""
        with self._lock:
            return sorted(
                (
                    h
                    for h in self._handoffs.values()
                    if (h.channel, h.user_id) == (channel, user_id)
                ),
                key=lambda h: h.id,
            )

    def export(self, channel: str, user_id: str) -> list[dict[str, object]]:
        """One person's handoffs as `SqlPrivacyRegistry.export` shows them."""
        with self._lock:
            return [
                handoff_export(h, [r.item for r in self._relays if r.item.handoff_id == h.id])
                for h in sorted(self._handoffs.values(), key=lambda h: h.id)
                if (h.channel, h.user_id) == (channel, user_id)
            ]

    def redact(self, channel: str, user_id: str) -> int:
        """Strip one person from their handoffs (kept, under a pseudonym, for the numbers and
        for the `delete` items that remove our Slack posts); how many."""
        with self._lock:
            mine = {
                h.id
                for h in self._handoffs.values()
                if (h.channel, h.user_id) == (channel, user_id)
            }
            for handoff_id in mine:
                self._handoffs[handoff_id] = replace(
                    self._handoffs[handoff_id],
                    user_id=pseudonym(channel, user_id),
                    question=None,
                    display_name=None,
                    lead_id=None,
                )
            for relay in self._relays:
                if relay.item.handoff_id in mine and relay.item.kind != "delete":
                    params = {} if relay.settled else relay.item.params
                    relay.item = replace(relay.item, text=None, params=params)
            return len(mine)
