"""Bad input gets a clear reply, never an exception, and changes nothing."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.messages import Incoming
from bot.core.screening import screen
from intents.knowledge import KnowledgeBase
from tests.chat import Chat, memory_stores


@pytest.mark.parametrize("text", ["", "   ", "\n\t  \n"])
def test_empty_message_asks_for_a_question(chat: Chat, text: str) -> None:
    assert "Please type a question" in chat.say(text)
    assert chat.kinds == ["error"]


def test_100_kb_message_is_refused_with_the_limit(chat: Chat) -> None:
    assert "too long" in chat.say("Lingang " * 12_800)
    assert "4000" in chat.replies[0].text


@pytest.mark.parametrize(
    "text", ["\x00\x01\x02\x03\x04", "\ufffd\ufffd\ufffd\ufffd", "\x7f\x1b[2J\x00\x00\x07"]
)
def test_binary_message_is_refused_as_not_text(chat: Chat, text: str) -> None:
    assert "only read text" in chat.say(text)


def test_question_with_a_few_control_characters_is_still_answered(chat: Chat) -> None:
    assert "119.5 km²" in chat.say("how big is\x00 Lingang?\u200b")


def test_mixed_script_question_is_answered(chat: Chat) -> None:
    reply = chat.say("Lingang 临港新片区面积多大 km2?")
    assert "119.5" in reply


def test_chinese_refusal_in_a_chinese_conversation(chat: Chat) -> None:
    chat.say("临港在哪里")
    assert "请输入您的问题" in chat.say("")


def test_refused_message_changes_nothing(chat: Chat) -> None:
    chat.say("")
    chat.say("x" * 100_000)
    chat.say("\x00\x01\x02")
    assert chat.stores.conversations.load("test", chat.user) is None
    assert chat.stores.transcripts.conversation("test", chat.user) == []
    assert chat.stores.questions.recent() == []


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(max_size=300))
def test_any_text_gets_at_least_one_reply(knowledge: KnowledgeBase, text: str) -> None:
    engine = memory_stores().engine(knowledge)
    replies = engine.handle(Incoming("test", "c", "u", text=text))
    assert replies
    assert all(reply.text for reply in replies)


@settings(max_examples=200, deadline=None)
@given(text=st.text(), limit=st.integers(min_value=16, max_value=500))
def test_screening_never_lets_through_empty_or_oversized_text(text: str, limit: int) -> None:
    screened = screen(text, limit)
    if screened.verdict == "ok":
        assert screened.text.strip()
        assert len(screened.text) <= limit
    if len(text) > limit:
        assert screened.verdict == "too_long"


def test_a_button_of_a_retired_intent_pressed_in_the_form_resumes_the_form(chat: Chat) -> None:
    chat.send("/contact")
    asked = chat.replies[-1].text
    reply = chat.send(payload="intent:no_such_intent")  # found by fuzzing: a KeyError before
    assert chat.replies
    assert asked in reply
