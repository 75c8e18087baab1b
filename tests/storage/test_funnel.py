"""The funnel, on SQLite and PostgreSQL: a cohort of conversations (those whose first event falls
in the period) counted from the event log, so no step can exceed the one before."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.core.dashboard import BadQuery, FunnelQuery, Period
from bot.core.records import ConversationEvent, EventKind, LeadSubmission
from storage.dashboard import SqlDashboard
from storage.db import Database
from storage.events import SqlEventLog
from storage.leads import SqlLeadRepository
from storage.models import HandoffRow

DAY = date(2026, 3, 10)
NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
PERIOD = Period(DAY, DAY + timedelta(days=1))  # 10 and 11 March
MINUTE = timedelta(minutes=1)


def event(
    conversation: str,
    kind: EventKind,
    outcome: str | None,
    at: datetime,
    channel: str = "telegram",
    **fields: str,
) -> ConversationEvent:
    """One event of `conversation` (its user has the same id)."""
    return ConversationEvent(
        channel,
        conversation,
        conversation,
        kind,
        at,
        outcome=outcome,
        language=fields.get("language"),
        intent_id=fields.get("intent_id"),
        answer_key=fields.get("answer_key"),
        text=fields.get("text"),
    )


def handoff(
    database: Database,
    conversation: str,
    requested_at: datetime,
    claimed_after: timedelta | None,
    replied_after: timedelta | None,
) -> None:
    """A handoff row of a telegram conversation, claimed and answered after the given times."""
    with database.transaction() as session:
        session.add(
            HandoffRow(
                channel="telegram",
                conversation_id=conversation,
                user_id=conversation,
                language="en",
                status="closed",
                requested_at=requested_at,
                claimed_at=requested_at + claimed_after if claimed_after else None,
                first_reply_at=requested_at + replied_after if replied_after else None,
                closed_at=requested_at + timedelta(hours=1),
                close_reason="rep",
            )
        )


def lead(database: Database, conversation: str, at: datetime) -> int:
    """A lead from a telegram conversation; its id."""
    done = SqlLeadRepository(database).submit(
        LeadSubmission(
            submission_id=f"s-{conversation}-{at.isoformat()}",
            channel="telegram",
            user_id=conversation,
            conversation_id=conversation,
            language="en",
            notice_version="2026-11-26",
            consented_at=at - MINUTE,
            submitted_at=at,
            answers={"name": conversation},
            score=40,
        )
    )
    return done.lead.id


def scripted(database: Database) -> None:
    """Seven conversations in the period, two around it (see the test's expectations)."""
    t = NOON
    events = [
        # answered twice, 👍 on the first answer, 👎 then 👍 on the second (the latest counts)
        event("a", "turn", "match", t, language="en", intent_id="size", answer_key="a1"),
        event("a", "feedback", "up", t + MINUTE, answer_key="a1"),
        event(
            "a", "turn", "match", t + 2 * MINUTE, language="en", intent_id="size", answer_key="a2"
        ),
        event("a", "feedback", "down", t + 3 * MINUTE, answer_key="a2"),
        event("a", "feedback", "up", t + 4 * MINUTE, answer_key="a2"),
        # a command first (no language), then clarified, then answered (chose)
        event("b", "turn", "command", t),
        event("b", "turn", "clarify", t + MINUTE, language="zh"),
        event(
            "b", "turn", "match", t + 2 * MINUTE, language="zh", intent_id="where", answer_key="b1"
        ),
        # answered, then a fallback at the end: not contained
        event("c", "turn", "match", t, language="en", intent_id="where", answer_key="c1"),
        event("c", "turn", "fallback", t + MINUTE, language="en", text="Pizza?"),
        # a fallback, then answered: contained; 👎 on the answer
        event("d", "turn", "fallback", t, language="en", text=" pizza? "),
        event("d", "turn", "match", t + MINUTE, language="en", intent_id="size", answer_key="d1"),
        event("d", "feedback", "down", t + 2 * MINUTE, answer_key="d1"),
        # a lead form, a lead, updated twelve times: one lead, qualified later
        event("e", "turn", "match", t, language="en", intent_id="quote"),
        *[event("e", "turn", "form", t + n * MINUTE, language="en") for n in range(1, 4)],
        event("e", "lead", "created", t + 5 * MINUTE),
        *[event("e", "lead", "updated", t + (6 + n) * MINUTE) for n in range(12)],
        # asked for a person, claimed, answered by a rep, then a lead: not contained
        event("f", "turn", "match", t, language="en", intent_id="size", answer_key="f1"),
        event("f", "handoff", "requested", t + MINUTE),
        event("f", "handoff", "claimed", t + 3 * MINUTE),
        event("f", "handoff", "human_reply", t + 6 * MINUTE),
        event("f", "turn", "form", t + 8 * MINUTE, language="en"),
        event("f", "lead", "created", t + 9 * MINUTE),
        # asked for a person out of hours: never claimed; started at the period's last second
        event("g", "turn", "fallback", datetime(2026, 3, 11, 23, 59, 59, tzinfo=UTC), text="x"),
        event("g", "handoff", "after_hours", datetime(2026, 3, 12, 0, 0, 5, tzinfo=UTC)),
        # started the day before the period: none of its events count, not even its lead
        event("old", "turn", "match", t - timedelta(days=1), language="en", intent_id="size"),
        event("old", "turn", "form", t, language="en"),
        event("old", "lead", "created", t + MINUTE),
        event("old", "handoff", "requested", t + 2 * MINUTE),
        # started after the period
        event("late", "turn", "match", t + timedelta(days=2), language="en", intent_id="size"),
        # the same conversation id on another channel is another conversation
        event("a", "turn", "fallback", t, channel="web", language="zh", text="Pizza?"),
    ]
    SqlEventLog(database).add(events)
    handoff(database, "f", t + MINUTE, 2 * MINUTE, 5 * MINUTE)
    handoff(database, "g", datetime(2026, 3, 12, 0, 0, 5, tzinfo=UTC), None, None)
    handoff(database, "old", t + 2 * MINUTE, 10 * MINUTE, 20 * MINUTE)
    qualified = lead(database, "e", t + 5 * MINUTE)
    lead(database, "f", t + 9 * MINUTE)
    SqlLeadRepository(database).set_status(qualified, "qualified", "t", None)
    SqlLeadRepository(database).set_status(lead(database, "old", t + MINUTE), "won", "t", None)


def test_the_funnel_counts_a_cohort_of_conversations(database: Database) -> None:
    scripted(database)
    funnel = SqlDashboard(database).funnel(FunnelQuery(PERIOD))
    assert funnel.conversations == 8  # a..g on telegram, a on the web
    assert (funnel.answered, funnel.clarified, funnel.fallback) == (7, 1, 4)
    assert funnel.question_turns == 12
    assert funnel.contained == 4  # a, b, d, e (c ends on a fallback, f and g asked for a person)
    assert funnel.handed_off == 2  # f, g
    assert (funnel.form_started, funnel.leads, funnel.qualified) == (2, 2, 1)
    assert funnel.conversion == 2 / 8
    assert (funnel.offered, funnel.rated, funnel.up, funnel.down) == (6, 3, 2, 1)
    assert funnel.thumbs_up == 2 / 3
    figures = funnel.handoffs
    assert (figures.requested, figures.claimed, figures.with_lead) == (2, 1, 1)
    assert figures.median_to_claim == 120.0
    assert figures.median_to_first_reply == 300.0
    assert funnel.steps() == [
        ("Conversations", 8),
        ("Form started", 2),
        ("Lead", 2),
        ("Qualified", 1),
    ]
    assert funnel.top_questions == [("size", 4), ("where", 2), ("quote", 1)]
    assert [(text.strip().lower(), n) for text, n in funnel.top_unanswered] == [
        ("pizza?", 3),
        ("x", 1),
    ]


def test_the_funnel_filters_by_language_and_channel(database: Database) -> None:
    scripted(database)
    board = SqlDashboard(database)
    chinese = board.funnel(FunnelQuery(PERIOD, language="zh"))
    assert chinese.conversations == 2  # b (its first turn with a language), a on the web
    assert (chinese.answered, chinese.clarified, chinese.fallback) == (1, 1, 1)
    web = board.funnel(FunnelQuery(PERIOD, channel="web"))
    assert (web.conversations, web.fallback, web.contained) == (1, 1, 0)
    both = board.funnel(FunnelQuery(PERIOD, language="zh", channel="telegram"))
    assert (both.conversations, both.answered, both.offered) == (1, 1, 1)
    english = board.funnel(FunnelQuery(PERIOD, language="en", channel="telegram"))
    assert english.conversations == 5  # a, c, d, e, f (g said nothing with a language)
    assert english.handoffs.requested == 1
    assert english.handoffs.median_to_claim == 120.0


def test_a_period_without_conversations_counts_nothing(database: Database) -> None:
    scripted(database)
    funnel = SqlDashboard(database).funnel(FunnelQuery(Period(date(2020, 1, 1), date(2020, 1, 31))))
    assert funnel.steps() == [
        ("Conversations", 0),
        ("Form started", 0),
        ("Lead", 0),
        ("Qualified", 0),
    ]
    assert (funnel.conversion, funnel.thumbs_up) == (None, None)
    assert funnel.handoffs.median_to_claim is None
    assert (funnel.top_questions, funnel.top_unanswered) == ([], [])


# -- no step above the one before, whatever the log holds --------------------------------------

KINDS: list[tuple[EventKind, str | None]] = [
    ("turn", "match"),
    ("turn", "clarify"),
    ("turn", "fallback"),
    ("turn", "form"),
    ("turn", "command"),
    ("feedback", "up"),
    ("feedback", "down"),
    ("feedback", "comment"),
    ("handoff", "requested"),
    ("handoff", "after_hours"),
    ("handoff", "claimed"),
    ("handoff", "human_reply"),
    ("handoff", "closed:rep"),
    ("lead", "created"),
    ("lead", "updated"),
]


@dataclass
class Expected:
    """The funnel's conversation counts, computed the slow way from the events in order."""

    conversations: int = 0
    contained: int = 0
    handed_off: int = 0
    claimed: int = 0
    with_lead: int = 0
    form_started: int = 0
    leads: int = 0
    offered: int = 0
    rated: int = 0
    up: int = 0


def expected(events: list[ConversationEvent], period: Period) -> Expected:
    """What the funnel of `period` must say about `events` (written in this order)."""
    by_conversation: dict[tuple[str, str], list[ConversationEvent]] = defaultdict(list)
    for e in events:
        by_conversation[(e.channel, e.conversation_id)].append(e)
    latest: dict[str, str] = {}
    for e in events:
        if e.kind == "feedback" and e.outcome in ("up", "down") and e.answer_key:
            latest[e.answer_key] = e.outcome
    result = Expected()
    for log in by_conversation.values():
        if not period.since <= min(e.at for e in log) < period.until:
            continue
        result.conversations += 1
        questions = [
            e for e in log if e.kind == "turn" and e.outcome in ("match", "clarify", "fallback")
        ]
        asked = [
            i
            for i, e in enumerate(log)
            if e.kind == "handoff" and e.outcome in ("requested", "after_hours")
        ]
        leads = [i for i, e in enumerate(log) if e.kind == "lead"]
        handed = any(e.kind == "handoff" for e in log)
        if not handed and not (questions and questions[-1].outcome == "fallback"):
            result.contained += 1
        if asked:
            result.handed_off += 1
            result.claimed += any(e.kind == "handoff" and e.outcome == "claimed" for e in log)
            result.with_lead += bool(leads) and max(leads) > min(asked)
        result.form_started += bool(leads) or any(
            e.kind == "turn" and e.outcome == "form" for e in log
        )
        result.leads += bool(leads)
        keys = [e.answer_key for e in log if e.kind == "turn" and e.answer_key]
        result.offered += len(keys)
        result.rated += sum(key in latest for key in keys)
        result.up += sum(latest.get(key) == "up" for key in keys)
    return result


@pytest.mark.parametrize("seed", [1, 2])
def test_no_step_exceeds_the_one_before_whatever_the_log_holds(
    database: Database, seed: int
) -> None:
    """Random logs: many leads, consents and ratings per conversation, conversations that
    began before the period; every count stays within the cohort and the step before."""
    rng = random.Random(seed)  # noqa: S311 (a repeatable log, not a secret)
    events: list[ConversationEvent] = []
    keys = 0
    for number in range(60):
        start = NOON + timedelta(hours=rng.randint(-60, 60))
        at = start
        for _ in range(rng.randint(1, 12)):
            kind, outcome = rng.choice(KINDS)
            answer_key = None
            if kind == "turn" and outcome == "match" and rng.random() < 0.7:
                keys += 1
                answer_key = f"k{keys}"
            elif kind == "feedback" and keys:
                answer_key = f"k{rng.randint(1, keys)}"
            events.append(
                ConversationEvent(
                    "telegram",
                    f"c{number}",
                    f"c{number}",
                    kind,
                    at,
                    outcome=outcome,
                    answer_key=answer_key,
                    language="en",
                )
            )
            at += timedelta(minutes=rng.randint(1, 600))
    SqlEventLog(database).add(events)
    funnel = SqlDashboard(database).funnel(FunnelQuery(PERIOD))
    want = expected(events, PERIOD)
    assert funnel.conversations == want.conversations > 0
    assert (funnel.contained, funnel.handed_off, funnel.form_started, funnel.leads) == (
        want.contained,
        want.handed_off,
        want.form_started,
        want.leads,
    )
    assert (funnel.offered, funnel.rated, funnel.up) == (want.offered, want.rated, want.up)
    assert (funnel.handoffs.claimed, funnel.handoffs.with_lead) == (want.claimed, want.with_lead)
    steps = [count for _, count in funnel.steps()]
    assert steps == sorted(steps, reverse=True)
    for count in (funnel.contained, funnel.handed_off, funnel.leads):
        assert count <= funnel.conversations
    assert funnel.handoffs.claimed <= funnel.handoffs.requested <= funnel.conversations
    assert funnel.handoffs.with_lead <= funnel.handoffs.requested
    assert funnel.up + funnel.down == funnel.rated <= funnel.offered


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"language": "fr"}, "language: 'fr' is not one of en, zh"),
        ({"channel": "Tele gram"}, "channel: 'Tele gram' is not a channel name"),
        ({"from": "2026-03-05", "to": "2026-03-01"}, "the start date is after the end date"),
    ],
)
def test_bad_funnel_queries_say_what_is_wrong(params: dict[str, str], message: str) -> None:
    with pytest.raises(BadQuery, match=message):
        FunnelQuery.from_params(params, DAY, 30)


def test_a_funnel_query_round_trips_through_its_query_string() -> None:
    query = FunnelQuery(PERIOD, language="zh", channel="web")
    assert FunnelQuery.from_params(query.params(), date(2027, 1, 1), 30) == query
