"""`Database.unit`: the stores' transactions inside it are one, kept or lost together; and
`Intake.decide` doing a turn again without one when its unit failed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

from bot.channels.inbox import Intake, Ticket
from bot.channels.spool import DeliverySpool
from bot.core.messages import Reply
from bot.core.ports import StorageUnavailable, UnitFailed
from bot.core.records import TranscriptEntry
from bot.core.state import ConversationState
from storage.db import Database
from storage.repositories import SqlConversationStore, SqlDeliveryLog, SqlTranscriptLog

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def begun(database: Database) -> Callable[[], int]:
    """A counter of the transactions begun on `database` from now on."""
    count = [0]

    def tick(_: Any) -> None:
        count[0] += 1

    event.listen(database.engine, "begin", tick)
    return lambda: count[0]


def in_a_unit(database: Database, work: Callable[[], None]) -> None:
    with database.unit():
        work()


def entry(text_: str) -> TranscriptEntry:
    return TranscriptEntry("web", "c1", "u1", "in", text_, NOW)


def test_the_stores_work_in_a_unit_is_one_transaction_committed_at_its_end(
    database: Database,
) -> None:
    conversations, transcripts = SqlConversationStore(database), SqlTranscriptLog(database)
    transactions = begun(database)
    with database.unit():
        saved = conversations.save(ConversationState("web", "c1", "u1"))
        transcripts.append([entry("hello")])
        assert conversations.load("web", "c1") == saved, "the unit sees its own writes"
    assert transactions() == 1
    assert conversations.load("web", "c1") == saved
    assert [e.text for e in transcripts.conversation("web", "c1")] == ["hello"]


def test_a_failed_statement_loses_the_whole_unit_even_when_its_error_was_caught(
    database: Database,
) -> None:
    conversations, transcripts = SqlConversationStore(database), SqlTranscriptLog(database)

    def work() -> None:
        conversations.save(ConversationState("web", "c1", "u1"))
        with pytest.raises(Exception, match="no_such_table"), database.transaction() as session:
            session.execute(text("SELECT * FROM no_such_table"))
        with pytest.raises(UnitFailed):  # what comes after fails at once
            transcripts.append([entry("hello")])

    with pytest.raises(UnitFailed):
        in_a_unit(database, work)
    assert conversations.load("web", "c1") is None, "nothing of it was kept"
    assert transcripts.conversation("web", "c1") == []


def test_an_error_of_the_work_in_a_unit_rolls_it_back(database: Database) -> None:
    conversations = SqlConversationStore(database)

    def work() -> None:
        conversations.save(ConversationState("web", "c1", "u1"))
        raise RuntimeError("the turn failed")

    with pytest.raises(RuntimeError):
        in_a_unit(database, work)
    assert conversations.load("web", "c1") is None


def test_a_turn_whose_unit_failed_is_done_again_without_one(
    database: Database, tmp_path: Path
) -> None:
    conversations, deliveries = SqlConversationStore(database), SqlDeliveryLog(database)
    intake = Intake("web", deliveries, DeliverySpool(tmp_path / "spool"), units=database)
    assert deliveries.take_in("web", "d1", {"text": "hi"}, NOW)
    turns: list[bool] = []

    def decide(first: bool) -> list[Reply]:
        assert first == (not turns), "the first try says so, the second does not"
        turns.append(True)
        conversations.save(ConversationState("web", f"c{len(turns)}", "u1"))
        if len(turns) == 1:  # the first time, the database fails half-way (caught)
            with (
                pytest.raises((StorageUnavailable, Exception)),
                database.transaction() as session,
            ):
                session.execute(text("SELECT * FROM no_such_table"))
        return [Reply("hello")]

    replies = intake.decide(Ticket("d1", 1), decide)
    assert replies == [Reply("hello")]
    assert len(turns) == 2, "done again"
    assert conversations.load("web", "c1") is None, "the failed unit kept nothing"
    assert conversations.load("web", "c2") is not None, "the second time, on its own"
    [kept] = deliveries.due("web", NOW.replace(year=2027), NOW, 10, 5)
    assert kept.replies == [{"text": "hello", "buttons": [], "kind": "answer",
                             "field": None, "releases": None}]  # fmt: skip
