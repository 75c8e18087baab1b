"""The ports the engine works through; `storage` implements them, tests fake them.

Each method is one short unit of work. A store that cannot reach its database raises
`StorageUnavailable`, so the engine can keep answering and say what it could not keep.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.core.records import (
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
)
from bot.core.state import ConversationState
from intents.drafts import CatalogChange

# How long a claimed item stays with the replica that claimed it. An item that is neither
# delivered nor failed by then (its replica crashed, or is too slow) is due again for anyone.
LEASE = timedelta(seconds=60)


class StorageUnavailable(Exception):
    """The database could not be reached; nothing was written."""


class UnitFailed(StorageUnavailable):
    """A statement of a unit of work failed (or its commit did): the whole unit was rolled
    back, so its work can be done again without one."""


class Transactions(Protocol):
    """Units of work: every store's work inside one `unit` is one transaction."""

    def unit(self) -> AbstractContextManager[None]:
        """One transaction for everything done inside (in this thread), committed at its end;
        raises `UnitFailed` when any of it failed, having kept none of it."""
        ...


class OutOfRange(ValueError):
    """A value the database cannot hold (an id past 64 bits, ...): the request is wrong."""


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


@dataclass(frozen=True, slots=True)
class Delivery:
    """A platform delivery kept in the inbox until it is answered.

    `attempt` fences the holder: 1 for the replica that took it in, one more for each replay;
    only the current attempt may keep replies for it or mark it answered. `replies` are the
    engine's decision once it is kept (a replay sends them instead of deciding again).
    """

    channel: str
    delivery_id: str
    payload: Mapping[str, Any]
    attempt: int = 1
    replies: Sequence[Mapping[str, Any]] | None = None


class DeliveryLog(Protocol):
    """Platform deliveries taken in, so a redelivery is not answered twice and nothing
    acknowledged is lost: the inbox.

    A delivery taken in with its payload is leased to the replica that took it; one whose
    lease ends before it is answered (its replica crashed) is due again for any replica.
    """

    def first_delivery(self, channel: str, delivery_id: str) -> bool:
        """Record the delivery (no payload: the caller answers it at once); True the first
        time it is seen, False ever after."""
        ...

    def take_in(
        self, channel: str, delivery_id: str, payload: Mapping[str, Any], lease_until: datetime
    ) -> bool:
        """Keep the delivery and its payload, held by the caller (attempt 1) until
        `lease_until`; True the first time it is seen, False ever after."""
        ...

    def hold(
        self,
        channel: str,
        delivery_id: str,
        attempt: int,
        lease_until: datetime,
        replies: Sequence[Mapping[str, Any]] | None = None,
    ) -> bool:
        """Extend the lease of `attempt` (keeping the `replies` it decided, if given); False
        when another attempt holds the delivery now, or it was answered."""
        ...

    def answered(self, channel: str, delivery_id: str, attempt: int, at: datetime) -> bool:
        """Mark the delivery answered by `attempt` (its payload and replies are dropped);
        False when another attempt holds it now."""
        ...

    def answered_many(self, channel: str, marks: Sequence[tuple[str, int]], at: datetime) -> int:
        """`answered` for each (delivery_id, attempt) in one statement; how many were marked."""
        ...

    def due(
        self, channel: str, now: datetime, lease_until: datetime, limit: int, max_attempts: int
    ) -> list[Delivery]:
        """Take deliveries of `channel` not answered whose lease ended before `now` and that
        had fewer than `max_attempts` attempts, oldest first: each for one caller only, as
        the next attempt, held until `lease_until`."""
        ...

    def file(
        self,
        channel: str,
        delivery_id: str,
        payload: Mapping[str, Any],
        answered_at: datetime | None,
        now: datetime,
    ) -> None:
        """Record a delivery taken in while the database was down (from the spool):
        answered at `answered_at`, or else due at `now` unless it is known already."""
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

    def replied(self, channel: str, conversation_id: str, since: datetime, reply: str) -> int:
        """A consultant answered the handoff asked for at `since`: their reply becomes the
        `detail` of the conversation's handoff misses since then that have none (the draft
        answer an admin can start an intent from). How many."""
        ...


