"""The form keeps its step: a malformed answer is asked again with its reason, never answered
as a question; the country is one the country list knows, in both languages."""

from __future__ import annotations

import pytest

from bot.core.records import LeadFilter
from tests.chat import Chat
from tests.core.test_lead_form import EN, answer, consent, fill

ZH = {
    "name": "王小明",
    "company": "上海示例半导体有限公司",
    "email": "wang@example.cn",
    "country": "德国",
    "phone": "跳过",
    "interest": "集成电路产业",
    "timeline": "3 个月内",
    "note": "跳过",
}


def to_step(chat: Chat, answers: dict[str, str], step: str) -> None:
    """Agree and answer every question before `step`."""
    consent(chat, "我想联系顾问" if answers is ZH else "I'd like to talk to a consultant")
    fields = list(answers)
    fill(chat, {k: answers[k] for k in fields[: fields.index(step)]})
    assert chat.replies[-1].field == step


def kept(chat: Chat, step: str) -> bool:
    """The same question is asked again, and nothing went to the catalog."""
    return chat.replies[-1].field == step and "answer" not in chat.kinds


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("wang@", "@ 后面缺少域名"),
        ("wang@example", "缺少 .com 这样的后缀"),
        ("张三@公司。com", "包含全角字符或中文标点"),
        ("ｗａｎｇ＠ｅｘａｍｐｌｅ．ｃｎ", "包含全角字符或中文标点"),
        ("wang at example dot cn", "而不是“at”或“艾特”"),
        ("wang@lingang?", "缺少 .com 这样的后缀"),  # looks like a question, is an answer
        ("邮箱是 wang@example.cn", "邮箱地址中不能有空格"),
    ],
)
def test_a_malformed_email_in_a_chinese_form_is_asked_again_with_its_reason(
    chat: Chat, typed: str, reason: str
) -> None:
    to_step(chat, ZH, "email")
    reply = chat.say(typed)
    assert "这看起来不是有效的邮箱地址" in reply
    assert reason in reply
    assert "顾问应通过哪个邮箱与您联系" in reply
    assert kept(chat, "email")
    assert chat.stores.questions.recent() == [], "not an unanswered question"
    said = [e.text for e in chat.stores.transcripts.conversation("test", "user-1")]
    assert typed not in said, "a form answer stays out of the transcript"
    chat.say("wang@example.cn")
    assert chat.replies[-1].field == "country"


def test_an_email_without_its_domain_in_english_says_what_is_missing(chat: Chat) -> None:
    to_step(chat, EN, "email")
    reply = chat.say("john@")
    assert "the part after the @-sign is missing" in reply
    assert kept(chat, "email")


def test_a_real_question_mid_form_is_still_answered(chat: Chat) -> None:
    to_step(chat, ZH, "email")
    reply = chat.say("临港在哪里？")
    assert "浦东" in reply
    assert "我们继续填写您的信息" in reply
    assert chat.replies[-1].field == "email"


@pytest.mark.parametrize("company", ["Acme Ltd", "Shanghai Semiconductor Co."])
def test_a_company_name_is_not_taken_for_a_country(chat: Chat, company: str) -> None:
    to_step(chat, EN, "country")
    reply = chat.say(company)
    assert "That doesn't look like a country. Which country is your company based in?" in reply
    assert kept(chat, "country")


def test_a_chinese_company_name_is_not_a_country_in_a_chinese_form(chat: Chat) -> None:
    to_step(chat, ZH, "country")
    assert "这看起来不像是国家或地区的名称" in chat.say("上海半导体有限公司")
    assert kept(chat, "country")


def test_germany_in_chinese_is_accepted_stored_in_english_and_shown_back(chat: Chat) -> None:
    consent(chat, "我想联系顾问")
    summary = fill(chat, ZH)
    assert "国家/地区: 德国" in summary
    chat.press("确认提交")
    [lead] = chat.stores.leads.find(LeadFilter())
    assert lead.answers["country"] == "Germany"


@pytest.mark.parametrize(
    ("typed", "stored", "shown"),
    [("UK", "United Kingdom", "United Kingdom"), ("德國", "Germany", "Germany")],
)
def test_a_country_is_shown_in_the_forms_language(
    chat: Chat, typed: str, stored: str, shown: str
) -> None:
    consent(chat)
    summary = fill(chat, {**EN, "country": typed})
    assert f"Country: {shown}" in summary
    chat.press("Confirm")
    [lead] = chat.stores.leads.find(LeadFilter())
    assert lead.answers["country"] == stored


def test_a_phone_number_with_letters_is_asked_again(chat: Chat) -> None:
    to_step(chat, EN, "phone")
    reply = chat.say("+86 138 OOl3 8000")
    assert "it has letters or words in it" in reply
    assert kept(chat, "phone")
    answer(chat, "+86 138 0013 8000")
    assert chat.replies[-1].field == "interest"
