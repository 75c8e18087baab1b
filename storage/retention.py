"""Retention on SQL: one purge over every table that holds personal data or grows without
bound, each by its own age rule. What the privacy notice promises (`LINGANG_RETENTION_DAYS`,
"the cutoff" below) is kept here; shorter technical windows are the constants.

Per table (`storage.models`):

- conversations: deleted when idle (`updated_at`) since before the cutoff; an abandoned
  form (its answers: name, email, phone) and the last question are cleared once idle for
  `ABANDONED_FORM`, the version moved on so a turn in flight reloads.
- transcript_messages, conversation_events, unanswered_questions: older than the cutoff.
- question_groupings go with their miss; question_groups (a vector of a question) once empty
  and made before the cutoff.
- leads (lead_events and outbox items with them) made before the cutoff; consent_records
  older than the cutoff that no remaining lead points to.
- outbox: delivered items after `SETTLED`.
- outgoing_messages (message bodies): sent ones after `SETTLED`, unsent ones after
  `UNDELIVERABLE` (a message no platform took for that long is stale).
- handoffs (relay_items with them): closed before the cutoff, once nothing of theirs waits
  to be relayed. Our Slack copies go first: the purge queues the deletion of our posts in
  their threads, and of the Slack cards of the leads it deletes (as `/forget` does), and the
  handoffs (and the records carrying the cards' deletions) go at a purge after that.
- processed_deliveries: after `DEDUPE` (Telegram keeps an update 24 h, Slack retries minutes).
- login_failures: after `LOGIN_FAILURES` (longer than any throttling window).
- staff_sessions: once past their idle or absolute expiry (the login settings).
- audit_log: older than the cutoff deleted; before that, after `AUDIT_TEXTS`, the copies of
  prospects' words redacted: the question text of `question.add_example`, the search string
  of `leads.export`.
- rate_budgets: rows idle `storage.ratebudget.IDLE_SECONDS` (a missing row is a fresh one).
- periodic_runs: after `PERIODIC_RUNS` (longer than any period, so none is claimed twice).
- kept: staff_users, api_tokens (accounts, managed by admins), erasures (the proof of an
  erasure, under a one-way hash), catalog_revisions and catalog_blobs (content, not personal).

On PostgreSQL the purge holds a transaction-level advisory lock: a second purge at the same
time (another replica, or `lingang-bot leads purge`) skips instead of repeating the work.
SQLite takes the write lock at BEGIN, so two purges there run one after the other.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Result,
    Text,
    and_,
    cast,
    delete,
    exists,
    null,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from bot.core.ports import RetentionRules
from bot.core.records import pseudonym
from storage.db import Database
from storage.handoffs import POSTING_KINDS
from storage.leads import purge_leads
from storage.models import (
    AuditEntryRow,
    ConversationEventRow,
    ConversationRow,
    HandoffRow,
    LeadRow,
    LoginFailureRow,
    OutboxRow,
    OutgoingMessageRow,
    PeriodicRunRow,
    ProcessedDeliveryRow,
    QuestionGroupingRow,
    QuestionGroupRow,
    RateBudgetRow,
    RelayItemRow,
    StaffSessionRow,
    UnansweredQuestionRow,
)
from storage.privacy import EXAMPLE_ADDED, REDACTED
from storage.ratebudget import IDLE_SECONDS

ABANDONED_FORM = timedelta(days=7)
SETTLED = timedelta(days=2)
UNDELIVERABLE = timedelta(days=7)
DEDUPE = timedelta(hours=48)
LOGIN_FAILURES = timedelta(days=1)
AUDIT_TEXTS = timedelta(days=30)
PERIODIC_RUNS = timedelta(days=60)

# pg_try_advisory_xact_lock's key: any constant no other lock of this database uses.
LOCK_KEY = 0x4C696E67_70757267  # "Lingpurg"

# Audit actions whose details copy a prospect's words, and the detail that holds them.
AUDIT_COPIES = {EXAMPLE_ADDED: "text", "leads.export": "filters"}


class SqlRetention:
    """`Retention` over every table of `storage.models` (see the module's docstring)."""

    def __init__(self, database: Database, rules: RetentionRules) -> None:
        self._db = database
        self._rules = rules

    def purge(self, now: datetime) -> dict[str, int] | None:
        """Delete or redact everything past its time, in one transaction; rows per table, or
        None when another purge holds the lock (nothing done)."""
        cutoff = now - self._rules.personal
        with self._db.transaction() as session:
            if not self._locked(session):
                return None
            return {
                "slack_deletions": _queue_slack_deletions(session, cutoff, now),
                **_conversations(session, cutoff, now - ABANDONED_FORM),
                **_logs(session, cutoff),
                **purge_leads(session, cutoff),
                **_queues(session, cutoff, now),
                **_staff(session, cutoff, now, self._rules),
                "processed_deliveries": _count(
                    session.execute(
                        delete(ProcessedDeliveryRow).where(
                            ProcessedDeliveryRow.processed_at < now - DEDUPE
                        )
                    )
                ),
                "rate_budgets": _count(
                    session.execute(
                        delete(RateBudgetRow).where(
                            RateBudgetRow.next_free < now.timestamp() - IDLE_SECONDS
                        )
                    )
                ),
                "periodic_runs": _count(
                    session.execute(
                        delete(PeriodicRunRow).where(PeriodicRunRow.ran_at < now - PERIODIC_RUNS)
                    )
                ),
            }

    def _locked(self, session: Session) -> bool:
        if self._db.engine.dialect.name != "postgresql":
            return True
        taken = session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
        return bool(taken)


def _queue_slack_deletions(session: Session, cutoff: datetime, now: datetime) -> int:
    """Queue the deletion of our Slack copies of what is about to go: the cards of leads past
    the cutoff (each on a closed record of its own, as `/forget` does, dated so that the next
    purge takes it once the deletion is done) and our posts in the threads of closed handoffs
    past it (which stay until the deletions are settled). How many deletions."""
    cards = session.execute(
        select(LeadRow).where(LeadRow.created_at < cutoff, LeadRow.card_ts.is_not(None))
    ).scalars()
    queued = 0
    for lead in cards:
        carrier = HandoffRow(
            channel=lead.channel,
            conversation_id=f"expired:{lead.id}",
            user_id=pseudonym(lead.channel, lead.user_id),
            language=lead.language,
            status="closed",
            requested_at=lead.created_at,
            closed_at=lead.created_at,
        )
        session.add(carrier)
        session.flush()
        params = {"channel": str(lead.card_channel)}
        session.add(_deletion(carrier.id, str(lead.card_ts), params, now))
        queued += 1
    asked = exists().where(RelayItemRow.handoff_id == HandoffRow.id, RelayItemRow.kind == "delete")
    old = select(HandoffRow.id).where(
        HandoffRow.status == "closed", HandoffRow.closed_at < cutoff, ~asked
    )
    posts = session.execute(
        select(RelayItemRow.handoff_id, RelayItemRow.posted_ts).where(
            RelayItemRow.handoff_id.in_(old),
            RelayItemRow.direction == "to_thread",
            RelayItemRow.kind.in_(POSTING_KINDS),
            RelayItemRow.posted_ts.is_not(None),
        )
    ).all()
    for post in posts:
        session.add(_deletion(post.handoff_id, str(post.posted_ts), {}, now))
        queued += 1
    session.flush()
    return queued


def _deletion(handoff_id: int, ts: str, params: dict[str, str], now: datetime) -> RelayItemRow:
    """A relay item that deletes our Slack post `ts` (in `params["channel"]`, else the
    handoff's thread)."""
    return RelayItemRow(
        handoff_id=handoff_id,
        direction="to_thread",
        kind="delete",
        created_at=now,
        target_ts=ts,
        params=params,
        next_attempt_at=now,
    )


def _conversations(session: Session, cutoff: datetime, idle: datetime) -> dict[str, int]:
    deleted = _count(
        session.execute(delete(ConversationRow).where(ConversationRow.updated_at < cutoff))
    )
    cleared = _count(
        session.execute(
            update(ConversationRow)
            .where(
                ConversationRow.updated_at < idle,
                or_(_holds(ConversationRow.form), ConversationRow.last_question.is_not(None)),
            )
            .values(form=null(), last_question=None, version=ConversationRow.version + 1)
        )
    )
    return {"conversations": deleted, "conversation_forms": cleared}


def _holds(column: Any) -> ColumnElement[bool]:
    """Whether a JSON column holds something: neither SQL NULL nor JSON null (what storing
    Python's None writes)."""
    return and_(column.is_not(None), cast(column, Text) != "null")


def _logs(session: Session, cutoff: datetime) -> dict[str, int]:
    """The message, event and miss logs (groupings go with their miss by ON DELETE CASCADE)."""
    events = delete(ConversationEventRow).where(ConversationEventRow.at < cutoff)
    misses = delete(UnansweredQuestionRow).where(UnansweredQuestionRow.at < cutoff)
    counts = {
        "conversation_events": _count(session.execute(events)),
        "unanswered_questions": _count(session.execute(misses)),
    }
    member = exists().where(QuestionGroupingRow.group_id == QuestionGroupRow.id)
    groups = delete(QuestionGroupRow).where(QuestionGroupRow.created_at < cutoff, ~member)
    counts["question_groups"] = _count(session.execute(groups))
    return counts


def _queues(session: Session, cutoff: datetime, now: datetime) -> dict[str, int]:
    """Notifications, kept messages and handoffs, once settled."""
    outbox = delete(OutboxRow).where(OutboxRow.delivered_at < now - SETTLED)
    outgoing = delete(OutgoingMessageRow).where(
        or_(
            OutgoingMessageRow.sent_at < now - SETTLED,
            and_(
                OutgoingMessageRow.sent_at.is_(None),
                OutgoingMessageRow.created_at < now - UNDELIVERABLE,
            ),
        )
    )
    pending = exists().where(
        RelayItemRow.handoff_id == HandoffRow.id,
        RelayItemRow.sent_at.is_(None),
        RelayItemRow.failed_at.is_(None),
    )
    handoffs = delete(HandoffRow).where(
        HandoffRow.status == "closed", HandoffRow.closed_at < cutoff, ~pending
    )
    # Relay items go with their handoff (ON DELETE CASCADE); counted before they go.
    items = select(RelayItemRow.id).where(
        RelayItemRow.handoff_id.in_(
            select(HandoffRow.id).where(
                HandoffRow.status == "closed", HandoffRow.closed_at < cutoff, ~pending
            )
        )
    )
    relay_items = len(session.scalars(items).all())
    return {
        "outbox": _count(session.execute(outbox)),
        "outgoing_messages": _count(session.execute(outgoing)),
        "handoffs": _count(session.execute(handoffs)),
        "relay_items": relay_items,
    }


def _staff(
    session: Session, cutoff: datetime, now: datetime, rules: RetentionRules
) -> dict[str, int]:
    """Expired sessions, old login failures, the audit log."""
    sessions = delete(StaffSessionRow).where(
        or_(
            StaffSessionRow.last_seen_at < now - rules.session_idle,
            StaffSessionRow.created_at < now - rules.session_lifetime,
        )
    )
    failures = delete(LoginFailureRow).where(LoginFailureRow.at < now - LOGIN_FAILURES)
    audit = delete(AuditEntryRow).where(AuditEntryRow.at < cutoff)
    counts = {
        "staff_sessions": _count(session.execute(sessions)),
        "login_failures": _count(session.execute(failures)),
        "audit_log": _count(session.execute(audit)),
    }
    counts["audit_log_redacted"] = _redact_audit(session, now - AUDIT_TEXTS)
    return counts


def _redact_audit(session: Session, before: datetime) -> int:
    """Replace the copies of prospects' words in audit entries older than `before`."""
    query = select(AuditEntryRow).where(
        AuditEntryRow.at < before, AuditEntryRow.action.in_(AUDIT_COPIES)
    )
    redacted = 0
    for row in session.scalars(query):
        key = AUDIT_COPIES[row.action]
        details = dict(row.details)
        if key == "filters" and isinstance(details.get(key), dict):
            filters = dict(details[key])
            if filters.get("q") in (None, REDACTED):
                continue
            details[key] = {**filters, "q": REDACTED}
        elif details.get(key) not in (None, REDACTED):
            details[key] = REDACTED
        else:
            continue
        row.details = details
        redacted += 1
    return redacted


def _count(result: Result[Any]) -> int:
    """Rows a DELETE or UPDATE touched."""
    return int(getattr(result, "rowcount", 0))