class LeadRepository(Protocol):
    """Leads, their history and the consent records behind them."""

    def submit(self, submission: LeadSubmission) -> Submitted:
        """Store a confirmed lead form in one unit of work, exactly once per submission id.

        Appends the consent record, creates the lead (or updates the prospect's open lead:
        same channel and user, or same email; history kept) and queues the sales
        notification in the outbox. Submitting the same submission again changes nothing and
        returns the same lead.
        """
        ...

    def get(self, lead_id: int) -> Lead | None:
        """One lead, or None."""
        ...

    def find(self, criteria: LeadFilter) -> list[Lead]:
        """Leads matching `criteria`, newest first."""
        ...

    def history(self, lead_id: int) -> list[LeadEvent]:
        """A lead's events, oldest first."""
        ...

    def consent(self, consent_id: int) -> ConsentRecord | None:
        """One consent record."""
        ...

    def set_status(self, lead_id: int, status: LeadStatus, actor: str, note: str | None) -> Lead:
        """Change a lead's status (or just add a note), keeping the history.

        Raises KeyError for an unknown lead.
        """
        ...

    def claim(self, lead_id: int, actor: str) -> Lead:
        """Make `actor` the lead's owner, keeping the history.

        Raises KeyError for an unknown lead.
        """
        ...

    def purge(self, before: datetime) -> dict[str, int]:
        """Delete leads and transcripts created before `before`; how many of each."""
        ...

    def cards_of(self, channel: str, user_id: str) -> list[tuple[str, str]]:
        """Where the person's lead cards were posted in Slack: (channel, ts) of each."""
        ...


class Outbox(Protocol):
    """Notifications to sales waiting to be delivered (written with the lead, by `submit`).

    Any number of replicas deliver from one outbox: `claim` hands each due item to one of
    them for `lease`, then `delivered` or `failed` settles it.
    """

    def claim(self, now: datetime, limit: int = 20, lease: timedelta = LEASE) -> list[OutboxItem]:
        """Take the items due now, oldest first, for `lease`; no other claim gets them
        meanwhile."""
        ...

    def delivered(self, item_id: int, at: datetime) -> None:
        """Mark an item as delivered."""
        ...

    def failed(self, item_id: int, error: str, retry_at: datetime) -> None:
        """Record a failed attempt and when to try again."""
        ...


class OutgoingQueue(Protocol):
    """Messages to people that a platform refused for now; an adapter retries them."""

    def keep(self, message: OutgoingMessage, retry_at: datetime) -> None:
        """Store a message that could not be sent."""
        ...

    def claim(
        self, channel: str, now: datetime, limit: int = 20, lease: timedelta = LEASE
    ) -> list[OutgoingMessage]:
        """Take the kept messages of one channel due now, oldest first, for `lease`; no
        other claim gets them meanwhile."""
        ...

    def sent(self, message_id: int, at: datetime) -> None:
        """The message went out at last."""
        ...

    def failed(self, message_id: int, error: str, retry_at: datetime) -> None:
        """Another attempt failed; when to try next."""
        ...


@dataclass(frozen=True, slots=True)
class Budget:
    """One rate limit: up to `burst` requests at once, then one every `interval` seconds."""

    key: str
    interval: float
    burst: int = 1


class RateBudget(Protocol):
    """Rate limits shared by every replica (times are seconds since the epoch)."""

    def reserve(self, budget: Budget, now: float) -> float:
        """Take the budget's next free slot, after any pause; how many seconds to wait
        before sending (0 for at once).

        A request under several budgets takes them one after the other, each once the wait
        for the one before is over: a slot reserved ahead of time would hold back everyone
        else's requests until then.
        """
        ...

    def reserve_chain(self, budgets: Sequence[Budget], now: float) -> list[float]:
        """`reserve` the budgets one after the other, in one transaction, for as long as each
        slot is free now: the waits of the budgets taken (all of them when every wait but the
        last is 0; the rest are the caller's to reserve once that wait is over)."""
        ...

    def admit(self, budget: Budget, now: float) -> float:
        """Take the budget's next slot only if it is free now (within the burst): 0 when
        taken, else the seconds until one is, having taken nothing (for requests that are
        refused, not delayed, when over their limit; pauses do not apply)."""
        ...

    def pause(self, until: float) -> None:
        """Hold every reservation back until `until` (the platform asked us to wait)."""
        ...

    def paused_until(self) -> float:
        """Until when reservations are held back (0 or a past time when they are not)."""
        ...


