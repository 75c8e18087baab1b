"""slack-bolt for real: signed requests through the project's ASGI app, the Web API faked on
127.0.0.1, the database a fresh SQLite file."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from bot.app import App, build_app, build_slack
from bot.channels.slack import SlackService
from bot.config import Settings
from bot.core.ports import DeliveryLog
from bot.core.records import LeadFilter
from bot.web.app import create_app
from storage.db import Database
from tests.chat import memory_stores, sql_stores
from tests.fakes.slack_api import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET, FakeSlackApi
from tests.fakes.slack_requests import (
    FORM,
    block_action,
    bot_message,
    deleted,
    dm,
    edited,
    encode,
    mention,
    own_message,
    signed_headers,
    slash,
)
from tests.fakes.slack_socket import FakeSocketMode

URL = "/slack/events"
SALES = "C0SALES"
SELLER = "U0SELL"
PROSPECT = "U0001"


@pytest.fixture
def slack_api() -> Iterator[FakeSlackApi]:
    with FakeSlackApi() as fake:
        fake.members[SALES] = [SELLER, "UBOT"]
        yield fake


def settings_for(api: FakeSlackApi, folder: Path) -> Settings:
    return Settings(
        _env_file=None,
        LINGANG_DATA_DIR=folder,
        LINGANG_MATCHER="lexical",  # matching is tested elsewhere
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=api.base_url,
        SLACK_SALES_CHANNEL=SALES,
    )


@pytest.fixture
def app(slack_api: FakeSlackApi, tmp_path: Path) -> Iterator[App]:
    wired = build_app(settings_for(slack_api, tmp_path))
    try:
        yield wired
    finally:
        wired.close()


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    slack = build_slack(app)
    assert slack is not None
    with TestClient(create_app(app, None, slack)) as web:
        yield web


def post(client: TestClient, body: dict[str, Any] | bytes, **headers: str) -> Response:
    """A request as Slack signs it (JSON for events, a form for presses and commands)."""
    raw = encode(body) if isinstance(body, dict) else body
    kind = "application/json" if isinstance(body, dict) else FORM
    signed = signed_headers(raw, content_type=kind)
    return client.post(URL, content=raw, headers={**signed, **headers})


def say(client: TestClient, api: FakeSlackApi, text: str, count: int = 1) -> list[dict[str, Any]]:
    """A DM from the prospect; the next `count` messages the bot posts."""
    before = len(api.sent())
    assert post(client, dm(text, user=PROSPECT)).status_code == 200
    api.wait_for(before + count)
    return api.sent()[before:]


def last_message(api: FakeSlackApi, channel: str) -> tuple[str, dict[str, Any]]:
    """The newest message the bot posted in `channel`, and its ts."""
    (_, ts), message = [(k, v) for k, v in api.messages.items() if k[0] == channel][-1]
    return ts, message


def press(
    client: TestClient, api: FakeSlackApi, channel: str, words: str, *, user: str = PROSPECT
) -> Response:
    """Press the button whose label contains `words` on the bot's newest message there."""
    ts, message = last_message(api, channel)
    for block in message["blocks"]:
        for element in block.get("elements", []):
            if element.get("type") == "button" and words.lower() in element["text"]["text"].lower():
                body = block_action(
                    element["action_id"], element["value"], user, channel,
                    message_ts=ts, block_id=block["block_id"], label=element["text"]["text"],
                    message=message, response_url=api.response_url(),
                )  # fmt: skip
                return post(client, body)
    raise AssertionError(f"no button {words!r} on {message['blocks']}")


# -- prospects ------------------------------------------------------------------------------


def test_a_direct_message_is_answered(client: TestClient, slack_api: FakeSlackApi) -> None:
    [reply] = say(client, slack_api, "how big is Lingang?")
    assert reply["channel"] == "D0001"
    assert "119.5 km²" in reply["text"]
    assert reply["blocks"][0]["type"] == "section"
    assert "thread_ts" not in reply


