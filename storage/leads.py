"""Leads on SQL: submitting a lead form in one transaction, finding and working leads, the
outbox of sales notifications."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Result,
    delete,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.core.ports import LEASE
from bot.core.records import (
    OPEN_STATUSES,
    ConsentRecord,
    Lead,
    LeadEvent,
    LeadFilter,
    LeadStatus,
    LeadSubmission,
    OutboxItem,
    Submitted,
    email_key,
)
from storage.db import Database
from storage.models import (
    ConsentRecordRow,
    LeadEventRow,
    LeadRow,
    OutboxRow,
    TranscriptMessageRow,
    utc_now,
)

# Answers that have a column of their own (searchable, filterable); all answers are also in
# the `answers` JSON.
COLUMNS = ("name", "email", "company", "phone", "country", "interest", "timeline", "note")


def containing(text: str) -> str:
    """A LIKE pattern (escape character `\\`) that finds `text` literally: its % and _ are not
    wildcards."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def lead_of(row: LeadRow) -> Lead:
    """The record of a lead row (for every store that reads leads)."""
    return Lead(
        id=row.id,
        channel=row.channel,
        user_id=row.user_id,
        conversation_id=row.conversation_id,
        language=row.language,
        consent_id=row.consent_id,
        status=cast(LeadStatus, row.status),
        score=row.score,
        created_at=row.created_at,
        updated_at=row.updated_at,
        answers={str(k): str(v) for k, v in row.answers.items()},
        question=row.question,
        source=row.source,
        owner=row.owner,
    )


def _event(row: LeadEventRow) -> LeadEvent:
    changes = {str(k): (v[0], v[1]) for k, v in row.changes.items()}
    return LeadEvent(
        row.lead_id,
        row.at,
        cast(Any, row.kind),
        row.actor,
        status=cast(LeadStatus | None, row.status),
        note=row.note,
        changes=changes,
    )