@dataclass(frozen=True, slots=True)
class CatalogRevision:
    """One state of the whole intent catalog, as saved by someone: every replica serves the
    newest one."""

    number: int  # only ever grows
    parent: int  # the revision it was made from (0 for the first)
    digest: str  # of its files
    actor: str
    at: datetime
    kind: str  # "seed" | "import" | "edit" | "create" | "retire" | "rollback"
    comment: str
    changes: tuple[CatalogChange, ...]

    def touches(self, intent_id: str) -> bool:
        """Whether this revision changed the intent `intent_id`."""
        return any(c.kind != "file" and c.subject == intent_id for c in self.changes)


class RevisionConflict(Exception):
    """Another revision was saved from the same parent first; nothing was saved."""


class CatalogRevisions(Protocol):
    """The catalog's history: each revision with its files (paths inside the catalog folder,
    UTF-8 text). The one source of truth for every replica."""

    def latest(self) -> CatalogRevision | None:
        """The newest revision, or None before the first."""
        ...

    def get(self, number: int) -> CatalogRevision | None:
        """The revision `number`, or None."""
        ...

    def files(self, number: int) -> dict[str, str]:
        """The files of revision `number` (KeyError when there is none)."""
        ...

    def add(
        self,
        parent: int,
        files: Mapping[str, str],
        meta: RevisionMeta,
    ) -> CatalogRevision:
        """Save `files` as the revision after `parent` (0: the first). Raises
        `RevisionConflict` when `parent` is not the newest revision any more."""
        ...

    def history(self, limit: int, offset: int = 0) -> list[CatalogRevision]:
        """Revisions, newest first."""
        ...


@dataclass(frozen=True, slots=True)
class RevisionMeta:
    """Who makes a revision, how, why and what it changes."""

    actor: str
    at: datetime
    kind: str
    comment: str = ""
    changes: tuple[CatalogChange, ...] = ()


class PeriodicRuns(Protocol):
    """Work that one replica of many must do once per period (a weekly digest)."""

    def claim(self, job: str, period: str, by: str, at: datetime) -> bool:
        """True for the first caller of `job` in `period`, False for every later one."""
        ...


@dataclass(frozen=True, slots=True)
class RetentionRules:
    """How long things are kept: personal data (`LINGANG_RETENTION_DAYS`), and staff logins
    (`LINGANG_SESSION_IDLE_MINUTES`, `LINGANG_SESSION_MAX_HOURS`)."""

    personal: timedelta
    session_idle: timedelta
    session_lifetime: timedelta


class Retention(Protocol):
    """Keeps what the privacy notice promises: nothing past its time, in any table."""

    def purge(self, now: datetime) -> dict[str, int] | None:
        """Delete or redact everything older than its rule allows; rows per table, or None
        when another purge is running (this one did nothing)."""
        ...


class PrivacyRegistry(Protocol):
    """A person's rights over their data: see all of it, or erase it."""

    def export(self, channel: str, user_id: str) -> dict[str, list[dict[str, object]]]:
        """Everything stored about one person, by table."""
        ...

    def erase(self, channel: str, user_id: str, at: datetime) -> dict[str, int]:
        """Delete everything about one person; keep only an erasure record without personal
        data. How many rows of each kind were erased."""
        ...


class Notifier(Protocol):
    """Tells sales staff about something that needs them (a new or updated lead)."""

    def notify(self, lead: Lead, kind: str) -> None:
        """Deliver the news about `lead`, or raise so the outbox retries later."""
        ...


class TurnObserver(Protocol):
    """Watches the engine at work (the metrics): one call per message handled."""

    def handled(self, channel: str, outcome: str, seconds: float) -> None:
        """A message of `channel` was handled in `seconds`; `outcome` says how (`match`,
        `clarify`, `fallback`, `form`, `command`, `notice`, `refused`, `duplicate`, `feedback`
        or `handoff`)."""
        ...


