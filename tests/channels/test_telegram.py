"""python-telegram-bot for real, against a fake Bot API on 127.0.0.1."""

from __future__ import annotations

import asyncio
import html
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.channels.ratelimit import ChatRateLimiter
from bot.channels.telegram import TelegramService
from bot.core.records import LeadFilter
from intents.catalog import PACKAGED_DIR
from intents.knowledge import KnowledgeBase
from storage.memory import MemoryOutgoingQueue
from tests.chat import Stores, copy_catalog, memory_stores
from tests.fakes.telegram_api import (
    TOKEN,
    FakeBotApi,
    message,
    press,
    shared_contact,
    sticker,
    user,
)


@pytest.fixture(scope="module")
def knowledge() -> KnowledgeBase:
    """The packaged catalog with the default matcher: matching is tested elsewhere."""
    return KnowledgeBase(PACKAGED_DIR)


class Bot:
    """The service under test, with what it needs at hand."""

    def __init__(
        self, service: TelegramService, stores: Stores, queue: MemoryOutgoingQueue
    ) -> None:
        self.service = service
        self.stores = stores
        self.queue = queue


async def started(
    api: FakeBotApi, knowledge: KnowledgeBase, clock: list[datetime] | None = None
) -> Bot:
    stores = memory_stores()
    queue = MemoryOutgoingQueue()
    now = clock or [datetime.now(UTC)]
    service = TelegramService(
        stores.engine(knowledge),
        knowledge,
        queue,
        token=TOKEN,
        base_url=api.base_url,
        webhook=False,
        clock=lambda: now[0],
        # Telegram's real per-chat pace (1/s) is tested in test_ratelimit; here a conversation
        # of twenty messages should not take twenty seconds.
        limiter=ChatRateLimiter(per_private_chat_second=50),
    )
    await service.start()
    return Bot(service, stores, queue)


@pytest.fixture
async def bot(api: FakeBotApi, knowledge: KnowledgeBase) -> AsyncIterator[Bot]:
    running = await started(api, knowledge)
    try:
        yield running
    finally:
        await running.service.stop()


async def replies_to(api: FakeBotApi, update: dict[str, object], count: int = 1) -> list[str]:
    """Push an update and wait for `count` more messages; their texts."""
    before = len(api.sent())
    api.push(update)
    await asyncio.to_thread(api.wait_for, before + count)
    return api.texts()[before:]


async def test_startup_publishes_the_command_menu_in_both_languages(
    bot: Bot, api: FakeBotApi
) -> None:
    menus = api.sent("setMyCommands")
    assert [m.get("language_code") for m in menus] == [None, "zh"]
    assert {c["command"] for c in menus[0]["commands"]} >= {
        "start",
        "help",
        "contact",
        "mydata",
        "forget",
    }
    assert "开始" in menus[1]["commands"][0]["description"]


async def test_a_question_is_answered_with_html_escaped_text(bot: Bot, api: FakeBotApi) -> None:
    [text] = await replies_to(api, message("how big is Lingang?"))
    assert "119.5 km²" in text
    sent = api.sent()[-1]
    assert (sent["parse_mode"], sent["chat_id"]) == ("HTML", "777")
    assert api.sent("sendChatAction") == []  # a quick answer needs no "typing..."


async def test_a_slow_answer_shows_typing_first(bot: Bot, api: FakeBotApi) -> None:
    handle = bot.service._engine.handle

    def slow(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.6)
        return handle(*args, **kwargs)

    bot.service._engine.handle = slow  # type: ignore[method-assign]
    [text] = await replies_to(api, message("how big is Lingang?"))
    assert "119.5 km²" in text
    [typing] = api.calls_of("sendChatAction")
    assert typing.params["action"] == "typing"
    assert typing.at < api.calls_of("sendMessage")[-1].at


async def test_chinese_question_in_chinese(bot: Bot, api: FakeBotApi) -> None:
    [text] = await replies_to(api, message("临港新片区面积多大", sender=user(language="zh")))
    assert "平方公里" in text