class SqlLeadRepository:
    """`LeadRepository` on `leads`, `lead_events`, `consent_records` and `outbox`."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def submit(self, submission: LeadSubmission) -> Submitted:
        """Store a confirmed form once: consent, lead (new or updated), history, outbox."""
        try:
            with self._db.transaction() as session:
                return self._submit(session, submission)
        except IntegrityError:  # the same form submitted at the same moment elsewhere
            with self._db.transaction() as session:
                done = self._submitted(session, submission.submission_id)
            if done is None:
                raise
            return Submitted(done, created=False, repeated=True)

    def _submitted(self, session: Session, submission_id: str) -> Lead | None:
        query = (
            select(LeadRow)
            .join(LeadEventRow, LeadEventRow.lead_id == LeadRow.id)
            .where(LeadEventRow.submission_id == submission_id)
        )
        row = session.scalars(query).first()
        return lead_of(row) if row else None

    def _submit(self, session: Session, s: LeadSubmission) -> Submitted:
        if self._db.engine.dialect.name == "postgresql":
            # Serialise submissions of one person, so two forms cannot both create a lead.
            person = f"{s.channel}:{s.user_id}"
            session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:p))"), {"p": person})
        done = self._submitted(session, s.submission_id)
        if done is not None:
            return Submitted(done, created=False, repeated=True)
        consent = ConsentRecordRow(
            channel=s.channel,
            user_id=s.user_id,
            notice_version=s.notice_version,
            language=s.language,
            granted=True,
            event_id=s.event_id,
            at=s.consented_at,
        )
        session.add(consent)
        session.flush()
        answers = {k: v for k, v in s.answers.items() if v}
        key = email_key(answers.get("email"))
        same_person: list[ColumnElement[bool]] = [
            (LeadRow.channel == s.channel) & (LeadRow.user_id == s.user_id)
        ]
        if key:
            same_person.append(LeadRow.email_key == key)
        existing = session.scalars(
            select(LeadRow)
            .where(LeadRow.status.in_(OPEN_STATUSES), or_(*same_person))
            .order_by(LeadRow.created_at.desc(), LeadRow.id.desc())
            .limit(1)
        ).first()
        if existing is None:
            row = LeadRow(
                channel=s.channel,
                user_id=s.user_id,
                conversation_id=s.conversation_id,
                language=s.language,
                consent_id=consent.id,
                question=s.question,
                source=s.source,
                score=s.score,
                status="new",
                answers=answers,
                email_key=key,
                created_at=s.submitted_at,
                updated_at=s.submitted_at,
                **{column: answers.get(column) for column in COLUMNS},
            )
            session.add(row)
            session.flush()
            kind, changes = "created", {}
        else:
            row = existing
            merged = {**row.answers, **answers}
            changes = {
                k: [row.answers.get(k), v] for k, v in answers.items() if row.answers.get(k) != v
            }
            for column in COLUMNS:
                setattr(row, column, merged.get(column))
            row.answers, row.email_key, row.consent_id = (
                merged,
                email_key(merged.get("email")),
                consent.id,
            )
            row.score, row.language, row.updated_at = s.score, s.language, s.submitted_at
            row.question = s.question or row.question
            row.source = row.source or s.source
            kind = "updated"
        session.add(
            LeadEventRow(
                lead_id=row.id,
                submission_id=s.submission_id,
                at=s.submitted_at,
                kind=kind,
                actor=f"{s.channel}:prospect",
                changes=changes,
            )
        )
        session.add(
            OutboxRow(
                kind=f"lead_{kind}",
                lead_id=row.id,
                created_at=s.submitted_at,
                next_attempt_at=s.submitted_at,
            )
        )
        session.flush()
        return Submitted(lead_of(row), created=kind == "created")

    def get(self, lead_id: int) -> Lead | None:
        """One lead, or None."""
        with self._db.transaction() as session:
            row = session.get(LeadRow, lead_id)
            return lead_of(row) if row else None

    def find(self, criteria: LeadFilter) -> list[Lead]:
        """Leads matching `criteria`, newest first."""
        query = select(LeadRow)
        if criteria.status:
            query = query.where(LeadRow.status == criteria.status)
        if criteria.since:
            query = query.where(LeadRow.created_at >= criteria.since)
        if criteria.channel:
            query = query.where(LeadRow.channel == criteria.channel)
        if criteria.user_id:
            query = query.where(LeadRow.user_id == criteria.user_id)
        if criteria.interest:
            query = query.where(LeadRow.interest == criteria.interest)
        if criteria.language:
            query = query.where(LeadRow.language == criteria.language)
        if criteria.search:
            pattern = containing(criteria.search.strip())
            fields = (*(getattr(LeadRow, c) for c in COLUMNS), LeadRow.question)
            query = query.where(or_(*(field.ilike(pattern, escape="\\") for field in fields)))
        query = (
            query.order_by(LeadRow.created_at.desc(), LeadRow.id.desc())
            .limit(criteria.limit)
            .offset(criteria.offset)
        )
        with self._db.transaction() as session:
            return [lead_of(row) for row in session.scalars(query)]

    def history(self, lead_id: int) -> list[LeadEvent]:
        """A lead's events, oldest first."""
        query = (
            select(LeadEventRow).where(LeadEventRow.lead_id == lead_id).order_by(LeadEventRow.id)
        )
        with self._db.transaction() as session:
            return [_event(row) for row in session.scalars(query)]

    def consent(self, consent_id: int) -> ConsentRecord | None:
        """One consent record, or None."""
        with self._db.transaction() as session:
            row = session.get(ConsentRecordRow, consent_id)
            if row is None:
                return None
            return ConsentRecord(
                row.channel,
                row.user_id,
                row.notice_version,
                row.language,
                row.granted,
                row.at,
                event_id=row.event_id,
                id=row.id,
            )

    def set_status(self, lead_id: int, status: LeadStatus, actor: str, note: str | None) -> Lead:
        """Change the status (or add a note) and record who did it."""
        now = utc_now()
        with self._db.transaction() as session:
            row = session.get(LeadRow, lead_id)
            if row is None:
                raise KeyError(lead_id)
            row.status, row.updated_at = status, now
            session.add(
                LeadEventRow(
                    lead_id=lead_id, at=now, kind="status", actor=actor, status=status, note=note
                )
            )
            session.flush()
            return lead_of(row)

    def claim(self, lead_id: int, actor: str) -> Lead:
        """Make `actor` the owner and record who claimed it when."""
        now = utc_now()
        with self._db.transaction() as session:
            row = session.get(LeadRow, lead_id)
            if row is None:
                raise KeyError(lead_id)
            row.owner, row.updated_at = actor, now
            session.add(LeadEventRow(lead_id=lead_id, at=now, kind="claimed", actor=actor))
            session.flush()
            return lead_of(row)

    def set_card(self, lead_id: int, channel: str, ts: str) -> None:
        """Record where the lead's Slack card was posted (so erasing the lead deletes it)."""
        with self._db.transaction() as session:
            session.execute(
                update(LeadRow)
                .where(LeadRow.id == lead_id)
                .values(card_channel=channel, card_ts=ts)
            )

    def card(self, lead_id: int) -> tuple[str, str] | None:
        """The Slack channel and ts of the lead's card, or None (not posted, or no lead)."""
        query = select(LeadRow.card_channel, LeadRow.card_ts).where(LeadRow.id == lead_id)
        with self._db.transaction() as session:
            found = session.execute(query).first()
        if found is None or found.card_channel is None or found.card_ts is None:
            return None
        return found.card_channel, found.card_ts

    def cards_of(self, channel: str, user_id: str) -> list[tuple[str, str]]:
        """Where the person's lead cards were posted in Slack: (channel, ts) of each."""
        query = select(LeadRow.card_channel, LeadRow.card_ts).where(
            LeadRow.channel == channel,
            LeadRow.user_id == user_id,
            LeadRow.card_channel.is_not(None),
            LeadRow.card_ts.is_not(None),
        )
        with self._db.transaction() as session:
            return [(str(row.card_channel), str(row.card_ts)) for row in session.execute(query)]

    def purge(self, before: datetime) -> dict[str, int]:
        """Delete leads (with their history and notifications) and transcripts older than
        `before`, and consent records that no remaining lead needs."""
        with self._db.transaction() as session:
            return purge_leads(session, before)


