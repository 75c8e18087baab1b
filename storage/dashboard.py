"""What the sales pages read: the leads table (filters, sort, pages) and the funnel; and the
notes they add to a lead."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute

from bot.core.dashboard import Funnel, LeadPage, LeadQuery, Period, day_start
from bot.core.records import LEAD_STATUSES, Lead
from storage.db import Database
from storage.leads import COLUMNS, lead_of
from storage.models import (
    ConsentRecordRow,
    ConversationRow,
    LeadEventRow,
    LeadRow,
    TranscriptMessageRow,
    UnansweredQuestionRow,
    utc_now,
)

TOP = 10
# A status that counts as "qualified" in the funnel: it was reached on the way.
QUALIFIED = ("qualified", "won")


def _like(text: str) -> str:
    """A LIKE pattern that finds `text` literally (its % and _ are not wildcards)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _where(query: LeadQuery) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if query.status:
        conditions.append(LeadRow.status == query.status)
    if query.channel:
        conditions.append(LeadRow.channel == query.channel)
    if query.interest:
        conditions.append(LeadRow.interest == query.interest)
    if query.language:
        conditions.append(LeadRow.language == query.language)
    if query.created_from:
        conditions.append(LeadRow.created_at >= day_start(query.created_from))
    if query.created_to:
        conditions.append(LeadRow.created_at < Period(query.created_to, query.created_to).until)
    if query.search:
        pattern = _like(query.search)
        fields: tuple[InstrumentedAttribute[Any], ...] = (
            *(getattr(LeadRow, c) for c in COLUMNS),
            LeadRow.question,
        )
        conditions.append(or_(*(f.ilike(pattern, escape="\\") for f in fields)))
    return conditions


def _ordered(select_: Select[LeadRow], query: LeadQuery) -> Select[LeadRow]:
    key: ColumnElement[Any] | InstrumentedAttribute[Any]
    if query.sort == "score":
        key = LeadRow.score
    elif query.sort == "status":  # the order of the pipeline, not of the alphabet
        key = case({s: i for i, s in enumerate(LEAD_STATUSES)}, value=LeadRow.status)
    elif query.sort == "name":
        key = func.lower(LeadRow.name)
    elif query.sort == "company":
        key = func.lower(LeadRow.company)
    else:
        key = LeadRow.created_at
    if query.descending:
        return select_.order_by(key.desc().nulls_last(), LeadRow.id.desc())
    return select_.order_by(key.asc().nulls_last(), LeadRow.id.asc())


class SqlDashboard:
    """What the sales pages read, and the notes they add."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def leads(self, query: LeadQuery) -> LeadPage:
        """The page of leads `query` asks for (all of them if its limit is None), with the
        number of leads that match in all."""
        conditions = _where(query)
        rows = _ordered(select(LeadRow).where(*conditions), query)
        if query.limit is not None:
            rows = rows.limit(query.limit).offset(query.offset)
        counted = select(func.count()).select_from(LeadRow).where(*conditions)
        with self._db.transaction() as session:
            leads = [lead_of(row) for row in session.scalars(rows)]
            total = int(session.scalar(counted) or 0)
        return LeadPage(leads, total)

    def by_status(self) -> dict[str, int]:
        """How many leads are at each status (every status, zeros included), in one query."""
        counted = select(LeadRow.status, func.count()).group_by(LeadRow.status)
        with self._db.transaction() as session:
            found = {str(status): int(n) for status, n in session.execute(counted)}
        return {status: found.get(status, 0) for status in LEAD_STATUSES}

    def channels(self) -> list[str]:
        """The channels leads came from, for the filter's choices."""
        with self._db.transaction() as session:
            return list(session.scalars(select(LeadRow.channel).distinct().order_by("channel")))

    def add_note(self, lead_id: int, actor: str, note: str) -> Lead:
        """Add a note to a lead's history without changing its status (`KeyError` if none)."""
        now = utc_now()
        with self._db.transaction() as session:
            row = session.get(LeadRow, lead_id, with_for_update=True)
            if row is None:
                raise KeyError(lead_id)
            row.updated_at = now
            # The history has no kind of its own for notes: a status event that keeps the
            # status is one (the pages show it as a note).
            session.add(
                LeadEventRow(
                    lead_id=lead_id,
                    at=now,
                    kind="status",
                    actor=actor,
                    status=row.status,
                    note=note,
                )
            )
            session.flush()
            return lead_of(row)

    def funnel(self, period: Period) -> Funnel:
        """How many got how far in `period`, and the questions asked most in it."""
        since, until = period.since, period.until

        def within(column: InstrumentedAttribute[datetime | None]) -> ColumnElement[bool]:
            return and_(column >= since, column < until)

        def count(query: Select[Any]) -> int:
            return int(session.scalar(query) or 0)

        reached = (
            select(LeadEventRow.id)
            .where(
                LeadEventRow.lead_id == LeadRow.id,
                LeadEventRow.kind == "status",
                LeadEventRow.status.in_(QUALIFIED),
            )
            .exists()
        )
        people = (
            select(ConsentRecordRow.channel, ConsentRecordRow.user_id)
            .where(ConsentRecordRow.granted.is_(True), within(ConsentRecordRow.at))
            .distinct()
            .subquery()
        )
        asked = func.count(TranscriptMessageRow.id)
        questions = (
            select(TranscriptMessageRow.intent_id, asked)
            .where(
                TranscriptMessageRow.direction == "in",
                TranscriptMessageRow.intent_id.is_not(None),
                within(TranscriptMessageRow.at),
            )
            .group_by(TranscriptMessageRow.intent_id)
            .order_by(asked.desc(), TranscriptMessageRow.intent_id)
            .limit(TOP)
        )
        said = func.lower(func.trim(UnansweredQuestionRow.text))
        times = func.count(UnansweredQuestionRow.id)
        unanswered = (
            select(func.min(UnansweredQuestionRow.text), times)
            .where(within(UnansweredQuestionRow.at))
            .group_by(said)
            .order_by(times.desc(), said)
            .limit(TOP)
        )
        with self._db.transaction() as session:
            return Funnel(
                conversations=count(
                    select(func.count())
                    .select_from(ConversationRow)
                    .where(within(ConversationRow.created_at))
                ),
                form_started=count(
                    select(func.count())
                    .select_from(ConversationRow)
                    .where(within(ConversationRow.form_started_at))
                ),
                consented=count(select(func.count()).select_from(people)),
                confirmed=count(
                    select(func.count()).select_from(LeadRow).where(within(LeadRow.created_at))
                ),
                qualified=count(
                    select(func.count())
                    .select_from(LeadRow)
                    .where(
                        within(LeadRow.created_at),
                        or_(LeadRow.status.in_(QUALIFIED), reached),
                    )
                ),
                top_questions=[(str(i), int(n)) for i, n in session.execute(questions)],
                top_unanswered=[(str(t), int(n)) for t, n in session.execute(unanswered)],
            )
