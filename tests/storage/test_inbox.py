"""The misses inbox in the database: filed once into groups, read a page at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select

from bot.core.questions import MAX_QUESTION, CharacterGrams
from bot.core.records import MissReason, UnansweredQuestion
from storage.db import Database
from storage.models import QuestionGroupingRow, QuestionGroupRow, UnansweredQuestionRow
from storage.repositories import SqlQuestionLog
from storage.unanswered import SqlUnanswered

START = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
GRAMS = CharacterGrams()
TEA = "where can I buy bubble tea near the office"
PARROT = "can I bring my pet parrot to the meeting"
TEA_ZH = "办公室附近哪里可以买奶茶"


def ask(
    database: Database,
    *texts: str,
    reason: MissReason = "fallback",
    detail: str | None = None,
    start: int = 0,
) -> None:
    log = SqlQuestionLog(database)
    for minute, text in enumerate(texts, start):
        log.record(
            UnansweredQuestion(
                "web",
                f"c{minute}",
                f"u{minute}",
                text,
                "en",
                START + timedelta(minutes=minute),
                reason=reason,
                detail=detail,
                best_intent="wfoe" if reason != "fallback" else None,
            )
        )


def filed(database: Database) -> SqlUnanswered:
    store = SqlUnanswered(database)
    store.group_pending(GRAMS)
    return store


def test_alike_wordings_form_one_group_with_its_count_and_newest_first(
    database: Database,
) -> None:
    ask(database, TEA, PARROT, f"{TEA} please?", "Where can I get bubble tea near the office")
    store = filed(database)
    page = store.inbox(GRAMS.name)
    assert page.total == 2
    assert page.pending == 0
    tea, parrot = page.groups
    assert (tea.count, parrot.count) == (3, 1)
    assert tea.text == "Where can I get bubble tea near the office"
    assert tea.last_seen == START + timedelta(minutes=3)
    assert tea.samples == ("Where can I get bubble tea near the office", f"{TEA} please?", TEA)
    assert tea.newest_id == max(tea.ids)
    assert parrot.text == PARROT


def test_a_group_names_its_reasons_and_the_consultants_reply(database: Database) -> None:
    ask(database, TEA, TEA, start=0)
    ask(database, f"{TEA}?", reason="thumbs_down", detail="not what I asked", start=2)
    ask(database, f"{TEA} now", reason="handoff", detail="The canteen on floor 2 has it.", start=3)
    ask(database, PARROT, reason="clarify", start=4)
    store = filed(database)
    tea = next(g for g in store.inbox(GRAMS.name).groups if g.count == 4)
    assert tea.reasons == (("fallback", 2), ("thumbs_down", 1), ("handoff", 1))
    assert tea.reply == "The canteen on floor 2 has it."
    assert {q.detail for q in tea.examples} == {None, "not what I asked", tea.reply}


def test_filtering_by_reason_counts_only_that_reason(database: Database) -> None:
    ask(database, TEA, TEA, start=0)
    ask(database, f"{TEA}?", reason="thumbs_down", detail="wrong", start=2)
    ask(database, PARROT, start=3)
    store = filed(database)
    page = store.inbox(GRAMS.name, reason="thumbs_down")
    assert page.total == 1
    [group] = page.groups
    assert group.count == 1
    assert [q.reason for q in group.examples] == ["thumbs_down"]
    assert group.reasons == (("fallback", 2), ("thumbs_down", 1))  # the whole group's
    assert store.inbox(GRAMS.name, reason="handoff").total == 0


def test_only_the_first_characters_are_stored_and_compared(database: Database) -> None:
    long = TEA + " " + "x" * 2000
    ask(database, long, TEA + " " + "x" * (MAX_QUESTION - len(TEA) - 1) + "y" * 1000)
    store = filed(database)
    [group] = store.inbox(GRAMS.name).groups
    assert group.count == 2
    assert all(len(q.text) <= MAX_QUESTION for q in group.examples)


def test_filing_is_bounded_and_picks_up_where_it_stopped(database: Database) -> None:
    ask(database, *(f"question number {n} about {n * 7919 % 1000}" for n in range(40)))
    store = SqlUnanswered(database)
    assert store.group_pending(GRAMS, limit=25) == 25
    assert store.pending(GRAMS.name) == 15
    assert store.group_pending(GRAMS, budget=0.0) == 0
    assert store.group_pending(GRAMS) == 15
    assert store.pending(GRAMS.name) == 0
    assert store.group_pending(GRAMS) == 0
    assert sum(g.count for g in store.inbox(GRAMS.name, limit=100).groups) == 40


def test_pages_of_groups(database: Database) -> None:
    texts = [f"{word} {word} {word}" for word in ("alpha", "bravo", "charlie", "delta", "echo")]
    ask(database, *texts)
    store = filed(database)
    first = store.inbox(GRAMS.name, limit=2)
    second = store.inbox(GRAMS.name, offset=2, limit=2)
    last = store.inbox(GRAMS.name, offset=4, limit=2)
    assert (first.total, len(first.groups), len(second.groups), len(last.groups)) == (5, 2, 2, 1)
    seen = [g.text for page in (first, second, last) for g in page.groups]
    assert seen == list(reversed(texts))  # equal counts: the most recent first


def test_a_new_miss_joins_its_existing_group(database: Database) -> None:
    ask(database, TEA, PARROT)
    store = filed(database)
    before = {g.text: g.id for g in store.inbox(GRAMS.name).groups}
    ask(database, f"{TEA} please", start=5)
    assert store.group_pending(GRAMS) == 1
    after = {g.id: g.count for g in store.inbox(GRAMS.name).groups}
    assert after == {before[TEA]: 2, before[PARROT]: 1}


def test_handled_misses_leave_and_an_emptied_group_goes(database: Database) -> None:
    ask(database, TEA, f"{TEA}?", PARROT)
    store = filed(database)
    tea = next(g for g in store.inbox(GRAMS.name).groups if g.count == 2)
    ask(database, f"{TEA} today", start=9)  # arrives after the admin opened the page
    store.group_pending(GRAMS)
    assert store.open_in_group(tea.id, GRAMS.name, tea.newest_id) == sorted(tea.ids)
    assert store.dismiss(store.open_in_group(tea.id, GRAMS.name, tea.newest_id), "a@x.com") == 2
    [left, _parrot] = store.inbox(GRAMS.name).groups
    assert (left.id, left.count, left.text) == (tea.id, 1, f"{TEA} today")
    store.dismiss(left.ids, "a@x.com")
    store.group_pending(GRAMS)  # drops the emptied group
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(QuestionGroupRow)) == 1
    ask(database, TEA, start=20)
    store.group_pending(GRAMS)
    assert {g.count for g in store.inbox(GRAMS.name).groups} == {1}
    assert store.inbox(GRAMS.name).total == 2


def test_an_erased_miss_takes_its_filing_with_it(database: Database) -> None:
    ask(database, TEA, f"{TEA}?")
    store = filed(database)
    with database.transaction() as session:
        session.execute(delete(UnansweredQuestionRow).where(UnansweredQuestionRow.text == TEA))
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(QuestionGroupingRow)) == 1
    [group] = store.inbox(GRAMS.name).groups
    assert group.count == 1


def test_each_way_of_embedding_files_separately(database: Database) -> None:
    ask(database, TEA, TEA_ZH)
    store = filed(database)
    assert store.pending("another-model") == 2
    assert store.inbox("another-model").total == 0
    assert store.inbox(GRAMS.name).total == 2  # character grams do not cross languages