class PlatformErrors(Protocol):
    """Counts Telegram and Slack API calls that failed (the metrics)."""

    def count(self, platform: str, reason: str) -> None:
        """One call to `platform` failed: `rate_limited`, `server_error`, `network` or
        `refused`."""
        ...


class EventLog(Protocol):
    """What happened in conversations (turns, feedback, handoff steps, leads): every funnel
    number is counted from it, per conversation, so no step can exceed the one before."""

    def add(self, events: Sequence[ConversationEvent]) -> None:
        """Append `events` in one unit of work."""
        ...

    def answer(self, answer_key: str) -> ConversationEvent | None:
        """The answer event that offered 👍/👎 under `answer_key`, or None."""
        ...


class Handoffs(Protocol):
    """Conversations handed to people, and the outbox of what is relayed between the prospect
    and the Slack thread. A change of a handoff and the relay items it causes (`relays`) are
    written in one unit of work, or neither is."""

    def current(self, channel: str, conversation_id: str) -> Handoff | None:
        """The conversation's open (waiting or held) handoff, or None: the engine asks this
        before every reply."""
        ...

    def get(self, handoff_id: int) -> Handoff | None:
        """One handoff, or None."""
        ...

    def by_thread(self, thread_channel: str, thread_ts: str) -> Handoff | None:
        """The handoff whose Slack thread this is (open or closed), or None."""
        ...

    def latest(self, channel: str, conversation_id: str) -> Handoff | None:
        """The conversation's newest handoff, open or closed, or None."""
        ...

    def request(self, handoff: NewHandoff, relays: Sequence[RelayDraft]) -> tuple[Handoff, bool]:
        """Open a handoff and queue `relays` (the thread's first post, ...); when the
        conversation already has an open one, return it and False and queue nothing. A
        `handoff.closed_reason` (after hours) stores it closed at once."""
        ...

    def threaded(self, handoff_id: int, thread_channel: str, thread_ts: str) -> None:
        """Record where the thread's first post went."""
        ...

    def claim(
        self,
        handoff_id: int,
        rep_id: str,
        rep_name: str,
        at: datetime,
        relays: Sequence[RelayDraft],
    ) -> Handoff | None:
        """`rep_id` takes a waiting handoff and `relays` are queued; None (nothing queued) when
        it is not waiting any more (someone else took it first, or it closed)."""
        ...

    def relay(self, handoff_id: int, relays: Sequence[RelayDraft], at: datetime) -> list[RelayItem]:
        """Queue messages of a handoff. A consultant's text (`to_prospect`, kind `text`) also
        counts as their activity (`first_reply_at` once, `last_rep_at` each time)."""
        ...

    def close(
        self, handoff_id: int, reason: CloseReason, at: datetime, relays: Sequence[RelayDraft]
    ) -> Handoff | None:
        """Close an open handoff (the bot takes the conversation back) and queue `relays`; None
        (nothing queued) when it was closed already."""
        ...

    def unclaimed_since(self, before: datetime) -> list[Handoff]:
        """Waiting handoffs requested before `before`."""
        ...

    def silent_since(self, before: datetime) -> list[Handoff]:
        """Held handoffs whose consultant last spoke (or claimed it) before `before`."""
        ...

    def due(self, now: datetime, limit: int = 20, lease: timedelta = LEASE) -> list[RelayItem]:
        """Take relay items due now for `lease`, oldest first, only the first undelivered
        item of each handoff and direction (so order is kept); no other claim gets them."""
        ...

    def relayed(self, item_id: int, at: datetime, posted_ts: str | None = None) -> None:
        """An item went out (`posted_ts`: our Slack post's ts, kept so it can be deleted)."""
        ...

    def relay_failed(self, item_id: int, error: str, retry_at: datetime | None) -> None:
        """An attempt failed; `retry_at` None: it never can (the prospect blocked the bot) and
        the item is settled as failed."""
        ...

    def posts(self, handoff_id: int) -> list[str]:
        """The ts of every post we made in the handoff's thread, oldest first."""
        ...

    def of_person(self, channel: str, user_id: str) -> list[Handoff]:
        """Every handoff of one person (for /mydata and /forget)."""
        ...