def test_a_mention_is_answered_in_its_thread(client: TestClient, slack_api: FakeSlackApi) -> None:
    body = mention("where is Lingang?", ts="1700000001.000200")
    assert post(client, body).status_code == 200
    slack_api.wait_for(1)
    [reply] = slack_api.sent()
    assert (reply["channel"], reply["thread_ts"]) == ("C0001", "1700000001.000200")
    assert "Pudong" in reply["text"]


def test_the_bots_commands_work_without_their_slash(
    client: TestClient, slack_api: FakeSlackApi
) -> None:
    [reply] = say(client, slack_api, "mydata")
    assert "Nothing is stored about you here." in reply["text"]


@pytest.mark.parametrize(
    "body",
    [own_message("hello"), bot_message("hello"), edited("hello"), deleted()],
    ids=["own", "other bot", "edit", "deletion"],
)
def test_bots_edits_and_deletions_are_not_answered(
    client: TestClient, slack_api: FakeSlackApi, body: dict[str, Any]
) -> None:
    assert post(client, body).status_code == 200
    [reply] = say(client, slack_api, "hello")  # the next real message is answered
    assert reply["text"]
    assert len(slack_api.sent()) == 1


def test_forged_unsigned_and_stale_requests_are_rejected(
    client: TestClient, slack_api: FakeSlackApi
) -> None:
    raw = encode(dm("hello"))
    good = signed_headers(raw)
    now = int(time.time())
    signature = good["X-Slack-Signature"]
    forged = [
        (raw.replace(b"hello", b"hellO"), good),
        (raw, signed_headers(raw, secret="f" * 32)),
        (raw, signed_headers(raw, timestamp=now - 301)),
        (raw, signed_headers(raw, timestamp=now + 330)),  # margin for a slow machine
        (raw, {k: v for k, v in good.items() if k != "X-Slack-Signature"}),
        (raw, {k: v for k, v in good.items() if k != "X-Slack-Request-Timestamp"}),
        (raw, {**good, "X-Slack-Signature": signature[:-4]}),
        (raw, {**good, "X-Slack-Signature": "v1=" + signature[3:]}),
    ]
    statuses = [client.post(URL, content=body, headers=h).status_code for body, h in forged]
    assert statuses == [401] * 8
    time.sleep(0.3)
    assert slack_api.sent() == []


def test_a_retried_event_is_answered_once_also_by_a_second_instance(
    app: App, client: TestClient, slack_api: FakeSlackApi
) -> None:
    body = dm("hello", event_id="Ev0RETRY01")
    assert post(client, body).status_code == 200
    slack_api.wait_for(1)
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    assert post(client, body, **retry).status_code == 200
    second = build_app(app.settings)  # another process on the same database
    try:
        other = build_slack(second)
        assert other is not None
        with TestClient(create_app(second, None, other)) as replica:
            assert post(replica, body, **{**retry, "X-Slack-Retry-Num": "2"}).status_code == 200
    finally:
        second.close()
    time.sleep(0.3)
    assert len(slack_api.sent()) == 1


def test_a_button_press_is_answered_and_cannot_be_pressed_twice(
    client: TestClient, slack_api: FakeSlackApi
) -> None:
    say(client, slack_api, "where is Lingang?")
    ts, before = last_message(slack_api, "D0001")
    assert any(b["type"] == "actions" for b in before["blocks"])
    assert press(client, slack_api, "D0001", "big").status_code == 200
    slack_api.wait_for(2)
    assert "119.5 km²" in slack_api.texts()[-1]
    slack_api.wait_for(1, "chat.update")
    after = slack_api.message("D0001", ts)
    assert after is not None
    assert all(b["type"] != "actions" for b in after["blocks"])
    assert "<@U0001>" in json.dumps(after["blocks"])


