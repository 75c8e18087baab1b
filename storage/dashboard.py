"""What the sales pages read: the leads table (filters, sort, pages) and the funnel (a cohort of
conversations, counted from the event log); and the notes they add to a lead."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from statistics import median
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, aliased

from bot.core.dashboard import (
    Funnel,
    FunnelQuery,
    HandoffFigures,
    LeadPage,
    LeadQuery,
    Period,
    day_start,
)
from bot.core.records import LEAD_STATUSES, Lead
from storage.db import Database
from storage.leads import COLUMNS, containing, lead_of
from storage.models import (
    ConversationEventRow,
    HandoffRow,
    LeadEventRow,
    LeadRow,
    utc_now,
)

TOP = 10
# A status that counts as "qualified" in the funnel: it was reached on the way.
QUALIFIED = ("qualified", "won")


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
        pattern = containing(query.search)
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

    def funnel(self, query: FunnelQuery) -> Funnel:
        """What happened to the conversations whose first event falls in the query's period
        (of its language and channel, if given): counted per conversation from the event log,
        aggregated in the database; the handoffs' times from the handoffs table."""
        cohort = _cohort(query).cte("cohort")
        flags = _flags(cohort).subquery("flags")
        with self._db.transaction() as session:
            row = session.execute(_summary(flags)).one()
            handoffs = list(session.execute(_handoff_times(cohort)))
            questions = session.execute(_top_questions(cohort))
            unanswered = session.execute(_top_unanswered(cohort))
            top_questions = [(str(i), int(n)) for i, n in questions]
            top_unanswered = [(str(t), int(n)) for t, n in unanswered]
        numbers = [int(value or 0) for value in row]
        (
            conversations,
            answered,
            clarified,
            fallback,
            contained,
            requested,
            claimed,
            with_lead,
            form_started,
            leads,
            qualified,
            offered,
            up,
            down,
        ) = numbers
        return Funnel(
            conversations=conversations,
            answered=answered,
            clarified=clarified,
            fallback=fallback,
            contained=contained,
            handed_off=requested,
            form_started=form_started,
            leads=leads,
            qualified=qualified,
            offered=offered,
            rated=up + down,
            up=up,
            down=down,
            handoffs=HandoffFigures(
                requested=requested,
                claimed=claimed,
                with_lead=with_lead,
                median_to_claim=_median_seconds((r.requested_at, r.claimed_at) for r in handoffs),
                median_to_first_reply=_median_seconds(
                    (r.requested_at, r.first_reply_at) for r in handoffs
                ),
            ),
            top_questions=top_questions,
            top_unanswered=top_unanswered,
        )


# -- the funnel's queries ----------------------------------------------------------------------

Event = ConversationEventRow
QUESTIONS = ("match", "clarify", "fallback")  # the turns that asked the bot something
REQUESTS = ("requested", "after_hours")  # a handoff's outcomes that mean "a person, please"
RATINGS = ("up", "down")
KINDS = ("turn", "feedback", "handoff", "lead")


def _same_conversation(other: Any, of: Any) -> ColumnElement[bool]:
    """`other` (a table or an alias with channel and conversation_id) is of `of`'s conversation."""
    return and_(other.channel == of.channel, other.conversation_id == of.conversation_id)


def _cohort(query: FunnelQuery) -> Select[Any]:
    """The conversations whose first event falls in the period: those with an event in it
    and none before it; of one channel and language if asked."""
    since, until = query.period.since, query.period.until
    active = select(Event.channel, Event.conversation_id).where(Event.at >= since, Event.at < until)
    if query.channel:
        active = active.where(Event.channel == query.channel)
    started = active.group_by(Event.channel, Event.conversation_id).subquery("active")
    earlier = aliased(Event)
    cohort = select(started.c.channel, started.c.conversation_id).where(
        ~select(earlier.id)
        .where(_same_conversation(earlier, started.c), earlier.at < since)
        .exists()
    )
    if query.language:
        first = aliased(Event)
        language = (
            select(first.language)
            .where(
                _same_conversation(first, started.c),
                first.kind == "turn",
                first.language.is_not(None),
            )
            .order_by(first.at, first.id)
            .limit(1)
            .scalar_subquery()
        )
        cohort = cohort.where(language == query.language)
    return cohort


