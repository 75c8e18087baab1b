"""Questions about another place or organisation, through the engine, with both matchers."""

from __future__ import annotations

import pytest

from tests.chat import Chat


@pytest.mark.parametrize(
    ("question", "place"),
    [
        ("what is the corporate tax rate in Singapore", "Singapore"),
        ("what's the population of Shenzhen", "Shenzhen"),
        ("how do I register a company in Poland", "Poland"),
    ],
)
def test_a_near_miss_about_another_place_is_refused_with_a_consultant(
    chat: Chat, question: str, place: str
) -> None:
    reply = chat.say(question)
    assert chat.kinds == ["fallback"]
    assert f"{place} is outside what I cover" in reply
    assert "Lingang" in reply
    for figure in ("25%", "15%", "600,000", "Shanghai Administration for Market Regulation"):
        assert figure not in reply
    assert "Talk to a consultant" in [button.title for button in chat.buttons]


def test_a_chinese_near_miss_is_refused_in_chinese(chat: Chat) -> None:
    reply = chat.say("海南自贸港税收优惠")
    assert chat.kinds == ["fallback"]
    assert "海南不在我的服务范围内" in reply
    assert "联系顾问" in [button.title for button in chat.buttons]


def test_the_refused_question_is_kept_for_admins_as_unanswered(chat: Chat) -> None:
    chat.say("在德国注册公司要多久")
    [question] = chat.stores.questions.recent()
    assert question.text == "在德国注册公司要多久"


def test_the_consultant_button_of_a_refusal_reaches_a_consultant(chat: Chat) -> None:
    chat.say("what is the corporate tax rate in Vietnam")
    assert "elitestage.com" in chat.press("Talk to a consultant")


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("I'm from Poland, how do I set up a company?", "business licence"),
        ("we are a Singapore firm, what is a WFOE?", "wholly foreign-owned"),
        ("we're based in Munich, how long does it take to set up a company in Shanghai?", "weeks"),
        ("我们是德国公司，可以设立外商独资企业吗", "外商独资"),
    ],
)
def test_a_question_naming_a_foreign_place_as_origin_is_answered(
    chat: Chat, question: str, expected: str
) -> None:
    reply = chat.say(question)
    assert chat.kinds == ["answer"]
    assert expected in reply
