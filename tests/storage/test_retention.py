"""The retention purge over every table, on SQLite and PostgreSQL: rows past their rule go (or
are redacted), younger ones stay; a second purge while one runs skips."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

import storage.retention as retention_module
from bot.core.ports import RetentionRules
from storage.db import Database
from storage.handoffs import SqlHandoffs
from storage.models import (
    ApiTokenRow,
    AuditEntryRow,
    Base,
    ConsentRecordRow,
    ConversationEventRow,
    ConversationRow,
    ErasureRow,
    HandoffRow,
    LeadEventRow,
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
    StaffUserRow,
    TranscriptMessageRow,
    UnansweredQuestionRow,
)
from storage.privacy import REDACTED
from storage.retention import LOCK_KEY, SqlRetention

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
RULES = RetentionRules(
    personal=timedelta(days=365),
    session_idle=timedelta(minutes=30),
    session_lifetime=timedelta(hours=12),
)
OLD = NOW - timedelta(days=400)  # past the retention
RECENT = NOW - timedelta(minutes=5)


def ago(**kwargs: float) -> datetime:
    """`NOW` minus a `timedelta(**kwargs)`."""
    return NOW - timedelta(**kwargs)


def _conversation(name: str, updated: datetime, **more: Any) -> ConversationRow:
    return ConversationRow(
        channel="telegram",
        conversation_id=name,
        user_id=name,
        updated_at=updated,
        created_at=updated,
        **more,
    )


def _transcript(name: str, at: datetime) -> TranscriptMessageRow:
    return TranscriptMessageRow(
        channel="telegram", conversation_id=name, user_id=name, direction="in", text=name, at=at
    )


def _event(name: str, at: datetime) -> ConversationEventRow:
    return ConversationEventRow(
        channel="telegram", conversation_id=name, user_id=name, kind="turn", at=at, text=name
    )


def _miss(name: str, at: datetime) -> UnansweredQuestionRow:
    return UnansweredQuestionRow(
        channel="telegram", conversation_id=name, user_id=name, text=name, language="en", at=at
    )


def _consent(at: datetime) -> ConsentRecordRow:
    return ConsentRecordRow(
        channel="telegram", user_id="u", notice_version="1", language="en", granted=True, at=at
    )


def _lead(name: str, created: datetime, consent: ConsentRecordRow) -> LeadRow:
    return LeadRow(
        channel="telegram",
        user_id=name,
        conversation_id=name,
        language="en",
        consent_id=consent.id,
        name=name,
        email=f"{name}@example.com",
        created_at=created,
        updated_at=created,
    )


def _outgoing(name: str, created: datetime, sent: datetime | None) -> OutgoingMessageRow:
    return OutgoingMessageRow(
        channel="telegram",
        chat_id=name,
        user_id=name,
        body={"text": name},
        created_at=created,
        next_attempt_at=created,
        sent_at=sent,
    )


def _handoff(name: str, status: str, closed: datetime | None) -> HandoffRow:
    return HandoffRow(
        channel="telegram",
        conversation_id=name,
        user_id=name,
        language="en",
        status=status,
        requested_at=OLD,
        question=name,
        closed_at=closed,
    )


def _relay(handoff: HandoffRow, sent: datetime | None) -> RelayItemRow:
    return RelayItemRow(
        handoff_id=handoff.id,
        direction="to_thread",
        kind="text",
        created_at=OLD,
        text=handoff.conversation_id,
        next_attempt_at=OLD,
        sent_at=sent,
    )


def seed(session: Session) -> None:
    """One row or more on each side of each table's rule."""
    session.add_all(
        [
            _conversation("old", OLD),
            _conversation("idle", ago(days=10), form={"kind": "lead", "email": "a@b.c"}),
            _conversation("busy", RECENT, form={"kind": "lead"}, last_question="where?"),
            _transcript("old", OLD),
            _transcript("new", RECENT),
            _event("old", OLD),
            _event("new", RECENT),
            ProcessedDeliveryRow(channel="telegram", delivery_id="old", processed_at=ago(days=3)),
            ProcessedDeliveryRow(channel="telegram", delivery_id="new", processed_at=ago(hours=1)),
            LoginFailureRow(key="old", at=ago(days=2)),
            LoginFailureRow(key="new", at=RECENT),
            RateBudgetRow(key="old", next_free=NOW.timestamp() - 7200),
            RateBudgetRow(key="new", next_free=NOW.timestamp() + 5),
            PeriodicRunRow(job="old", period="p", ran_by="r", ran_at=ago(days=90)),
            PeriodicRunRow(job="new", period="p", ran_by="r", ran_at=ago(days=1)),
            ErasureRow(subject="old", at=OLD, counts={}),
            ApiTokenRow(name="old", token_hash="h" * 64, created_by="a", created_at=OLD),
        ]
    )
    # Misses and their groups: the old miss's group empties and goes.
    old_miss, new_miss = _miss("old", OLD), _miss("new", RECENT)
    emptied, shared, fresh = (
        QuestionGroupRow(model="m", vector=b"v", created_at=created)
        for created in (OLD, OLD, RECENT)
    )
    session.add_all([old_miss, new_miss, emptied, shared, fresh])
    session.flush()
    session.add_all(
        [
            QuestionGroupingRow(question_id=old_miss.id, model="m", group_id=emptied.id),
            QuestionGroupingRow(question_id=new_miss.id, model="m", group_id=shared.id),
        ]
    )
    # Leads: an old one (its consent, history and notification go with it), a new one whose
    # old consent stays; the new lead's delivered notification goes after two days.
    gone, needed = _consent(OLD), _consent(OLD)
    session.add_all([gone, needed])
    session.flush()
    old_lead, new_lead = _lead("old", OLD, gone), _lead("new", RECENT, needed)
    session.add_all([old_lead, new_lead])
    session.flush()
    session.add(LeadEventRow(lead_id=old_lead.id, at=OLD, kind="created", actor="bot"))
    for delivered, name in ((ago(days=3), "old"), (ago(hours=1), "new"), (None, "due")):
        session.add(
            OutboxRow(
                kind="lead_created",
                lead_id=new_lead.id,
                created_at=ago(days=4),
                next_attempt_at=ago(days=4),
                last_error=name,
                delivered_at=delivered,
            )
        )
    session.add_all(
        [
            _outgoing("old", ago(days=4), ago(days=3)),
            _outgoing("new", ago(days=4), ago(hours=1)),
            _outgoing("stale", ago(days=8), None),
            _outgoing("due", ago(hours=1), None),
        ]
    )
    # Handoffs: closed long ago and settled goes; one still to relay, a recent and an open stay.
    done = _handoff("old", "closed", OLD)
    waiting_relay = _handoff("pending", "closed", OLD)
    recent = _handoff("new", "closed", RECENT)
    still_open = _handoff("open", "waiting", None)
    session.add_all([done, waiting_relay, recent, still_open])
    session.flush()
    session.add_all([_relay(done, OLD), _relay(done, OLD), _relay(waiting_relay, None)])
    # Staff: expired sessions, an old audit entry, prospects' words in audit details.
    user = StaffUserRow(email="s@example.com", role="sales", password_hash="x", created_by="t")
    session.add(user)
    session.flush()
    session.add_all(
        [
            StaffSessionRow(id="idle", user_id=user.id, csrf="c", last_seen_at=ago(hours=1)),
            StaffSessionRow(
                id="long", user_id=user.id, csrf="c", created_at=ago(hours=13), last_seen_at=NOW
            ),
            StaffSessionRow(
                id="live", user_id=user.id, csrf="c", created_at=ago(hours=1), last_seen_at=NOW
            ),
            AuditEntryRow(at=OLD, actor="a", action="user.add", target="old", details={}),
            AuditEntryRow(
                at=ago(days=40),
                actor="a",
                action="question.add_example",
                target="redacted",
                details={"text": "I am Ann, call +86 138 0000 0000", "lang": "en"},
            ),
            AuditEntryRow(
                at=ago(days=40),
                actor="a",
                action="leads.export",
                target="searched",
                details={"filters": {"q": "ann@example.com", "status": "new"}, "rows": 1},
            ),
            AuditEntryRow(
                at=ago(days=1),
                actor="a",
                action="question.add_example",
                target="kept",
                details={"text": "how big is Lingang?", "lang": "en"},
            ),
        ]
    )


