"""One specification for every store: in memory, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.ports import StaleState
from bot.core.records import ConsentRecord, Lead, TranscriptEntry, UnansweredQuestion
from bot.core.state import ConversationState
from tests.chat import Stores

T0 = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)


def test_unknown_conversation_loads_as_none(stores: Stores) -> None:
    assert stores.conversations.load("test", "nobody") is None


def test_saved_state_loads_back_with_next_version(stores: Stores) -> None:
    state = ConversationState(
        "test", "c1", "u1", language="zh", language_chosen=True, form={"step": "email"}
    )
    saved = stores.conversations.save(state)
    assert saved.version == 1
    assert stores.conversations.load("test", "c1") == saved


def test_conversations_are_keyed_by_channel_and_id(stores: Stores) -> None:
    stores.conversations.save(ConversationState("telegram", "42", "u1", language="en"))
    stores.conversations.save(ConversationState("slack", "42", "u2", language="zh"))
    telegram = stores.conversations.load("telegram", "42")
    slack = stores.conversations.load("slack", "42")
    assert telegram is not None
    assert slack is not None
    assert (telegram.language, slack.language) == ("en", "zh")


def test_save_from_a_stale_version_is_refused(stores: Stores) -> None:
    first = stores.conversations.save(ConversationState("test", "c1", "u1"))
    stores.conversations.save(first.speaking("zh"))
    with pytest.raises(StaleState):
        stores.conversations.save(first.speaking("en"))
    loaded = stores.conversations.load("test", "c1")
    assert loaded is not None
    assert (loaded.language, loaded.version) == ("zh", 2)


def test_two_first_saves_of_one_conversation_let_only_one_win(stores: Stores) -> None:
    stores.conversations.save(ConversationState("test", "c1", "u1", language="en"))
    with pytest.raises(StaleState):
        stores.conversations.save(ConversationState("test", "c1", "u1", language="zh"))


def test_concurrent_read_modify_write_loses_no_update(stores: Stores) -> None:
    writers, rounds = 4, 10
    stores.conversations.save(ConversationState("test", "c1", "u1", form={"count": 0}))

    def increment() -> None:
        for _ in range(rounds):
            while True:
                state = stores.conversations.load("test", "c1")
                assert state is not None
                assert state.form is not None
                count = int(str(state.form["count"]))
                try:
                    stores.conversations.save(replace(state, form={"count": count + 1}))
                    break
                except StaleState:
                    continue

    threads = [threading.Thread(target=increment) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    final = stores.conversations.load("test", "c1")
    assert final is not None
    assert final.form == {"count": writers * rounds}
    assert final.version == writers * rounds + 1


def test_a_delivery_is_first_only_once(stores: Stores) -> None:
    assert stores.deliveries.first_delivery("telegram", "1001") is True
    assert stores.deliveries.first_delivery("telegram", "1001") is False
    assert stores.deliveries.first_delivery("slack", "1001") is True


def test_concurrent_duplicate_deliveries_have_exactly_one_first(stores: Stores) -> None:
    results: list[bool] = []
    lock = threading.Lock()

    def deliver() -> None:
        first = stores.deliveries.first_delivery("slack", "Ev123")
        with lock:
            results.append(first)

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 7 + [True]


def test_transcript_keeps_order_text_and_timestamps(stores: Stores) -> None:
    entries = [
        TranscriptEntry("test", "c1", "u1", "in", "临港在哪里？", T0, "lingang_overview", 0.9),
        TranscriptEntry("test", "c1", "u1", "out", "Lingang is in Pudong.", T0),
        TranscriptEntry("test", "c2", "u2", "in", "other conversation", T0),
        TranscriptEntry("test", "c1", "u1", "in", "thanks", T0 + timedelta(seconds=5)),
    ]
    stores.transcripts.append(entries)
    assert stores.transcripts.conversation("test", "c1") == [entries[0], entries[1], entries[3]]


def test_unanswered_questions_come_back_newest_first(stores: Stores) -> None:
    older = UnansweredQuestion("test", "c1", "u1", "weather?", "en", T0, "welcome", 0.4)
    newer = UnansweredQuestion("test", "c1", "u1", "天气怎么样", "zh", T0 + timedelta(minutes=1))
    stores.questions.record(older)
    stores.questions.record(newer)
    assert stores.questions.recent() == [newer, older]
    assert stores.questions.recent(limit=1) == [newer]


def test_lead_and_its_consent_round_trip(stores: Stores) -> None:
    consent = stores.leads.record_consent(
        ConsentRecord("telegram", "u1", "2026-11", "zh", granted=True, at=T0, event_id="77")
    )
    assert consent.id is not None
    assert stores.leads.consent(consent.id) == consent
    lead = stores.leads.add(
        Lead(
            "telegram",
            "u1",
            "c1",
            "zh",
            consent.id,
            T0,
            "王小明",
            "wang@example.com",
            company="Example 有限公司",
            phone="+8613800000000",
            interest="ic_industry",
            score=70,
            answers={"timeline": "3-6 months"},
        )
    )
    assert lead.id is not None
    assert stores.leads.get(lead.id) == lead
    assert stores.leads.get(lead.id + 1000) is None


def test_lead_without_a_consent_record_is_refused(stores: Stores) -> None:
    with pytest.raises(ValueError, match="consent"):
        stores.leads.add(Lead("test", "u1", "c1", "en", 999, T0, "Ann", "ann@example.com"))


def test_recent_leads_are_newest_first(stores: Stores) -> None:
    consent = stores.leads.record_consent(ConsentRecord("test", "u1", "v1", "en", True, T0))
    assert consent.id is not None
    first = stores.leads.add(Lead("test", "u1", "c1", "en", consent.id, T0, "A", "a@example.com"))
    later = T0 + timedelta(hours=1)
    second = stores.leads.add(Lead("test", "u2", "c2", "en", consent.id, later, "B", "b@x.org"))
    assert stores.leads.recent() == [second, first]