async def test_buttons_are_inline_keys_of_at_most_64_bytes_and_round_trip(
    bot: Bot, api: FakeBotApi
) -> None:
    await replies_to(api, message("where is Lingang?"))
    keyboard = api.sent()[-1]["reply_markup"]["inline_keyboard"]
    keys = [row[0]["callback_data"] for row in keyboard]
    assert all(len(k.encode()) <= 64 for k in keys)
    labels = [row[0]["text"] for row in keyboard]
    assert "How big is it?" in labels or any("big" in label for label in labels), labels
    before = len(api.texts())
    [text] = await replies_to(
        api, press(keys[labels.index(next(lb for lb in labels if "big" in lb))])
    )
    assert "119.5 km²" in text
    assert len(api.sent("answerCallbackQuery")) == 1
    assert len(api.texts()) == before + 1


async def test_a_redelivered_update_is_answered_once(bot: Bot, api: FakeBotApi) -> None:
    update = api.push(message("hello"))
    await asyncio.to_thread(api.wait_for, 1)
    api.push(dict(update))  # the same update_id again
    await replies_to(api, message("thanks"))
    assert len(api.texts()) == 2


async def test_unsupported_content_gets_a_polite_reply(bot: Bot, api: FakeBotApi) -> None:
    [text] = await replies_to(api, sticker())
    assert "only read text" in text


async def test_html_in_user_text_is_escaped(bot: Bot, api: FakeBotApi) -> None:
    await replies_to(api, message("/start"))
    await replies_to(api, message("I want to talk to a person"), count=2)
    await replies_to(api, press("form:agree"))
    await replies_to(api, message('<b>Ann</b> & "Co" <script>x</script>'))
    for field in ("Acme", "ann@acme.de", "Germany"):
        await replies_to(api, message(field))
    # everything that was sent parses as Telegram HTML: only escaped <, >, & outside tags
    for text in api.texts():
        assert "<script>" not in text
        assert "<b>" not in text
    before = len(api.texts())
    api.push(message("/mydata"))
    await asyncio.to_thread(api.wait_for, before + 2)
    await asyncio.sleep(0.3)  # the export may take several messages
    export = "".join(api.texts()[before:])
    assert "&lt;b&gt;Ann&lt;/b&gt; &amp;" in export
    assert "<b>Ann" not in export


async def test_a_full_lead_form_with_buttons_and_a_shared_contact(
    bot: Bot, api: FakeBotApi
) -> None:
    await replies_to(api, message("I'd like a quote"), count=2)
    await replies_to(api, press("form:agree"))
    for answer in ("Ann Lee", "Acme GmbH", "ann@acme.de", "Germany"):
        await replies_to(api, message(answer))
    phone_prompt = api.sent()[-1]["reply_markup"]
    assert phone_prompt["keyboard"][0][0] == {
        "text": "Share my phone number",
        "request_contact": True,
    }
    _noted, interest = await replies_to(api, shared_contact("8613800138000"), count=2)
    assert api.sent()[-2]["reply_markup"] == {"remove_keyboard": True}
    assert "interested" in interest
    await replies_to(api, press("form:choose:ic_industry"))
    await replies_to(api, press("form:choose:within_3_months"))
    summary = (await replies_to(api, message("skip")))[0]
    assert "+8613800138000" in summary
    [thanks] = await replies_to(api, press("form:confirm"))
    assert "Thank you, Ann Lee" in thanks
    [lead] = bot.stores.leads.find(LeadFilter())
    assert (lead.channel, lead.user_id, lead.answers["phone"]) == (
        "telegram",
        "777",
        "+8613800138000",
    )
    assert len(api.sent("answerCallbackQuery")) == 4


async def test_deep_link_start_payload_becomes_the_lead_source(bot: Bot, api: FakeBotApi) -> None:
    await replies_to(api, message("/start expo2026"))
    state = bot.stores.conversations.load("telegram", "777")
    assert state is not None
    assert state.source == "expo2026"


