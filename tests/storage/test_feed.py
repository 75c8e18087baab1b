"""The leads API's reads on SQLite and PostgreSQL: the (updated_at, id) order, the cursor with
ties, filters, the settle window, and one lead in full."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.feed import BadCursor, FeedCursor, FeedQuery
from bot.core.records import LeadSubmission, TranscriptEntry
from storage.db import Database
from storage.feed import SqlLeadFeed
from storage.leads import SqlLeadRepository
from storage.repositories import SqlTranscriptLog

T0 = datetime(2026, 3, 1, 9, 0, 0, 123456, tzinfo=UTC)


def submission(
    n: int, at: datetime = T0, *, channel: str = "telegram", language: str = "en", **answers: str
) -> LeadSubmission:
    """Prospect `n`'s confirmed form, submitted at `at`."""
    return LeadSubmission(
        submission_id=f"s{n}",
        channel=channel,
        user_id=f"u{n}",
        conversation_id=f"c{n}",
        language=language,
        notice_version="2026-01",
        consented_at=at - timedelta(minutes=1),
        submitted_at=at,
        answers={"name": f"Prospect {n}", "email": f"p{n}@example.com", **answers},
        score=50,
    )


def pull_all(feed: SqlLeadFeed, query: FeedQuery) -> tuple[list[int], FeedCursor | None]:
    """Every lead id a client sees paging with `next` until an empty page, and its cursor."""
    seen: list[int] = []
    cursor = query.after
    for _ in range(100):
        page = feed.changed(replace(query, after=cursor))
        seen += [lead.id for lead in page.leads]
        if page.next is None:
            return seen, cursor
        cursor = page.next
    raise AssertionError("the feed never ends")


def test_ties_in_updated_at_are_each_seen_once(database: Database) -> None:
    leads, feed = SqlLeadRepository(database), SqlLeadFeed(database)
    # seven leads changed at the very same instant, three earlier ones, in mixed insert order
    for n in range(1, 8):
        leads.submit(submission(n, T0))
    for n in range(8, 11):
        leads.submit(submission(n, T0 - timedelta(hours=1)))
    seen, _ = pull_all(feed, FeedQuery(limit=3))
    assert seen == [8, 9, 10, 1, 2, 3, 4, 5, 6, 7]


def test_a_page_says_whether_more_wait(database: Database) -> None:
    leads, feed = SqlLeadRepository(database), SqlLeadFeed(database)
    for n in range(1, 4):
        leads.submit(submission(n, T0 + timedelta(seconds=n)))
    first = feed.changed(FeedQuery(limit=2))
    assert ([lead.id for lead in first.leads], first.more) == ([1, 2], True)
    second = feed.changed(FeedQuery(limit=2, after=first.next))
    assert ([lead.id for lead in second.leads], second.more) == ([3], False)
    last = feed.changed(FeedQuery(limit=2, after=second.next))
    assert (last.leads, last.more, last.next) == ([], False, None)


def test_a_changed_lead_comes_again_after_the_cursor(database: Database) -> None:
    leads, feed = SqlLeadRepository(database), SqlLeadFeed(database)
    for n in range(1, 4):
        leads.submit(submission(n, T0 + timedelta(seconds=n)))
    seen, cursor = pull_all(feed, FeedQuery(limit=10))
    assert seen == [1, 2, 3]
    leads.set_status(2, "contacted", "web:sales@example.com", "called")
    page = feed.changed(FeedQuery(after=cursor))
    assert [(lead.id, lead.status) for lead in page.leads] == [(2, "contacted")]
    assert feed.changed(FeedQuery(after=page.next)).leads == []


def test_filters_narrow_the_feed(database: Database) -> None:
    leads, feed = SqlLeadRepository(database), SqlLeadFeed(database)
    leads.submit(submission(1, T0, interest="company_setup"))
    leads.submit(submission(2, T0 + timedelta(days=1), channel="slack", language="zh"))
    leads.submit(submission(3, T0 + timedelta(days=2), interest="ic_industry"))
    leads.set_status(3, "qualified", "test", None)

    def ids(**criteria: object) -> list[int]:
        return [lead.id for lead in feed.changed(FeedQuery(**criteria)).leads]  # type: ignore[arg-type]

    assert ids(status="qualified") == [3]
    assert ids(channel="slack") == [2]
    assert ids(language="zh") == [2]
    assert ids(interest="company_setup") == [1]
    day = T0.replace(hour=0, minute=0, second=0, microsecond=0)
    assert ids(created_from=day + timedelta(days=1)) == [2, 3]
    assert ids(created_to=day + timedelta(days=1)) == [1]
    assert ids(created_from=day + timedelta(days=1), created_to=day + timedelta(days=2)) == [2]
    assert ids(channel="whatsapp") == []


def test_changes_newer_than_the_settle_point_wait(database: Database) -> None:
    leads, feed = SqlLeadRepository(database), SqlLeadFeed(database)
    leads.submit(submission(1, T0))
    leads.submit(submission(2, T0 + timedelta(seconds=30)))
    page = feed.changed(FeedQuery(settled_before=T0 + timedelta(seconds=10)))
    assert [lead.id for lead in page.leads] == [1]
    later = feed.changed(FeedQuery(after=page.next, settled_before=T0 + timedelta(minutes=1)))
    assert [lead.id for lead in later.leads] == [2]


def test_dossier_has_consent_history_and_transcript(database: Database) -> None:
    leads, feed = SqlLeadRepository(database), SqlLeadFeed(database)
    lead = leads.submit(submission(1, T0)).lead
    SqlTranscriptLog(database).append(
        [
            TranscriptEntry("telegram", "c1", "u1", "in", "I'd like a quote", T0),
            TranscriptEntry("telegram", "c1", "u1", "out", "Happy to help", T0, "quote"),
            TranscriptEntry("telegram", "c2", "u2", "in", "someone else", T0),
        ]
    )
    leads.set_status(lead.id, "won", "web:sales@example.com", "signed")
    dossier = feed.dossier(lead.id)
    assert dossier is not None
    assert dossier.lead.status == "won"
    assert dossier.consent is not None
    assert (dossier.consent.id, dossier.consent.granted) == (lead.consent_id, True)
    assert [(e.kind, e.status, e.note) for e in dossier.history] == [
        ("created", None, None),
        ("status", "won", "signed"),
    ]
    assert [(m.direction, m.text) for m in dossier.transcript] == [
        ("in", "I'd like a quote"),
        ("out", "Happy to help"),
    ]
    assert feed.dossier(lead.id + 1) is None


def test_cursor_round_trips_and_refuses_anything_else() -> None:
    cursor = FeedCursor(T0, 42)
    assert FeedCursor.decode(cursor.encode()) == cursor
    for bad in ("", "not a cursor", "eyJ2IjoyfQ", "bnVsbA", "W10", "%%%"):
        with pytest.raises(BadCursor):
            FeedCursor.decode(bad)