@pytest.fixture
def seeded(database: Database) -> Database:
    """`database` with `seed`'s rows."""
    with database.transaction() as session:
        seed(session)
    return database


def names(database: Database, column: Any) -> set[object]:
    """The values of `column` in every row of its table."""
    with database.transaction() as session:
        return set(session.scalars(select(column)))


def test_only_what_is_past_its_rule_goes(seeded: Database) -> None:
    counts = SqlRetention(seeded, RULES).purge(NOW)
    assert counts is not None
    db = seeded
    assert names(db, ConversationRow.conversation_id) == {"idle", "busy"}
    assert names(db, TranscriptMessageRow.conversation_id) == {"new"}
    assert names(db, ConversationEventRow.conversation_id) == {"new"}
    assert names(db, UnansweredQuestionRow.text) == {"new"}
    assert names(db, QuestionGroupingRow.question_id) == names(db, UnansweredQuestionRow.id)
    assert len(names(db, QuestionGroupRow.id)) == 2, "the group left empty by the old miss"
    assert names(db, LeadRow.name) == {"new"}
    assert len(names(db, ConsentRecordRow.id)) == 1, "the new lead's consent is still needed"
    assert names(db, LeadEventRow.id) == set()
    assert names(db, OutboxRow.last_error) == {"new", "due"}
    assert names(db, OutgoingMessageRow.chat_id) == {"new", "due"}
    assert names(db, HandoffRow.conversation_id) == {"pending", "new", "open"}
    assert len(names(db, RelayItemRow.id)) == 1
    assert names(db, ProcessedDeliveryRow.delivery_id) == {"new"}
    assert names(db, LoginFailureRow.key) == {"new"}
    assert names(db, RateBudgetRow.key) == {"new"}
    assert names(db, PeriodicRunRow.job) == {"new"}
    assert names(db, StaffSessionRow.id) == {"live"}
    assert names(db, AuditEntryRow.target) == {"redacted", "searched", "kept"}
    # Kept whatever their age: the erasure proof, accounts and tokens.
    assert names(db, ErasureRow.subject) == {"old"}
    assert names(db, ApiTokenRow.name) == {"old"}
    assert names(db, StaffUserRow.email) == {"s@example.com"}
    assert counts == {
        "slack_deletions": 0,
        "conversations": 1,
        "conversation_forms": 1,
        "conversation_events": 1,
        "unanswered_questions": 1,
        "question_groups": 1,
        "leads": 1,
        "consent_records": 1,
        "transcript_messages": 1,
        "outbox": 1,
        "outgoing_messages": 2,
        "handoffs": 1,
        "relay_items": 2,
        "staff_sessions": 2,
        "login_failures": 1,
        "audit_log": 1,
        "audit_log_redacted": 2,
        "processed_deliveries": 1,
        "rate_budgets": 1,
        "periodic_runs": 1,
    }