async def test_groups_answer_only_commands_mentions_and_replies(bot: Bot, api: FakeBotApi) -> None:
    api.push(message("how big is Lingang?", chat=-100))
    mention = message(
        "@lingang_test_bot how big is Lingang?",
        chat=-100,
        entities=[{"type": "mention", "offset": 0, "length": 17}],
    )
    [text] = await replies_to(api, mention)
    assert "119.5" in text
    [command] = await replies_to(api, message("/help@lingang_test_bot", chat=-100))
    assert "/lang" in command
    assert len(api.texts()) == 2


async def test_a_429_is_waited_out(bot: Bot, api: FakeBotApi) -> None:
    api.fail_next("sendMessage", "429")
    await replies_to(api, message("hello"))
    attempts = [c for c in api.calls if c.method == "sendMessage"]
    assert len(attempts) == 2
    assert attempts[1].at - attempts[0].at >= 1.0


async def test_a_network_failure_is_retried(bot: Bot, api: FakeBotApi) -> None:
    api.fail_next("sendMessage", "drop")
    [text] = await replies_to(api, message("hello"))
    assert "Lingang" in text


async def test_a_message_that_keeps_failing_is_kept_and_sent_later(
    api: FakeBotApi, knowledge: KnowledgeBase
) -> None:
    now = [datetime.now(UTC)]
    running = await started(api, knowledge, now)
    try:
        api.fail_next("sendMessage", "500", times=4)
        api.push(message("hello"))
        for _ in range(100):
            if running.queue.kept:
                break
            await asyncio.sleep(0.1)
        [(kept, _, sent)] = running.queue.kept
        assert (kept.chat_id, sent) == ("777", None)
        assert await running.service.resend_kept() == 0, "not before its time"
        now[0] += timedelta(minutes=1)
        assert await running.service.resend_kept() == 1
        assert "Lingang" in api.texts()[-1]
    finally:
        await running.service.stop()


async def test_a_long_answer_is_split_at_paragraphs(api: FakeBotApi, tmp_path: Path) -> None:
    long_answer = "\n\n".join(f"Lingang paragraph {n} " + "x" * 980 for n in range(10))
    essay = {
        "id": "essay",
        "title": {"en": "Essay", "zh": "长文"},
        "examples": {"en": ["tell me the long story"], "zh": ["讲个长故事"]},
        "answer": {"en": long_answer, "zh": long_answer},
    }
    faq = yaml.safe_dump({"intents": [essay]}, allow_unicode=True)
    knowledge = KnowledgeBase(copy_catalog(tmp_path, {"essay.yaml": faq}))
    running = await started(api, knowledge)
    try:
        pieces = await replies_to(api, message("tell me the long story"), count=3)
        assert all(len(p) <= 4096 for p in pieces)
        assert html.unescape("\n\n".join(pieces)) == long_answer
    finally:
        await running.service.stop()


async def test_a_slow_chat_does_not_hold_up_the_others(bot: Bot, api: FakeBotApi) -> None:
    api.fail_next("sendMessage", "slow")
    api.push(message("hello", chat=777))
    while api.faults["sendMessage"]:  # until chat 777's answer is in flight (and slow)
        await asyncio.sleep(0.01)
    api.push(message("how big is Lingang?", chat=888))
    await asyncio.to_thread(api.wait_for, 2)
    assert [m["chat_id"] for m in api.sent()] == ["888", "777"]


async def test_one_chats_messages_are_answered_in_order(bot: Bot, api: FakeBotApi) -> None:
    api.fail_next("sendMessage", "slow")
    api.push(message("hello"))
    api.push(message("how big is Lingang?"))
    api.push(message("thanks"))
    await asyncio.to_thread(api.wait_for, 3)
    first, second, third = api.texts()
    assert "Lingang" in first
    assert "119.5 km²" in second
    assert "welcome" in third.lower()
