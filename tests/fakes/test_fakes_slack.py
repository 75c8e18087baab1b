"""The Slack fakes work with the real slack_sdk and slack-bolt clients."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.context.say.async_say import AsyncSay
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import RateLimitErrorRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.slack_api import (
    APP_TOKEN,
    BOT_TOKEN,
    BOT_USER,
    SIGNING_SECRET,
    TEAM,
    FakeSlackApi,
)
from tests.fakes.slack_requests import (
    FORM,
    block_action,
    bot_message,
    channel_message,
    deleted,
    dm,
    edited,
    encode,
    mention,
    own_message,
    signed_headers,
    slash,
    slash_payload,
    url_verification,
)
from tests.fakes.slack_socket import FakeSocketMode

BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]


@pytest.fixture
def slack() -> Iterator[FakeSlackApi]:
    """A fake Slack Web API on 127.0.0.1."""
    with FakeSlackApi() as fake:
        yield fake


@pytest.fixture
def app(slack: FakeSlackApi) -> AsyncApp:
    """A bolt app that talks to the fake: says "hi" to messages, answers /ask and buttons."""
    bolt = AsyncApp(
        signing_secret=SIGNING_SECRET,
        client=AsyncWebClient(token=BOT_TOKEN, base_url=slack.base_url),
    )

    @bolt.event("message")
    async def on_message(say: AsyncSay) -> None:
        await say("hi")

    @bolt.event("app_mention")
    async def on_mention(event: dict[str, Any], say: AsyncSay) -> None:
        await say(text="mentioned", thread_ts=event["ts"])

    @bolt.command("/ask")
    async def on_ask(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        await ack(f"asked: {command['text']}")
        await respond("x")

    @bolt.action("pick")
    async def on_pick(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        picked = (
            body["actions"][0]["value"],
            body["user"]["id"],
            body["channel"]["id"],
            body["container"]["message_ts"],
        )
        await respond(text=" ".join(picked), replace_original=False)

    return bolt


async def dispatch(app: AsyncApp, body: bytes, **headers: str) -> Any:
    """Post a body to the app as Slack would (signed unless headers are given)."""
    kind = "application/json" if body.startswith(b"{") else FORM
    sent = headers or signed_headers(body, content_type=kind)
    return await app.async_dispatch(AsyncBoltRequest(body=body.decode(), headers=sent))


# -- the Web API ------------------------------------------------------------------------------


def test_sync_client_calls_are_recorded_decoded(slack: FakeSlackApi) -> None:
    client = WebClient(token=BOT_TOKEN, base_url=slack.base_url)

    assert client.auth_test()["user_id"] == BOT_USER
    posted = client.chat_postMessage(channel="C1", text="hello", blocks=BLOCKS)
    client.api_call(  # form-encoded, blocks as a JSON string
        "chat.postMessage", params={"channel": "C1", "text": "form", "blocks": json.dumps(BLOCKS)}
    )
    client.chat_update(channel="C1", ts=posted["ts"], text="edited")

    first, second = slack.calls_of("chat.postMessage")
    assert first.params == {"channel": "C1", "text": "hello", "blocks": BLOCKS}
    assert first.headers["Authorization"] == f"Bearer {BOT_TOKEN}"
    assert first.headers["Content-Type"].startswith("application/json")
    assert second.params["blocks"] == BLOCKS
    assert second.headers["Content-Type"] == FORM
    assert slack.calls_of("auth.test")[0].headers["Content-Type"] == FORM
    assert slack.texts() == ["hello", "form"]
    stored = slack.message("C1", posted["ts"])
    assert stored is not None
    assert stored["text"] == "edited"
    assert stored["blocks"] == BLOCKS
    with pytest.raises(SlackApiError) as missing:
        client.chat_update(channel="C1", ts="1.2", text="x")
    assert missing.value.response["error"] == "message_not_found"


def test_sync_client_lookups(slack: FakeSlackApi) -> None:
    slack.members["C1"] = ["U1", "U2"]
    slack.usergroups["S1"] = ["U3"]
    client = WebClient(token=BOT_TOKEN, base_url=slack.base_url)

    assert client.conversations_members(channel="C1")["members"] == ["U1", "U2"]
    assert client.usergroups_users_list(usergroup="S1")["users"] == ["U3"]
    assert client.conversations_open(users="U9")["channel"]["id"] == "DU9"
    assert client.users_info(user="U9")["user"]["is_bot"] is False
    assert client.chat_postEphemeral(channel="C1", user="U1", text="psst")["message_ts"]
    assert client.chat_delete(channel="C1", ts="1.2")["ok"]
    assert client.api_call("reactions.add", params={"name": "eyes"})["ok"]

    with pytest.raises(SlackApiError) as wrong:
        WebClient(token="xoxb-wrong", base_url=slack.base_url).auth_test()
    assert wrong.value.response["error"] == "invalid_auth"
    with pytest.raises(SlackApiError) as bot_token:
        client.apps_connections_open(app_token=BOT_TOKEN)
    assert bot_token.value.response["error"] == "invalid_auth"
    assert [c.error for c in slack.calls if not c.ok] == ["invalid_auth", "invalid_auth"]


def test_timestamps_increase(slack: FakeSlackApi) -> None:
    client = WebClient(token=BOT_TOKEN, base_url=slack.base_url)
    stamps = [client.chat_postMessage(channel="C1", text=str(n))["ts"] for n in range(3)]
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == 3


async def test_async_client_calls_are_recorded(slack: FakeSlackApi) -> None:
    client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.base_url)

    assert (await client.auth_test())["bot_id"] == "BBOT"
    await client.chat_postMessage(channel="C1", text="hello", blocks=BLOCKS)
    await client.conversations_members(channel="C1")  # a GET with a query string

    (call,) = slack.calls_of("chat.postMessage")
    assert call.params == {"channel": "C1", "text": "hello", "blocks": BLOCKS}
    assert call.headers["Authorization"] == f"Bearer {BOT_TOKEN}"
    assert slack.sent("conversations.members") == [{"channel": "C1"}]


async def test_async_client_keeps_the_connection_alive(slack: FakeSlackApi) -> None:
    async with aiohttp.ClientSession() as session:
        client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.base_url, session=session)
        for n in range(5):
            await client.chat_postMessage(channel="C1", text=str(n))
        await client.auth_test()  # params in the query string, empty body
        await client.users_info(user="U1")  # a GET
        assert slack.open_connections == 1
    assert slack.texts() == ["0", "1", "2", "3", "4"]
    assert slack.sent("users.info") == [{"user": "U1"}]


def test_sync_429_is_retried_after_retry_after(slack: FakeSlackApi) -> None:
    client = WebClient(
        token=BOT_TOKEN, base_url=slack.base_url, retry_handlers=[RateLimitErrorRetryHandler()]
    )
    slack.fail_next("chat.postMessage", "429")

    client.chat_postMessage(channel="C1", text="hello")

    limited, retried = [c for c in slack.calls if c.method == "chat.postMessage"]
    assert limited.fault == "429"
    assert retried.ok
    assert retried.at - limited.at >= 1.0
    assert slack.texts() == ["hello"]


async def test_async_429_is_retried_after_retry_after(slack: FakeSlackApi) -> None:
    client = AsyncWebClient(
        token=BOT_TOKEN,
        base_url=slack.base_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler()],
    )
    slack.fail_next("chat.postMessage", "429")

    await client.chat_postMessage(channel="C1", text="hello")

    limited, retried = [c for c in slack.calls if c.method == "chat.postMessage"]
    assert limited.fault == "429"
    assert retried.at - limited.at >= 1.0


def test_429_without_a_retry_handler_is_an_error(slack: FakeSlackApi) -> None:
    slack.fail_next("chat.postMessage", "429")
    with pytest.raises(SlackApiError) as limited:
        WebClient(token=BOT_TOKEN, base_url=slack.base_url).chat_postMessage(channel="C", text="x")
    assert limited.value.response.status_code == 429
    assert limited.value.response["error"] == "ratelimited"
    assert limited.value.response.headers["Retry-After"] == "1"


def test_sync_drop_is_retried_by_the_default_handler(slack: FakeSlackApi) -> None:
    slack.fail_next("chat.postMessage", "drop")

    WebClient(token=BOT_TOKEN, base_url=slack.base_url).chat_postMessage(channel="C1", text="x")

    assert [c.fault for c in slack.calls] == ["drop", ""]


async def test_async_drop_is_retried_by_the_default_handler(slack: FakeSlackApi) -> None:
    slack.fail_next("chat.postMessage", "drop")
    async with aiohttp.ClientSession() as session:
        client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.base_url, session=session)
        await client.auth_test()  # the connection is kept alive, then dropped
        await client.chat_postMessage(channel="C1", text="x")

    assert [c.fault for c in slack.calls] == ["", "drop", ""]
    assert slack.texts() == ["x"]


def test_500_and_slow(slack: FakeSlackApi) -> None:
    client = WebClient(token=BOT_TOKEN, base_url=slack.base_url)
    slack.fail_next("chat.postMessage", "500")
    with pytest.raises(SlackApiError) as failed:
        client.chat_postMessage(channel="C1", text="x")
    assert failed.value.response.status_code == 500

    slack.fail_next("chat.postMessage", "slow")
    start = time.monotonic()
    client.chat_postMessage(channel="C1", text="y")
    assert time.monotonic() - start >= 1.5
    assert slack.texts() == ["y"]


# -- a bolt app over HTTP -----------------------------------------------------------------------


async def test_bolt_answers_a_signed_dm(slack: FakeSlackApi, app: AsyncApp) -> None:
    response = await dispatch(app, encode(dm("hello", user="U7", channel="D7")))

    assert response.status == 200
    await asyncio.to_thread(slack.wait_for, 1)
    assert slack.sent() == [{"channel": "D7", "text": "hi", "team_id": TEAM}]
    assert [c.method for c in slack.calls] == ["auth.test", "chat.postMessage"]


async def test_bolt_threads_a_mention(slack: FakeSlackApi, app: AsyncApp) -> None:
    envelope = mention("what is Lingang?", ts="1700000001.000001")
    assert (await dispatch(app, encode(envelope))).status == 200

    await asyncio.to_thread(slack.wait_for, 1)
    (sent,) = slack.sent()
    assert sent["thread_ts"] == "1700000001.000001"


async def test_bolt_ignores_its_own_messages(slack: FakeSlackApi, app: AsyncApp) -> None:
    assert (await dispatch(app, encode(own_message("hi")))).status == 200
    assert (await dispatch(app, encode(bot_message("beep")))).status == 200
    await asyncio.to_thread(slack.wait_for, 1)
    await asyncio.sleep(0.2)
    assert len(slack.sent()) == 1  # the other bot's message only


async def test_bolt_refuses_a_bad_signature(slack: FakeSlackApi, app: AsyncApp) -> None:
    body = encode(dm("hello"))
    forged = signed_headers(body, secret="f" * 32)
    stale = signed_headers(body, timestamp=int(time.time()) - 600)

    assert (await dispatch(app, body, **forged)).status == 401
    assert (await dispatch(app, body, **stale)).status == 401
    assert slack.calls == []


async def test_bolt_url_verification(app: AsyncApp) -> None:
    response = await dispatch(app, encode(url_verification("c-123")))
    assert response.status == 200
    assert json.loads(response.body) == {"challenge": "c-123"}


async def test_slash_command_respond_reaches_the_response_url(
    slack: FakeSlackApi, app: AsyncApp
) -> None:
    body = slash("/ask", "tax rates", response_url=slack.response_url("cmd"))

    response = await dispatch(app, body)

    assert response.status == 200
    assert response.body == "asked: tax rates"  # a text-only ack() answers plain text
    await asyncio.to_thread(slack.wait_for, 1, "respond")
    (hook,) = slack.sent("respond")
    assert hook["text"] == "x"
    assert hook["_hook"] == "cmd"
    assert slack.calls_of("respond")[0].headers["Content-Type"].startswith("application/json")


async def test_block_action_fields_resolve(slack: FakeSlackApi, app: AsyncApp) -> None:
    body = block_action(
        "pick",
        "lead-42",
        user="U5",
        channel="C5",
        message_ts="1700000000.000777",
        response_url=slack.response_url(),
    )

    assert (await dispatch(app, body)).status == 200

    await asyncio.to_thread(slack.wait_for, 1, "respond")
    (hook,) = slack.sent("respond")
    assert hook["text"] == "lead-42 U5 C5 1700000000.000777"
    assert hook["replace_original"] is False


# -- a bolt app over Socket Mode --------------------------------------------------------------


@pytest.fixture
async def socket_app(slack: FakeSlackApi, app: AsyncApp) -> AsyncIterator[FakeSocketMode]:
    """The app connected to a fake Socket Mode server through the fake Web API."""
    with FakeSocketMode() as socket:
        slack.socket_url = socket.url
        handler = AsyncSocketModeHandler(app, APP_TOKEN)
        await handler.connect_async()
        try:
            socket.wait_connected(timeout=5)
            yield socket
        finally:
            await handler.close_async()


async def test_socket_mode_event_is_acked_and_answered(
    slack: FakeSlackApi, socket_app: FakeSocketMode
) -> None:
    (opened,) = slack.calls_of("apps.connections.open")
    assert opened.headers["Authorization"] == f"Bearer {APP_TOKEN}"
    assert socket_app.received == []  # the client answers nothing to hello

    envelope_id = socket_app.send("events_api", dm("hello", channel="D9"))

    ack = await asyncio.to_thread(socket_app.wait_acked, envelope_id)
    assert ack == {"envelope_id": envelope_id}
    await asyncio.to_thread(slack.wait_for, 1)
    assert slack.sent() == [{"channel": "D9", "text": "hi", "team_id": TEAM}]


async def test_socket_mode_slash_command_ack_carries_the_payload(
    slack: FakeSlackApi, socket_app: FakeSocketMode
) -> None:
    payload = slash_payload("/ask", "visa", response_url=slack.response_url())

    envelope_id = socket_app.send("slash_commands", payload)

    ack = await asyncio.to_thread(socket_app.wait_acked, envelope_id)
    assert ack["payload"] == {"text": "asked: visa"}
    await asyncio.to_thread(slack.wait_for, 1, "respond")


def test_socket_send_needs_a_client() -> None:
    with FakeSocketMode() as socket, pytest.raises(AssertionError, match="no Socket Mode"):
        socket.send("events_api", dm("x"))


async def test_bolt_sees_edits_deletions_and_channel_messages(
    slack: FakeSlackApi, app: AsyncApp
) -> None:
    for envelope in (
        channel_message("hello", channel="C3"),
        edited("new", previous="old", channel="D3"),
        deleted("1700000000.000005", channel="D4"),
    ):
        assert (await dispatch(app, encode(envelope))).status == 200

    await asyncio.to_thread(slack.wait_for, 3)
    assert sorted(p["channel"] for p in slack.sent()) == ["C3", "D3", "D4"]