def fill_the_form(client: TestClient, api: FakeSlackApi, name: str) -> dict[str, Any]:
    """A prospect asks for a consultant and answers every question; the summary."""
    say(client, api, "I want to talk to a consultant", count=2)
    press(client, api, "D0001", "agree")
    api.wait_for(3)
    for answer in (name, "Acme GmbH", "ann@acme.de", "Germany"):
        say(client, api, answer)
    _, interest = say(client, api, "skip", count=2)  # the phone is optional
    assert "interested" in interest["text"]
    press(client, api, "D0001", "IC")
    api.wait_for(10)
    press(client, api, "D0001", "3 months")
    api.wait_for(11)
    [summary] = say(client, api, "skip")
    return summary


def test_a_full_lead_form_in_slack_reaches_the_sales_channel(
    app: App, client: TestClient, slack_api: FakeSlackApi
) -> None:
    summary = fill_the_form(client, slack_api, "Ann Lee")
    assert "ann@acme.de" in summary["text"]
    press(client, slack_api, "D0001", "confirm")
    slack_api.wait_for(13)
    assert "Thank you, Ann Lee" in slack_api.texts()[-1]
    [lead] = app.storage.leads.find(LeadFilter())
    assert (lead.channel, lead.user_id, lead.answers["email"]) == ("slack", PROSPECT, "ann@acme.de")

    assert app.relay.run_once() == 1  # what `serve` does every few seconds
    card = slack_api.sent()[-1]
    assert card["channel"] == SALES
    assert f"New lead #{lead.id}" in card["text"]
    shown = json.dumps(card["blocks"])
    assert "Ann Lee" in shown
    assert "talk to a consultant" in shown.lower()
    assert [e["text"]["text"] for e in card["blocks"][-1]["elements"]] == [
        "Claim", "Contacted", "Qualified", "Lost",
    ]  # fmt: skip

    updates = len(slack_api.sent("chat.update"))  # the card's updates so far
    assert press(client, slack_api, SALES, "Claim", user=SELLER).status_code == 200
    slack_api.wait_for(updates + 1, "chat.update")
    claimed = app.storage.leads.get(lead.id)
    assert claimed is not None
    assert claimed.owner == f"slack:{SELLER}"
    _, updated = last_message(slack_api, SALES)
    assert f"<@{SELLER}> claimed this lead" in json.dumps(updated["blocks"])
    updates = len(slack_api.sent("chat.update"))
    press(client, slack_api, SALES, "Qualified", user=SELLER)
    slack_api.wait_for(updates + 1, "chat.update")
    qualified = app.storage.leads.get(lead.id)
    assert qualified is not None
    assert qualified.status == "qualified"
    assert [e.actor for e in app.storage.leads.history(lead.id)][-2:] == [f"slack:{SELLER}"] * 2


def test_the_lead_buttons_are_refused_to_non_members(
    app: App, client: TestClient, slack_api: FakeSlackApi
) -> None:
    slack_api.sent().clear()
    message = {"type": "message", "text": "New lead #1", "ts": "1700000000.000900",
               "blocks": [{"type": "actions", "block_id": "sales-actions", "elements": [
                   {"type": "button", "action_id": "sales:lost", "value": "1",
                    "text": {"type": "plain_text", "text": "Lost"}}]}]}  # fmt: skip
    body = block_action(
        "sales:lost", "1", "U0STRANGER", SALES, message=message,
        message_ts="1700000000.000900", response_url=slack_api.response_url("refusal"),
    )  # fmt: skip
    assert post(client, body).status_code == 200
    slack_api.wait_for(1, "respond")
    [refusal] = slack_api.sent("respond")
    assert "Only members of the sales channel" in refusal["text"]
    assert refusal["response_type"] == "ephemeral"
    assert slack_api.sent("chat.update") == []


