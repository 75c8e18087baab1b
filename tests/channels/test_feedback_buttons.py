"""👍/👎 under answers through each channel for real: python-telegram-bot against a fake Bot API,
slack-bolt through the ASGI app against a fake Web API, the web chat through the ASGI app; a
press goes back to the engine as the button's payload and is kept as feedback."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.app import App, build_app, build_slack
from bot.channels.ratelimit import ChatRateLimiter
from bot.channels.telegram import TelegramService
from bot.config import Settings
from bot.core.engine import Engine
from bot.web.app import create_app
from intents.catalog import PACKAGED_DIR
from intents.knowledge import KnowledgeBase
from storage.memory import MemoryEventLog, MemoryOutgoingQueue
from storage.models import ConversationEventRow
from tests.channels.test_slack import last_message, post, say, settings_for
from tests.chat import memory_stores
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.slack_requests import block_action, slash
from tests.fakes.telegram_api import TOKEN, FakeBotApi, message, press
from tests.web.conftest import BASE_URL

THANKS = "Thanks for letting us know!"
SORRY = "Sorry that didn't help."


@pytest.fixture(scope="module")
def knowledge() -> KnowledgeBase:
    """The packaged catalog with the default matcher: matching is tested elsewhere."""
    return KnowledgeBase(PACKAGED_DIR)


# -- Telegram ---------------------------------------------------------------------------------


@pytest.fixture
async def telegram_bot(
    api: FakeBotApi, knowledge: KnowledgeBase
) -> AsyncIterator[tuple[TelegramService, MemoryEventLog]]:
    """The Telegram service over an engine that offers 👍/👎 (it keeps an event log)."""
    stores, events = memory_stores(), MemoryEventLog()
    engine = Engine(
        knowledge,
        conversations=stores.conversations,
        deliveries=stores.deliveries,
        transcripts=stores.transcripts,
        questions=stores.questions,
        leads=stores.leads,
        privacy=stores.privacy,
        events=events,
    )
    service = TelegramService(
        engine,
        knowledge,
        MemoryOutgoingQueue(),
        token=TOKEN,
        base_url=api.base_url,
        webhook=False,
        limiter=ChatRateLimiter(per_private_chat_second=50),
    )
    await service.start()
    try:
        yield service, events
    finally:
        await service.stop()


async def sent_after(api: FakeBotApi, update: dict[str, object]) -> dict[str, Any]:
    """Push an update; the message the bot sends in answer."""
    before = len(api.sent())
    api.push(update)
    await asyncio.to_thread(api.wait_for, before + 1)
    return api.sent()[before]


async def test_telegram_answers_carry_the_thumbs_in_one_row_and_a_press_is_feedback(
    telegram_bot: tuple[TelegramService, MemoryEventLog], api: FakeBotApi
) -> None:
    _, events = telegram_bot
    answer = await sent_after(api, message("how big is Lingang?"))
    assert "119.5 km²" in answer["text"]
    keyboard = answer["reply_markup"]["inline_keyboard"]
    last = keyboard[-1]
    assert [key["text"] for key in last] == ["👍", "👎"]
    assert all(len(row) == 1 for row in keyboard[:-1])  # the other buttons, one a row
    up = last[0]["callback_data"]
    assert up.startswith("fb:up:")
    assert len(up.encode()) <= 64
    thanks = await sent_after(api, press(up))
    assert thanks["text"] == THANKS
    assert len(api.sent("answerCallbackQuery")) == 1
    [rated] = [e for e in events.all() if e.kind == "feedback"]
    [asked] = [e for e in events.all() if e.kind == "turn" and e.answer_key]
    assert (rated.outcome, rated.answer_key, rated.intent_id) == (
        "up",
        asked.answer_key,
        asked.intent_id,
    )
    assert asked.intent_id is not None


# -- Slack ------------------------------------------------------------------------------------


@pytest.fixture
def slack_app(tmp_path: Path) -> Iterator[tuple[App, FakeSlackApi]]:
    with FakeSlackApi() as api:
        wired = build_app(settings_for(api, tmp_path))
        try:
            yield wired, api
        finally:
            wired.close()


def test_slack_answers_carry_the_thumbs_and_a_press_is_feedback_and_disables_them(
    slack_app: tuple[App, FakeSlackApi],
) -> None:
    app, api = slack_app
    slack = build_slack(app)
    assert slack is not None
    with TestClient(create_app(app, None, slack)) as client:
        [answer] = say(client, api, "how big is Lingang?")
        assert "119.5 km²" in answer["text"]
        thumbs = answer["blocks"][-1]
        assert thumbs["type"] == "actions"
        assert [e["text"]["text"] for e in thumbs["elements"]] == ["👍", "👎"]
        ts, shown = last_message(api, "D0001")
        down = thumbs["elements"][1]
        body = block_action(
            down["action_id"], down["value"], "U0001", "D0001",
            message_ts=ts, block_id=thumbs["block_id"], label="👎",
            message=shown, response_url=api.response_url(),
        )  # fmt: skip
        assert post(client, body).status_code == 200
        api.wait_for(2)
        assert SORRY in api.texts()[-1]
        api.wait_for(1, "chat.update")
        after = api.message("D0001", ts)
        assert after is not None
        assert all(b["type"] != "actions" for b in after["blocks"])
        assert "chose: 👎" in json.dumps(after["blocks"], ensure_ascii=False)
    assert feedback_of(app) == ("down", down["value"].removeprefix("fb:down:"))


def test_a_thumb_under_a_private_slash_answer_keeps_the_answer(
    slack_app: tuple[App, FakeSlackApi],
) -> None:
    app, api = slack_app
    slack = build_slack(app)
    assert slack is not None
    with TestClient(create_app(app, None, slack)) as client:
        hook = api.response_url("ask")
        post(client, slash("/lingang", "how big is Lingang?", response_url=hook))
        api.wait_for(1, "respond")
        [private] = api.sent("respond")
        [thumbs] = [b for b in private["blocks"] if b.get("elements", [{}])[0].get("text", {})
                    .get("text") == "👍"]  # fmt: skip
        up = thumbs["elements"][0]
        body = block_action(
            up["action_id"], up["value"], "U0001", "C0001",
            ephemeral=True, response_url=hook, label="👍",
        )  # fmt: skip
        assert post(client, body).status_code == 200
        api.wait_for(2, "respond")
        thanks = api.sent("respond")[-1]
        assert thanks["text"] == THANKS
        # Nothing replaced the private answer (Slack would show only a note in its place).
        assert not [r for r in api.sent("respond") if r.get("replace_original")]
    assert feedback_of(app) == ("up", up["value"].removeprefix("fb:up:"))


def feedback_of(app: App) -> tuple[str | None, str | None]:
    """The one feedback event in the app's database: its outcome and answer key."""
    with app.storage.database.transaction() as session:
        [row] = session.scalars(
            select(ConversationEventRow).where(ConversationEventRow.kind == "feedback")
        )
        return row.outcome, row.answer_key


# -- the web chat -----------------------------------------------------------------------------


@pytest.fixture
def web_site(tmp_path: Path) -> Iterator[tuple[App, TestClient]]:
    wired = build_app(
        Settings(_env_file=None, LINGANG_DATA_DIR=tmp_path, LINGANG_MATCHER="lexical")
    )
    try:
        with TestClient(create_app(wired), base_url=BASE_URL) as client:
            yield wired, client
    finally:
        wired.close()


def test_web_answers_carry_marked_thumbs_and_a_press_is_feedback(
    web_site: tuple[App, TestClient],
) -> None:
    app, client = web_site
    [answer] = client.post("/chat/messages", json={"text": "how big is Lingang?"}).json()["replies"]
    thumbs = [b for b in answer["buttons"] if b.get("feedback")]
    assert [b["title"] for b in thumbs] == ["👍", "👎"]
    assert answer["buttons"][-2:] == thumbs
    assert all(set(b) == {"title", "payload"} for b in answer["buttons"][:-2])
    replies = client.post("/chat/messages", json={"payload": thumbs[0]["payload"]}).json()
    assert [r["text"] for r in replies["replies"]] == [THANKS]
    assert feedback_of(app) == ("up", thumbs[0]["payload"].removeprefix("fb:up:"))
