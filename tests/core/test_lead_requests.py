"""Requests for a person, a call, a price or a quote start the lead form, through the engine."""

from __future__ import annotations

import pytest

from tests.chat import Chat


def assert_form_started(chat: Chat, agree: str) -> None:
    """The last replies end with the privacy notice and the consent choice."""
    assert "form" in chat.kinds
    assert "/forget" in chat.replies[-1].text, "the privacy notice comes first"
    assert agree in [button.title for button in chat.buttons]


def test_a_quote_for_a_named_service_starts_the_form_with_the_consent_notice(chat: Chat) -> None:
    reply = chat.say("can you give me a quote for customs clearance")
    assert "quote or proposal" in reply  # the quote intent's answer first
    assert_form_started(chat, "I agree")


def test_talking_to_a_consultant_about_a_topic_starts_the_form(chat: Chat) -> None:
    reply = chat.say("I want to talk to a consultant about tax")
    assert "look at your case" in reply
    assert_form_started(chat, "I agree")


def test_a_wish_for_a_call_with_words_around_it_starts_the_form(chat: Chat) -> None:
    reply = chat.say("hi, we're a German chip designer, can someone call me about setting up here")
    assert "arrange a call or meeting" in reply
    assert_form_started(chat, "I agree")
    assert "nothing personal has been stored" in chat.press("No, thanks")


def test_the_fee_for_registering_a_wfoe_in_chinese_starts_the_form_in_chinese(chat: Chat) -> None:
    reply = chat.say("注册外商独资企业要多少钱")
    assert "无法提供价格信息" in reply
    assert_form_started(chat, "同意")


def test_a_request_in_traditional_characters_starts_the_form(chat: Chat) -> None:
    chat.say("能給我們一份報價嗎？我們想在臨港設廠")
    assert_form_started(chat, "同意")


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("what is the corporate tax rate in lingang", "15%"),
        ("how much registered capital do I need for a WFOE", "Company Law"),
    ],
)
def test_a_faq_question_about_a_cost_gets_its_answer_without_the_form(
    chat: Chat, question: str, expected: str
) -> None:
    assert expected in chat.say(question)
    assert "form" not in chat.kinds
    assert "I agree" not in [button.title for button in chat.buttons]


def test_the_price_of_something_else_does_not_start_the_form(chat: Chat) -> None:
    chat.say("从伦敦飞上海的机票多少钱")
    assert "form" not in chat.kinds


def test_the_request_is_remembered_as_the_question_that_led_to_the_lead(chat: Chat) -> None:
    chat.say("I'd like to talk to a consultant. About customs.")
    state = chat.stores.conversations.load("test", "user-1")
    assert state is not None
    assert state.last_question == "I'd like to talk to a consultant. About customs."