def test_leads_command_lists_for_members_and_refuses_others(
    app: App, client: TestClient, slack_api: FakeSlackApi
) -> None:
    hook = slack_api.response_url("leads")
    refused = post(client, slash("/leads", "", user="U0STRANGER", response_url=hook))
    assert refused.status_code == 200
    slack_api.wait_for(1, "respond")
    assert (
        "Only members of the sales channel can use /leads" in slack_api.sent("respond")[0]["text"]
    )
    assert post(client, slash("/leads", "new", user=SELLER, response_url=hook)).status_code == 200
    slack_api.wait_for(2, "respond")
    assert "No leads match" in slack_api.sent("respond")[1]["text"]
    assert post(client, slash("/lead", "abc", user=SELLER, response_url=hook)).status_code == 200
    slack_api.wait_for(3, "respond")
    assert "Usage: /lead ID" in slack_api.sent("respond")[2]["text"]


def test_a_429_from_the_web_api_is_waited_out(client: TestClient, slack_api: FakeSlackApi) -> None:
    slack_api.fail_next("chat.postMessage", "429")
    started = time.monotonic()
    [reply] = say(client, slack_api, "hello")
    assert time.monotonic() - started >= 1.0
    assert reply["text"]
    assert len([c for c in slack_api.calls if c.method == "chat.postMessage"]) == 2


def test_mrkdwn_in_user_text_is_escaped(client: TestClient, slack_api: FakeSlackApi) -> None:
    summary = fill_the_form(client, slack_api, "<!channel> <https://evil.example|Ann> & Co")
    shown = json.dumps(summary["blocks"]) + summary["text"]
    assert "<!channel>" not in shown
    assert "<https://evil" not in shown
    assert "&lt;!channel&gt;" in shown


def test_requests_are_acknowledged_at_once_while_the_work_is_slow(
    client: TestClient, slack_api: FakeSlackApi
) -> None:
    slack_api.fail_next("chat.postMessage", "slow")
    started = time.monotonic()
    assert post(client, dm("hello")).status_code == 200
    assert time.monotonic() - started < 1.0
    slack_api.wait_for(1)


def test_ask_answers_privately_and_offers_to_post(
    client: TestClient, slack_api: FakeSlackApi
) -> None:
    hook = slack_api.response_url("ask")
    assert (
        post(client, slash("/lingang", "how big is Lingang?", response_url=hook)).status_code == 200
    )
    slack_api.wait_for(1, "respond")
    [private] = slack_api.sent("respond")
    assert private["response_type"] == "ephemeral"
    assert "119.5 km²" in private["text"]
    [post_button] = private["blocks"][-1]["elements"]
    assert post_button["text"]["text"] == "Post to the channel"
    body = block_action(
        post_button["action_id"], post_button["value"], PROSPECT, "C0001",
        ephemeral=True, response_url=hook,
    )  # fmt: skip
    assert post(client, body).status_code == 200
    slack_api.wait_for(1)
    [public] = slack_api.sent()
    assert public["channel"] == "C0001"
    assert "<@U0001> asked: how big is Lingang?" in public["text"]
    assert "119.5 km²" in public["text"]


# -- delivery guarantees --------------------------------------------------------------------


def test_while_the_database_is_down_events_are_answered_once_all_the_same(
    app: App, slack_api: FakeSlackApi
) -> None:
    down = Database("postgresql+psycopg://postgres@127.0.0.1:1/unreachable")
    try:
        stranded = SlackService(
            sql_stores(down).engine(app.knowledge), app.knowledge, app.storage.leads,
            app.storage.transcripts, app.storage.outgoing, token=BOT_TOKEN,
            base_url=slack_api.base_url, signing_secret=SIGNING_SECRET, app_token=None,
        )  # fmt: skip
        with TestClient(create_app(app, None, stranded)) as cut_off:
            body = dm("how big is Lingang?", event_id="Ev0DOWN001")
            assert post(cut_off, body).status_code == 200
            slack_api.wait_for(1)
            assert "119.5 km²" in slack_api.texts()[0], "FAQ answers need no database"
            # Slack retries what it thinks failed; a retry to this process is not answered
            # again, though the database could not record the first delivery.
            assert post(cut_off, body, **{"X-Slack-Retry-Num": "1"}).status_code == 200
            assert post(cut_off, dm("ann@acme.de")).status_code == 200
            slack_api.wait_for(2)
            time.sleep(0.3)
        assert len(slack_api.sent()) == 2
        assert "couldn't" in slack_api.texts()[1], "the prospect is told it was not saved"
    finally:
        down.dispose()


