"""Follow-up questions are read with the conversation's previous question, in both languages."""

from __future__ import annotations

from tests.chat import Chat


def test_an_elliptical_question_is_read_with_the_previous_one(chat: Chat) -> None:
    chat.say("what is dishui lake")
    reply = chat.say("how big is it?")
    assert chat.replies[0].kind == "answer"
    assert "5.56 million m²" in reply  # the lake, not the size of Lingang


def test_a_chinese_follow_up_is_read_with_the_previous_question(chat: Chat) -> None:
    chat.say("负面清单是什么")
    assert "负面清单" in chat.say("一共有几项？")


def test_the_same_words_without_a_previous_question_are_not_read_as_a_follow_up(
    chat: Chat,
) -> None:
    reply = chat.say("how big is it?")
    assert "5.56 million m²" not in reply


def test_a_question_that_stands_on_its_own_keeps_its_own_reading(chat: Chat) -> None:
    chat.say("what is dishui lake")
    assert "Pudong" in chat.say("where is Lingang?")


def test_something_unrelated_is_not_pulled_into_the_previous_topic(chat: Chat) -> None:
    chat.say("where is Lingang?")
    chat.say("tell me a joke")
    assert chat.kinds == ["fallback"]


def test_a_chain_of_follow_ups_keeps_the_topic(chat: Chat) -> None:
    chat.say("does SMIC have a fab in lingang")
    first = chat.say("what node?")
    assert chat.replies[0].kind == "answer"
    assert "SMIC" in first
    chat.say("since when?")
    assert chat.replies[0].kind == "answer"
