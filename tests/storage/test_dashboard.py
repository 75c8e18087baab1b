"""What the sales pages read, on SQLite and PostgreSQL: the leads table."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from bot.core.dashboard import LeadQuery, Period
from bot.core.records import LeadSubmission
from storage.dashboard import SqlDashboard
from storage.db import Database
from storage.leads import SqlLeadRepository
from storage.models import ConversationRow, LeadRow

DAY = date(2026, 3, 10)
NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
PERIOD = Period(DAY, DAY + timedelta(days=1))  # 10 and 11 March


def submit(
    database: Database, key: str, at: datetime, user: str | None = None, **answers: str
) -> int:
    """A confirmed form; the lead's id."""
    done = SqlLeadRepository(database).submit(
        LeadSubmission(
            submission_id=key,
            channel="telegram",
            user_id=user or key,
            conversation_id=user or key,
            language="en",
            notice_version="2026-11-26",
            consented_at=at - timedelta(minutes=1),
            submitted_at=at,
            answers={"name": key, **answers},
            score=40,
        )
    )
    return done.lead.id


def conversation(database: Database, key: str, at: datetime, form_at: datetime | None) -> None:
    """A conversation started at `at`, its lead form started at `form_at` (or never)."""
    with database.transaction() as session:
        session.add(
            ConversationRow(
                channel="telegram",
                conversation_id=key,
                user_id=key,
                form_started_at=form_at,
                created_at=at,
                updated_at=at,
            )
        )


def test_leads_page_counts_all_and_returns_one_page(database: Database) -> None:
    made = [submit(database, f"k{i}", NOON + timedelta(minutes=i)) for i in range(7)]
    board = SqlDashboard(database)
    page = board.leads(LeadQuery(page=2, limit=3))
    assert page.total == 7
    assert [lead.id for lead in page.leads] == made[::-1][3:6]
    everything = board.leads(LeadQuery(limit=None, descending=False))
    assert [lead.id for lead in everything.leads] == made


def test_leads_filter_by_created_days_inclusive(database: Database) -> None:
    first = submit(database, "first", datetime(2026, 3, 10, 0, 0, tzinfo=UTC))
    last = submit(database, "last", datetime(2026, 3, 11, 23, 59, tzinfo=UTC))
    submit(database, "later", datetime(2026, 3, 12, 0, 0, tzinfo=UTC))
    submit(database, "earlier", datetime(2026, 3, 9, 23, 59, tzinfo=UTC))
    query = LeadQuery(created_from=DAY, created_to=date(2026, 3, 11), descending=False)
    page = SqlDashboard(database).leads(query)
    assert ([lead.id for lead in page.leads], page.total) == ([first, last], 2)


def test_sorting_by_name_ignores_case_and_puts_missing_last(database: Database) -> None:
    board = SqlDashboard(database)
    bob = submit(database, "bob", NOON, company="beta")
    ann = submit(database, "Ann", NOON, company="Alpha")
    nameless = submit(database, "x", NOON, company="Gamma")
    with database.transaction() as session:
        row = session.get(LeadRow, nameless)
        assert row is not None
        row.name = None
    ascending = board.leads(LeadQuery(sort="name", descending=False))
    descending = board.leads(LeadQuery(sort="name"))
    assert [lead.id for lead in ascending.leads] == [ann, bob, nameless]
    assert [lead.id for lead in descending.leads] == [bob, ann, nameless]
    by_company = board.leads(LeadQuery(sort="company", descending=False))
    assert [lead.id for lead in by_company.leads] == [ann, bob, nameless]


def test_search_is_case_insensitive_and_literal(database: Database) -> None:
    plain = submit(database, "p", NOON, company="Acme")
    odd = submit(database, "o", NOON, company="50%_OFF\\ltd")
    board = SqlDashboard(database)

    def found(text: str) -> list[int]:
        return sorted(lead.id for lead in board.leads(LeadQuery(search=text)).leads)

    assert found("ACME") == [plain]
    assert found("%") == [odd]
    assert found("_") == [odd]
    assert found("\\") == [odd]
    assert found("0%_o") == [odd]


def test_a_note_keeps_the_status_and_names_its_author(database: Database) -> None:
    lead = submit(database, "n", NOON)
    SqlLeadRepository(database).set_status(lead, "contacted", "t", None)
    noted = SqlDashboard(database).add_note(lead, "web:a@example.com", "call on Monday")
    assert noted.status == "contacted"
    event = SqlLeadRepository(database).history(lead)[-1]
    assert (event.kind, event.status, event.actor, event.note) == (
        "status",
        "contacted",
        "web:a@example.com",
        "call on Monday",
    )


def test_channels_of_the_leads(database: Database) -> None:
    submit(database, "a", NOON)
    submit(database, "b", NOON)
    assert SqlDashboard(database).channels() == ["telegram"]


def test_leads_by_status_counts_every_status_zeros_included(database: Database) -> None:
    now = datetime.now(UTC)
    ids = [submit(database, f"s{n}", now, email=f"s{n}@example.com") for n in range(3)]
    SqlLeadRepository(database).set_status(ids[0], "won", "t", None)
    counts = SqlDashboard(database).by_status()
    assert counts == {"new": 2, "contacted": 0, "qualified": 0, "won": 1, "lost": 0}