class SqlOutbox:
    """`Outbox` on the `outbox` table (rows are written by `SqlLeadRepository.submit`)."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def claim(self, now: datetime, limit: int = 20, lease: timedelta = LEASE) -> list[OutboxItem]:
        """Take undelivered items whose next attempt is due, oldest first, for `lease`.

        Rows another replica is claiming are skipped, not waited for (SKIP LOCKED; SQLite
        serialises writers anyway), and the claimed rows' next attempt moves past the lease,
        so no transaction stays open while the notifications go out.
        """
        query = (
            select(OutboxRow)
            .where(OutboxRow.delivered_at.is_(None), OutboxRow.next_attempt_at <= now)
            .order_by(OutboxRow.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        with self._db.transaction() as session:
            rows = list(session.scalars(query))
            for row in rows:
                row.next_attempt_at = now + lease
            return [
                OutboxItem(row.id, cast(Any, row.kind), row.lead_id, row.created_at, row.attempts)
                for row in rows
            ]

    def delivered(self, item_id: int, at: datetime) -> None:
        """Mark delivered."""
        with self._db.transaction() as session:
            session.execute(
                update(OutboxRow).where(OutboxRow.id == item_id).values(delivered_at=at)
            )

    def failed(self, item_id: int, error: str, retry_at: datetime) -> None:
        """Count the attempt and schedule the next."""
        with self._db.transaction() as session:
            session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == item_id)
                .values(
                    attempts=OutboxRow.attempts + 1,
                    last_error=error[:1000],
                    next_attempt_at=retry_at,
                )
            )

    def depth(self) -> int:
        """How many notifications wait for delivery."""
        with self._db.transaction() as session:
            query = (
                select(func.count()).select_from(OutboxRow).where(OutboxRow.delivered_at.is_(None))
            )
            return int(session.scalar(query) or 0)


def _count(result: Result[Any]) -> int:
    """Rows a DELETE or UPDATE touched."""
    return int(cast(CursorResult[Any], result).rowcount)


def purge_leads(session: Session, before: datetime) -> dict[str, int]:
    """In `session`: delete leads made before `before` (their history and notifications go
    with them), consent records older than it that no remaining lead needs, and transcripts
    older than it; how many of each."""
    leads = _count(session.execute(delete(LeadRow).where(LeadRow.created_at < before)))
    still_needed = select(LeadRow.consent_id)
    consents = _count(
        session.execute(
            delete(ConsentRecordRow).where(
                ConsentRecordRow.at < before, ConsentRecordRow.id.not_in(still_needed)
            )
        )
    )
    transcripts = _count(
        session.execute(delete(TranscriptMessageRow).where(TranscriptMessageRow.at < before))
    )
    return {"leads": leads, "consent_records": consents, "transcript_messages": transcripts}