def test_an_abandoned_form_is_cleared_and_a_turn_in_flight_reloads(seeded: Database) -> None:
    with seeded.transaction() as session:
        before = {
            row.conversation_id: row.version for row in session.scalars(select(ConversationRow))
        }
    SqlRetention(seeded, RULES).purge(NOW)
    with seeded.transaction() as session:
        rows = {row.conversation_id: row for row in session.scalars(select(ConversationRow))}
    idle, busy = rows["idle"], rows["busy"]
    assert (idle.form, idle.last_question) == (None, None)
    assert idle.version == before["idle"] + 1, "a save from the old version is refused"
    assert busy.form == {"kind": "lead"}
    assert busy.last_question == "where?"


def test_prospects_words_in_old_audit_entries_are_redacted(seeded: Database) -> None:
    SqlRetention(seeded, RULES).purge(NOW)
    with seeded.transaction() as session:
        details = {row.target: row.details for row in session.scalars(select(AuditEntryRow))}
    assert details["redacted"] == {"text": REDACTED, "lang": "en"}
    assert details["searched"] == {"filters": {"q": REDACTED, "status": "new"}, "rows": 1}
    assert details["kept"]["text"] == "how big is Lingang?"


def test_a_second_purge_deletes_nothing_more(seeded: Database) -> None:
    retention = SqlRetention(seeded, RULES)
    retention.purge(NOW)
    again = retention.purge(NOW)
    assert again is not None
    assert not any(again.values()), again


