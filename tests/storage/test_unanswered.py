"""The admins' view of unanswered questions: open ones, added to an intent, dismissed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.core.records import UnansweredQuestion
from storage.db import Database
from storage.repositories import SqlQuestionLog
from storage.staff import SqlStaff
from storage.unanswered import SqlUnanswered

START = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def ask(database: Database, *texts: str) -> None:
    log = SqlQuestionLog(database)
    for minute, text in enumerate(texts):
        log.record(
            UnansweredQuestion(
                "web", f"c{minute}", f"u{minute}", text, "en", START + timedelta(minutes=minute)
            )
        )


def test_open_questions_are_listed_newest_first(database: Database) -> None:
    ask(database, "first", "second", "third")
    found = SqlUnanswered(database).open_questions()
    assert [q.text for q in found] == ["third", "second", "first"]
    assert found[0].at == START + timedelta(minutes=2)


def test_adding_to_an_intent_closes_them_and_records_who_did_it(database: Database) -> None:
    ask(database, "a", "b", "c")
    store = SqlUnanswered(database)
    ids = [q.id for q in store.open_questions() if q.text in ("a", "b")]
    assert store.add_to_intent(ids, "lingang_area", "admin@example.com", {"lang": "en"}) == 2
    assert [q.text for q in store.open_questions()] == ["c"]
    entry = SqlStaff(database).audit_log()[0]
    assert (entry.actor, entry.action, entry.target) == (
        "admin@example.com",
        "question.add_example",
        "lingang_area",
    )
    assert entry.details["questions"] == sorted(ids)
    assert entry.details["lang"] == "en"


def test_a_question_is_handled_once(database: Database) -> None:
    ask(database, "a")
    store = SqlUnanswered(database)
    ids = [q.id for q in store.open_questions()]
    assert store.dismiss(ids, "one@example.com") == 1
    assert store.dismiss(ids, "two@example.com") == 0
    assert store.add_to_intent(ids, "x_y", "two@example.com") == 0
    assert store.open_among(ids) == []
    actions = [(e.actor, e.action) for e in SqlStaff(database).audit_log()]
    assert actions == [("one@example.com", "question.dismiss")]


def test_open_among_ignores_unknown_and_handled_ids(database: Database) -> None:
    ask(database, "a", "b")
    store = SqlUnanswered(database)
    first, second = sorted(q.id for q in store.open_questions())
    store.dismiss([first], "admin@example.com")
    assert [q.id for q in store.open_among([first, second, 999])] == [second]
