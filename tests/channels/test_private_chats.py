"""A person's data and the contact form stay out of groups, through the real channels: Telegram
(python-telegram-bot against the fake Bot API) and Slack (signed requests through the app,
the fake Web API). In a group or channel the bot says "message me directly" with its link and
posts nothing personal; in the private chat the same words work."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bot.app import App
from bot.core.records import LeadFilter
from intents.catalog import PACKAGED_DIR
from intents.knowledge import KnowledgeBase
from tests.channels.test_slack import app, client, post, slack_api
from tests.channels.test_telegram import Bot, replies_to, started
from tests.fakes.slack_api import APP_ID, TEAM, FakeSlackApi
from tests.fakes.slack_requests import block_action, dm, mention, slash
from tests.fakes.telegram_api import FakeBotApi, message, press

__all__ = ["app", "client", "slack_api"]  # fixtures

GROUP = -100555
TELEGRAM_LINK = "https://t.me/lingang_test_bot"
# As Slack shows it: `&` escaped in mrkdwn.
SLACK_LINK = f"https://slack.com/app_redirect?app={APP_ID}&amp;team={TEAM}"
DIRECTLY = "Please message me directly"


@pytest.fixture(scope="module")
def knowledge() -> KnowledgeBase:
    return KnowledgeBase(PACKAGED_DIR)


@pytest.fixture
async def bot(api: FakeBotApi, knowledge: KnowledgeBase) -> AsyncIterator[Bot]:
    running = await started(api, knowledge)
    try:
        yield running
    finally:
        await running.service.stop()


def in_group(update: dict[str, Any]) -> dict[str, Any]:
    """A press (callback query) on a message of the group chat."""
    update["callback_query"]["message"]["chat"] = {"id": GROUP, "type": "supergroup"}
    return update


def said_to(api: FakeBotApi, chat: int) -> list[str]:
    return [str(m["text"]) for m in api.sent() if int(m["chat_id"]) == chat]


# -- Telegram -------------------------------------------------------------------------------


async def test_mydata_in_a_telegram_group_sends_the_person_to_a_private_chat(
    bot: Bot, api: FakeBotApi
) -> None:
    await replies_to(api, message("my email is ann@acme.de, how big is Lingang?"))
    [refused] = await replies_to(api, message("/mydata", chat=GROUP))
    assert DIRECTLY in refused
    assert TELEGRAM_LINK in refused
    assert all("ann@acme.de" not in text for text in said_to(api, GROUP))
    [export] = await replies_to(api, message("/mydata"))  # the private chat
    assert "ann@acme.de" in export
    assert said_to(api, 777)[-1] == export


async def test_the_form_in_a_telegram_group_keeps_no_state_and_no_lead(
    bot: Bot, api: FakeBotApi
) -> None:
    for words in ("/contact", "/contact@lingang_test_bot"):
        [refused] = await replies_to(api, message(words, chat=GROUP))
        assert TELEGRAM_LINK in refused
    mention = message(
        "@lingang_test_bot I'd like a quote",
        chat=GROUP,
        entities=[{"type": "mention", "offset": 0, "length": 17}],
    )
    [refused] = await replies_to(api, mention)
    assert DIRECTLY in refused
    [pressed] = await replies_to(api, in_group(press("form:agree", chat=GROUP)))
    assert DIRECTLY in pressed
    state = bot.stores.conversations.load("telegram", str(GROUP))
    assert state is None or state.form is None
    assert bot.stores.leads.find(LeadFilter()) == []
    # The same words in the private chat start the form.
    [consent] = await replies_to(api, message("/contact"))
    assert DIRECTLY not in consent
    assert "form:agree" in json.dumps(api.sent()[-1]["reply_markup"])


async def test_faq_answers_in_a_telegram_group_work_as_before(bot: Bot, api: FakeBotApi) -> None:
    [answer] = await replies_to(api, message("/help", chat=GROUP))
    assert "/lang" in answer
    mention = message(
        "@lingang_test_bot how big is Lingang?",
        chat=GROUP,
        entities=[{"type": "mention", "offset": 0, "length": 17}],
    )
    [answer] = await replies_to(api, mention)
    assert "119.5" in answer


async def test_a_command_for_another_bot_in_the_group_is_left_alone(
    bot: Bot, api: FakeBotApi
) -> None:
    api.push(message("/mydata@some_other_bot", chat=GROUP))
    [answer] = await replies_to(api, message("/help", chat=GROUP))
    assert "/lang" in answer
    await asyncio.sleep(0.2)
    assert len(said_to(api, GROUP)) == 1


# -- Slack ----------------------------------------------------------------------------------


def posted(api: FakeSlackApi, body: dict[str, Any] | bytes, client: TestClient) -> dict[str, Any]:
    """Post a signed request; the one message the bot posts for it."""
    before = len(api.sent())
    assert post(client, body).status_code == 200
    api.wait_for(before + 1)
    [reply] = api.sent()[before:]
    return reply


def responded(api: FakeSlackApi, body: bytes, client: TestClient) -> list[dict[str, Any]]:
    """Post a signed slash command; its private (ephemeral) answers."""
    before = len(api.sent("respond"))
    assert post(client, body).status_code == 200
    api.wait_for(before + 1, "respond")
    return api.sent("respond")[before:]


def test_mydata_in_a_slack_channel_sends_the_person_to_a_direct_message(
    client: TestClient, slack_api: FakeSlackApi
) -> None:
    posted(slack_api, dm("my email is ann@acme.de, how big is Lingang?"), client)
    reply = posted(slack_api, mention("mydata", ts="1700000002.000100"), client)
    assert (reply["channel"], reply["thread_ts"]) == ("C0001", "1700000002.000100")
    assert DIRECTLY in reply["text"]
    assert SLACK_LINK in reply["text"]
    assert all("ann@acme.de" not in text for text in slack_api.texts()[1:])
    export = posted(slack_api, dm("mydata"), client)
    assert export["channel"] == "D0001"
    assert "ann@acme.de" in export["text"]


def test_form_words_and_buttons_in_a_slack_channel_are_refused(
    app: App, client: TestClient, slack_api: FakeSlackApi
) -> None:
    words = posted(slack_api, mention("I want to talk to a consultant"), client)
    assert DIRECTLY in words["text"]
    thread = words["thread_ts"]
    body = block_action("lingang:0", "form:lead", "U0001", "C0001", message_ts=thread)
    pressed = posted(slack_api, body, client)
    assert DIRECTLY in pressed["text"]
    assert app.storage.leads.find(LeadFilter()) == []
    for conversation in ("C0001", f"C0001/{thread}"):
        state = app.storage.conversations.load("slack", conversation)
        assert state is None or state.form is None
    # In the direct message the same words start the form.
    form = posted(slack_api, dm("I want to talk to a consultant"), client)
    assert DIRECTLY not in form["text"]
    slack_api.wait_for(len(slack_api.sent()) + 1)
    assert "agree" in json.dumps(slack_api.sent()[-1]["blocks"]).lower()


def test_lingang_in_a_channel_refuses_the_form_privately(
    client: TestClient, slack_api: FakeSlackApi
) -> None:
    """`/lingang` answers only the asker, but in a channel its "Post to the channel" button
    would carry a form answer (an email, a phone) there, and ephemeral answers vanish: the form
    and the export stay in the direct message."""
    hook = slack_api.response_url("contact")
    body = slash("/lingang", "I want to talk to a consultant", channel="C0001", response_url=hook)
    [refused] = responded(slack_api, body, client)
    assert refused["response_type"] == "ephemeral"
    assert DIRECTLY in refused["text"]
    assert SLACK_LINK in refused["text"]
    assert slack_api.sent() == [], "nothing posted in the channel"
    # In a direct message, the same command starts the form (only the asker sees it).
    hook = slack_api.response_url("dm")
    body = slash("/lingang", "I want to talk to a consultant", channel="D0001", response_url=hook)
    answers = responded(slack_api, body, client)
    slack_api.wait_for(2, "respond")
    assert DIRECTLY not in json.dumps(answers)