def _events(cohort: Any) -> Any:
    """Every event of the cohort's conversations, an answer that offered 👍/👎 with its
    latest rating (found through the answer_key index, only for those answers)."""
    event, pressed = aliased(Event), aliased(Event)
    rating = (
        select(pressed.outcome)
        .where(
            pressed.answer_key == event.answer_key,
            pressed.kind == "feedback",
            pressed.outcome.in_(RATINGS),
        )
        .order_by(pressed.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    offered = and_(event.kind == "turn", event.answer_key.is_not(None))
    return (
        select(
            cohort.c.channel,
            cohort.c.conversation_id,
            event.id,
            event.kind,
            event.outcome,
            event.user_id,
            offered.label("offered"),
            case((offered, rating), else_=None).label("rating"),
        )
        .join(event, _same_conversation(event, cohort.c))
        .subquery("events")
    )


def _flags(cohort: Any) -> Select[Any]:
    """One row per cohort conversation: its turns by outcome and what it reached (event ids
    say what came last or first: a conversation's events are written in order)."""
    event = _events(cohort).c
    turn = event.kind == "turn"

    def when(condition: ColumnElement[bool], value: Any = 1, otherwise: Any = 0) -> Any:
        return case((condition, value), else_=otherwise)

    def turns(outcome: str) -> Any:
        return func.sum(when(and_(turn, event.outcome == outcome)))

    request = and_(event.kind == "handoff", event.outcome.in_(REQUESTS))
    return select(
        event.channel,
        event.conversation_id,
        turns("match").label("answered"),
        turns("clarify").label("clarified"),
        turns("fallback").label("fallback"),
        func.max(when(and_(turn, event.outcome.in_(QUESTIONS)), event.id, None)).label(
            "last_question"
        ),
        func.max(when(and_(turn, event.outcome == "fallback"), event.id, None)).label(
            "last_fallback"
        ),
        func.max(when(event.kind == "handoff")).label("any_handoff"),
        func.min(when(request, event.id, None)).label("first_request"),
        func.max(when(and_(event.kind == "handoff", event.outcome == "claimed"))).label("claimed"),
        func.max(when(event.kind == "lead", event.id, None)).label("last_lead"),
        # Who made the lead: the leads table is indexed by (channel, user_id).
        func.max(when(event.kind == "lead", event.user_id, None)).label("lead_user"),
        func.max(when(and_(turn, event.outcome == "form"))).label("form"),
        func.sum(when(event.offered)).label("offered"),
        func.sum(when(event.rating == "up")).label("up"),
        func.sum(when(event.rating == "down")).label("down"),
    ).group_by(event.channel, event.conversation_id)


def _summary(flags: Any) -> Select[Any]:
    """The cohort's totals, each conversation count a subset of the cohort (and each nested
    step a subset of the one before, by its condition)."""
    reached = (
        select(LeadEventRow.id)
        .where(
            LeadEventRow.lead_id == LeadRow.id,
            LeadEventRow.kind == "status",
            LeadEventRow.status.in_(QUALIFIED),
        )
        .exists()
    )
    qualified_lead = (
        select(LeadRow.id)
        .where(
            LeadRow.channel == flags.c.channel,
            LeadRow.user_id == flags.c.lead_user,
            LeadRow.conversation_id == flags.c.conversation_id,
            or_(LeadRow.status.in_(QUALIFIED), reached),
        )
        .exists()
    )

    def conversations(condition: ColumnElement[bool]) -> Any:
        return func.sum(case((condition, 1), else_=0))

    requested = flags.c.first_request.is_not(None)
    lead = flags.c.last_lead.is_not(None)
    ended_on_fallback = and_(
        flags.c.last_fallback.is_not(None), flags.c.last_fallback == flags.c.last_question
    )
    return select(
        func.count(),
        func.sum(flags.c.answered),
        func.sum(flags.c.clarified),
        func.sum(flags.c.fallback),
        conversations(and_(flags.c.any_handoff == 0, ~ended_on_fallback)),
        conversations(requested),
        conversations(and_(requested, flags.c.claimed == 1)),
        conversations(and_(requested, lead, flags.c.last_lead > flags.c.first_request)),
        conversations(or_(flags.c.form == 1, lead)),
        conversations(lead),
        conversations(and_(lead, qualified_lead)),
        func.sum(flags.c.offered),
        func.sum(flags.c.up),
        func.sum(flags.c.down),
    ).select_from(flags)


def _handoff_times(cohort: Any) -> Select[datetime, datetime | None, datetime | None]:
    """The cohort's claimed handoffs' request, claim and first reply times."""
    return (
        select(HandoffRow.requested_at, HandoffRow.claimed_at, HandoffRow.first_reply_at)
        .join(cohort, _same_conversation(HandoffRow, cohort.c))
        .where(HandoffRow.claimed_at.is_not(None))
    )


def _median_seconds(spans: Iterable[tuple[datetime, datetime | None]]) -> float | None:
    """The median length of the spans that ended, in seconds; None if none did."""
    lengths = [(end - start).total_seconds() for start, end in spans if end is not None]
    return float(median(lengths)) if lengths else None


def _top_questions(cohort: Any) -> Select[str | None, int]:
    """The intents the cohort's answered turns matched most."""
    event = aliased(Event)
    asked = func.count(event.id)
    return (
        select(event.intent_id, asked)
        .join(cohort, _same_conversation(event, cohort.c))
        .where(event.kind == "turn", event.outcome == "match", event.intent_id.is_not(None))
        .group_by(event.intent_id)
        .order_by(asked.desc(), event.intent_id)
        .limit(TOP)
    )


def _top_unanswered(cohort: Any) -> Select[str | None, int]:
    """The cohort's fallback questions asked most (the same words, whatever their case)."""
    event = aliased(Event)
    said = func.lower(func.trim(event.text))
    times = func.count(event.id)
    return (
        select(func.min(event.text), times)
        .join(cohort, _same_conversation(event, cohort.c))
        .where(event.kind == "turn", event.outcome == "fallback", event.text.is_not(None))
        .group_by(said)
        .order_by(times.desc(), said)
        .limit(TOP)
    )