def test_every_table_has_a_decision() -> None:
    """A new table must be added to the purge or to the kept list of storage.retention."""
    documented = retention_module.__doc__ or ""
    for table in Base.metadata.sorted_tables:
        assert f"{table.name}" in documented, table.name


def test_a_purge_while_another_runs_skips_on_postgresql(seeded: Database) -> None:
    if seeded.engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one writer at a time: the second purge waits instead")
    retention = SqlRetention(seeded, RULES)
    with seeded.engine.connect() as other, other.begin():
        other.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
        assert retention.purge(NOW) is None
        assert names(seeded, LeadRow.name) == {"old", "new"}, "nothing was done"
    counts = retention.purge(NOW)
    assert counts is not None
    assert counts["leads"] == 1


def test_two_purges_at_once_run_one_after_the_other(seeded: Database) -> None:
    """Whatever the backend, two purges started together never fail and do the work once."""
    retention = SqlRetention(seeded, RULES)
    results: list[dict[str, int] | None] = []
    start = threading.Barrier(2)

    def purge() -> None:
        start.wait()
        results.append(retention.purge(NOW))

    threads = [threading.Thread(target=purge) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r["leads"] for r in results if r is not None) == 1
    with seeded.transaction() as session:
        assert session.scalar(select(func.count()).select_from(LeadRow)) == 1


def test_our_slack_copies_are_deleted_before_their_rows_go(database: Database) -> None:
    with database.transaction() as session:
        consent = _consent(OLD)
        session.add(consent)
        session.flush()
        lead = _lead("old", OLD, consent)
        lead.card_channel, lead.card_ts = "CSALES", "1.1"
        thread = _handoff("old", "closed", OLD)
        thread.thread_channel, thread.thread_ts = "CSALES", "2.2"
        session.add_all([lead, thread])
        session.flush()
        posted = _relay(thread, OLD)
        posted.kind, posted.posted_ts = "open", "2.2"
        session.add(posted)
    retention = SqlRetention(database, RULES)
    first = retention.purge(NOW)
    assert first is not None
    assert (first["slack_deletions"], first["leads"], first["handoffs"]) == (2, 1, 0)
    handoffs = SqlHandoffs(database)
    due = handoffs.due(NOW, limit=10)
    assert {(i.kind, i.params.get("channel"), i.target_ts) for i in due} == {
        ("delete", "CSALES", "1.1"),
        ("delete", None, "2.2"),
    }
    assert names(database, HandoffRow.user_id) >= {"old"}, "the thread waits for its deletion"
    for item in due:  # the relay deleted them in Slack
        handoffs.relayed(item.id, NOW)
    second = retention.purge(NOW)
    assert second is not None
    assert (second["slack_deletions"], second["handoffs"]) == (0, 2)
    assert names(database, HandoffRow.id) == set()
    assert names(database, RelayItemRow.id) == set()
