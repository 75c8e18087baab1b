"""The conversation event log: in memory, on SQLite and on PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from bot.core.records import MAX_EVENT_TEXT, ConversationEvent
from tests.storage.desk import T0, Desk, desk

__all__ = ["desk"]


def turn(key: str | None = None, text: str | None = "how much?") -> ConversationEvent:
    """An answer that offered 👍/👎 under `key`."""
    return ConversationEvent(
        "telegram",
        "c1",
        "u1",
        "turn",
        T0,
        outcome="match",
        language="en",
        intent_id="pricing",
        score=0.82,
        catalog="abc123",
        answer_key=key,
        text=text,
    )


def test_an_answer_is_found_by_its_key_with_every_field(desk: Desk) -> None:
    desk.events.add([turn("k1"), turn(None, "hello")])
    found = desk.events.answer("k1")
    assert found is not None
    assert found.id is not None
    assert found == ConversationEvent(
        "telegram",
        "c1",
        "u1",
        "turn",
        T0,
        outcome="match",
        language="en",
        intent_id="pricing",
        score=0.82,
        catalog="abc123",
        answer_key="k1",
        text="how much?",
        id=found.id,
    )
    assert desk.events.answer("k2") is None


def test_feedback_sharing_the_key_is_not_the_answer(desk: Desk) -> None:
    feedback = ConversationEvent(
        "telegram", "c1", "u1", "feedback", T0, outcome="down", answer_key="k1", text="wrong"
    )
    desk.events.add([feedback])
    assert desk.events.answer("k1") is None, "only the answer itself counts"
    desk.events.add([replace(turn("k1"), at=T0 + timedelta(seconds=1))])
    desk.events.add([feedback])
    found = desk.events.answer("k1")
    assert found is not None
    assert (found.kind, found.text) == ("turn", "how much?")


def test_long_texts_are_cut_to_what_an_event_keeps(desk: Desk) -> None:
    desk.events.add([turn("k1", "問" * (MAX_EVENT_TEXT + 50))])
    found = desk.events.answer("k1")
    assert found is not None
    assert found.text == "問" * MAX_EVENT_TEXT


def test_adding_nothing_is_fine(desk: Desk) -> None:
    desk.events.add([])
    assert desk.events.answer("k1") is None
