"""👍/👎 under answers, the event log behind the numbers, and the misses the admins see."""

from __future__ import annotations

from pathlib import Path

import pytest

from intents.knowledge import KnowledgeBase
from storage.memory import MemoryEventLog
from tests.chat import Chat, copy_catalog, memory_stores
from tests.core.test_conversation import TWINS


class Rated:
    """An engine that offers 👍/👎 (it has an event log), without a sales desk."""

    def __init__(self, knowledge: KnowledgeBase) -> None:
        self.stores = memory_stores()
        assert isinstance(self.stores.events, MemoryEventLog)
        self.events = self.stores.events
        self.engine = self.stores.engine(knowledge, rated=True)
        self.knowledge = knowledge

    def chat(self, user: str = "u1") -> Chat:
        return Chat(self.engine, self.stores, user=user)


@pytest.fixture
def rated(knowledge: KnowledgeBase) -> Rated:
    return Rated(knowledge)


def test_an_answer_offers_thumbs_and_a_thumb_up_is_kept_with_the_answer(rated: Rated) -> None:
    chat = rated.chat()
    chat.say("how big is Lingang?")
    thumbs = [b for b in chat.replies[-1].buttons if b.payload.startswith("fb:")]
    assert [b.title for b in thumbs] == ["👍", "👎"]
    key = thumbs[0].payload.split(":")[2]
    assert thumbs[1].payload == f"fb:down:{key}"
    said = chat.press("👍")
    assert "thank" in said.lower()
    feedback = [e for e in rated.events.all() if e.kind == "feedback"]
    assert len(feedback) == 1
    answer = rated.events.answer(key)
    assert answer is not None
    assert answer.text == "how big is Lingang?"
    assert feedback[0].outcome == "up"
    assert feedback[0].answer_key == key
    assert feedback[0].intent_id == answer.intent_id is not None
    assert feedback[0].language == "en"
    assert feedback[0].catalog == answer.catalog
    assert feedback[0].score == answer.score


def test_a_thumb_down_asks_what_was_wanted_offers_a_person_and_lands_in_the_inbox(
    rated: Rated,
) -> None:
    chat = rated.chat("u2")
    chat.say("临港新片区有多大？")
    said = chat.press("👎")
    assert "您想了解什么" in said
    assert chat.buttons  # a way to a person
    misses = rated.stores.questions.recent()
    assert [(m.reason, m.text) for m in misses] == [("thumbs_down", "临港新片区有多大？")]
    assert misses[0].best_intent is not None
    assert misses[0].language == "zh"
    # The one optional line: kept with the rating, and answered as a question.
    said = chat.say("我想知道临港的人口")
    assert "已记录" in said
    comment = [e for e in rated.events.all() if e.outcome == "comment"]
    assert len(comment) == 1
    assert comment[0].text == "我想知道临港的人口"
    # Only the next message is the comment.
    chat.say("临港新片区有多大？")
    assert len([e for e in rated.events.all() if e.outcome == "comment"]) == 1


def test_an_unknown_or_forged_feedback_payload_changes_nothing(rated: Rated) -> None:
    chat = rated.chat("u3")
    said = chat.send(payload="fb:down:nosuchkey")
    assert said
    assert not [e for e in rated.events.all() if e.kind == "feedback"]
    assert rated.stores.questions.recent() == []
    chat.send(payload="fb:sideways")
    assert not [e for e in rated.events.all() if e.kind == "feedback"]


def test_no_thumbs_under_fallbacks_forms_or_notices(rated: Rated) -> None:
    chat = rated.chat("u4")
    chat.say("do you sell bicycles on the moon?")
    assert not [b for b in chat.buttons if b.payload.startswith("fb:")]
    chat.say("/help")
    assert not [b for b in chat.buttons if b.payload.startswith("fb:")]
    chat.say("I want a consultant to contact me")
    assert not [b for b in chat.buttons if b.payload.startswith("fb:")]


def test_every_turn_is_one_event_with_its_outcome(rated: Rated) -> None:
    chat = rated.chat("u5")
    chat.say("how big is Lingang?")
    chat.say("do you sell bicycles on the moon?")
    chat.say("/help")
    turns = [e for e in rated.events.all() if e.kind == "turn"]
    assert [t.outcome for t in turns] == ["match", "fallback", "command"]
    assert turns[0].answer_key is not None
    assert turns[1].answer_key is None
    assert turns[2].text == "/help"


def test_did_you_mean_choice_is_a_near_miss(tmp_path: Path) -> None:
    rated = Rated(KnowledgeBase(copy_catalog(tmp_path, {"twins.yaml": TWINS})))
    chat = rated.chat("u6")
    chat.say("where can I park?")
    assert chat.kinds == ["clarify"]
    assert "rack B" in chat.press("Bike parking")
    misses = [(m.reason, m.text, m.best_intent) for m in rated.stores.questions.recent()]
    assert misses == [("clarify", "where can I park?", "bike_parking")]
    # A later press of the same button is no longer a choice of that "did you mean".
    chat.send(payload="intent:car_parking")
    assert len(rated.stores.questions.recent()) == 1


def test_a_thumb_down_on_a_pressed_answer_names_its_intent(tmp_path: Path) -> None:
    rated = Rated(KnowledgeBase(copy_catalog(tmp_path, {"twins.yaml": TWINS})))
    chat = rated.chat("u7")
    chat.send(payload="intent:bike_parking")
    chat.press("👎")
    turn = next(e for e in rated.events.all() if e.kind == "turn")
    assert turn.intent_id == "bike_parking"
    misses = [(m.reason, m.text, m.best_intent) for m in rated.stores.questions.recent()]
    assert misses == [("thumbs_down", "Bike parking", "bike_parking")]
