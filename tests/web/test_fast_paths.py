"""The platforms' routes served ahead of FastAPI (bot.web.fast_paths): no FastAPI stack on the
way, and the same edge as every other route: request id, security headers, body limits, 405
for another method, 503 while the database is down, 500 for a crash."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from starlette.types import Message

from bot.app import App, build_app, build_slack, build_telegram
from bot.channels.telegram import TelegramService
from bot.config import Settings
from bot.core.ports import OutOfRange, StorageUnavailable
from bot.web.app import SECRET_HEADER, create_app
from bot.web.headers import SECURITY_HEADERS
from bot.web.request_ids import HEADER
from tests.fakes.slack_api import BOT_TOKEN, SIGNING_SECRET, FakeSlackApi
from tests.fakes.slack_requests import dm, encode, signed_headers
from tests.fakes.telegram_api import SECRET, TOKEN, FakeBotApi, message

URL = "/telegram/webhook"
UPDATE = {"update_id": 1, **message("how big is Lingang?")}
Receiver = Callable[[dict[str, Any]], Awaitable[int]]


@pytest.fixture
def app(api: FakeBotApi, tmp_path: Path) -> Iterator[App]:
    wired = build_app(
        Settings(
            _env_file=None,
            LINGANG_DATA_DIR=tmp_path,
            LINGANG_MATCHER="lexical",
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_BASE_URL=api.base_url,
            TELEGRAM_WEBHOOK_URL="https://bot.example.com/telegram/webhook",
            TELEGRAM_WEBHOOK_SECRET=SECRET,
        )
    )
    try:
        yield wired
    finally:
        wired.close()


def telegram_with(app: App, receive: Receiver) -> TelegramService:
    """The webhook's Telegram service, whose updates go to `receive` (the services' own
    handling is tested with each channel)."""
    telegram = build_telegram(app)
    assert telegram is not None
    telegram.receive_webhook = receive  # type: ignore[method-assign]
    return telegram


def answering(status: int) -> Receiver:
    async def receive(_: dict[str, Any]) -> int:
        return status

    return receive


def raising(error: Exception) -> Receiver:
    async def receive(_: dict[str, Any]) -> int:
        raise error

    return receive


def scope_of(method: str, path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1:8000"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


def asgi_call(web: FastAPI, scope: dict[str, Any], messages: list[Message]) -> list[Message]:
    """Hand `messages` to the app as its receive channel; what it sent."""
    sent: list[Message] = []
    waiting = list(messages)

    async def receive() -> Message:
        return waiting.pop(0) if waiting else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(web(scope, receive, send))
    return sent


def test_a_webhook_post_never_builds_fastapis_stack(app: App) -> None:
    web = create_app(app, telegram_with(app, answering(200)))
    headers = [(SECRET_HEADER.lower().encode(), SECRET.encode())]
    body = {"type": "http.request", "body": b'{"update_id": 1}', "more_body": False}
    sent = asgi_call(web, scope_of("POST", URL, headers), [body])
    assert sent[0]["status"] == 200
    assert web.middleware_stack is None, "the request went through FastAPI"
    sent = asgi_call(web, scope_of("GET", "/healthz", []), [])
    assert sent[0]["status"] == 200
    assert web.middleware_stack is not None, "other routes are FastAPI's"


def test_the_webhook_has_the_edge_of_every_route(app: App) -> None:
    with TestClient(create_app(app, telegram_with(app, answering(200)))) as client:
        answers = [
            client.post(URL, json=UPDATE, headers={SECRET_HEADER: SECRET, HEADER: "req-42"}),
            client.post(URL, json=UPDATE, headers={SECRET_HEADER: "wrong", HEADER: "req-43"}),
            client.post(URL, content=b"[1]", headers={SECRET_HEADER: SECRET, HEADER: "req-44"}),
            client.get(URL, headers={HEADER: "req-45"}),
            client.post(URL, content=b"{" * (1024 * 1024 + 1), headers={HEADER: "req-46"}),
        ]
    assert [a.status_code for a in answers] == [200, 403, 400, 405, 413]
    assert [a.headers[HEADER] for a in answers] == [f"req-{n}" for n in range(42, 47)]
    for answer in answers:
        for name, value in SECURITY_HEADERS.items():
            assert answer.headers[name] == value
    assert answers[3].headers["allow"] == "POST"


def test_a_database_outage_is_a_503_and_a_value_out_of_range_a_400(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    down = create_app(app, telegram_with(app, raising(StorageUnavailable("down"))))
    with TestClient(down) as client:
        response = client.post(URL, json=UPDATE, headers={SECRET_HEADER: SECRET})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "30"
    assert "unavailable" in response.json()["detail"]
    assert "database unavailable" in caplog.text
    wrong = create_app(app, telegram_with(app, raising(OutOfRange("id"))))
    with TestClient(wrong) as client:
        response = client.post(URL, json=UPDATE, headers={SECRET_HEADER: SECRET})
    assert response.status_code == 400
    assert response.headers["x-frame-options"] == "DENY"


def test_a_crash_is_a_500_with_the_headers_and_still_raised(app: App) -> None:
    broken = create_app(app, telegram_with(app, raising(RuntimeError("a bug"))))
    with TestClient(broken, raise_server_exceptions=False) as client:
        response = client.post(URL, json=UPDATE, headers={SECRET_HEADER: SECRET})
    assert response.status_code == 500
    assert response.text == "Internal Server Error"
    assert response.headers["x-content-type-options"] == "nosniff"
    with TestClient(broken) as client, pytest.raises(RuntimeError, match="a bug"):
        client.post(URL, json=UPDATE, headers={SECRET_HEADER: SECRET})


def test_a_client_gone_before_its_body_arrived_gets_no_answer(app: App) -> None:
    web = create_app(app, telegram_with(app, answering(200)))
    headers = [(SECRET_HEADER.lower().encode(), SECRET.encode())]
    first = {"type": "http.request", "body": b'{"update', "more_body": True}
    assert asgi_call(web, scope_of("POST", URL, headers), [first]) == []


def test_only_requests_signed_by_slack_reach_bolt(tmp_path: Path) -> None:
    """bolt's own signature check is off (bot.channels.slack): this route's is the only one."""
    with FakeSlackApi() as slack_api:
        wired = build_app(
            Settings(
                _env_file=None,
                LINGANG_DATA_DIR=tmp_path,
                LINGANG_MATCHER="lexical",
                SLACK_BOT_TOKEN=BOT_TOKEN,
                SLACK_SIGNING_SECRET=SIGNING_SECRET,
                SLACK_API_URL=slack_api.base_url,
            )
        )
        try:
            slack = build_slack(wired)
            assert slack is not None
            dispatched: list[AsyncBoltRequest] = []

            async def dispatch(request: AsyncBoltRequest) -> BoltResponse:
                dispatched.append(request)
                return BoltResponse(status=200, body="")

            slack.app.async_dispatch = dispatch  # type: ignore[method-assign]
            raw = encode(dm("hello", event_id="Ev0FAST01"))
            with TestClient(create_app(wired, None, slack)) as client:
                forged = signed_headers(raw, secret="f" * 32)
                assert client.post("/slack/events", content=raw, headers=forged).status_code == 401
                assert dispatched == []
                signed = signed_headers(raw)
                assert client.post("/slack/events", content=raw, headers=signed).is_success
            assert [request.body["event_id"] for request in dispatched] == ["Ev0FAST01"]
        finally:
            wired.close()