class SlowDeliveries:
    """A delivery log that takes its time, like a database under a lock."""

    def __init__(self, inner: DeliveryLog, seconds: float) -> None:
        self.inner, self.seconds = inner, seconds

    def first_delivery(self, channel: str, delivery_id: str) -> bool:
        time.sleep(self.seconds)
        return self.inner.first_delivery(channel, delivery_id)


def test_a_slow_database_does_not_delay_the_acknowledgement(
    app: App, slack_api: FakeSlackApi
) -> None:
    stores = memory_stores()
    stores = replace(stores, deliveries=SlowDeliveries(stores.deliveries, 4.0))
    slow = SlackService(
        stores.engine(app.knowledge), app.knowledge, app.storage.leads, app.storage.transcripts,
        app.storage.outgoing, token=BOT_TOKEN, base_url=slack_api.base_url,
        signing_secret=SIGNING_SECRET, app_token=None,
    )  # fmt: skip
    with TestClient(create_app(app, None, slow)) as web:
        started = time.monotonic()
        assert post(web, dm("hello")).status_code == 200
        assert time.monotonic() - started < 3.0, "Slack's 3 seconds"
        slack_api.wait_for(1)  # answered once the claim went through


async def test_socket_mode_receives_acknowledges_and_answers(
    app: App, slack_api: FakeSlackApi
) -> None:
    with FakeSocketMode() as socket:
        slack_api.socket_url = socket.url
        service = SlackService(
            app.engine, app.knowledge, app.storage.leads, app.storage.transcripts,
            app.storage.outgoing, token=BOT_TOKEN, base_url=slack_api.base_url,
            signing_secret=None, app_token=APP_TOKEN,
        )  # fmt: skip
        await service.start()
        try:
            await asyncio.to_thread(socket.wait_connected)
            body = dm("how big is Lingang?", event_id="Ev0SOCKET1")
            envelope = socket.send("events_api", body)
            await asyncio.to_thread(socket.wait_acked, envelope)
            await asyncio.to_thread(slack_api.wait_for, 1)
            assert "119.5 km²" in slack_api.texts()[0]
            again = socket.send("events_api", body, retry_attempt=1, retry_reason="timeout")
            await asyncio.to_thread(socket.wait_acked, again)
            await asyncio.sleep(0.3)
            assert len(slack_api.sent()) == 1, "a retried envelope is answered once"
        finally:
            await service.stop()


def test_auth_test_is_asked_once_at_start_never_per_request(
    client: TestClient, slack_api: FakeSlackApi
) -> None:
    # auth.test failing after the start (an outage of that method) costs no message.
    slack_api.fail_until("auth.test", "500", 60)
    [reply] = say(client, slack_api, "how big is Lingang?")
    assert "119.5" in reply["text"]
    assert len(slack_api.calls_of("auth.test")) == 1


def test_slack_down_at_start_does_not_stop_the_bot(app: App, slack_api: FakeSlackApi) -> None:
    slack_api.fail_until("auth.test", "500", 60)
    slack = build_slack(app)
    assert slack is not None
    with TestClient(create_app(app, None, slack)) as web:  # starts all the same
        assert web.get("/healthz").status_code == 200
        slack_api.fail_until("auth.test", "500", 0)  # Slack is back
        [reply] = say(web, slack_api, "how big is Lingang?")
        assert "119.5" in reply["text"]
