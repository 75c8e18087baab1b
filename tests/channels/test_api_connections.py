"""Replies reuse kept-alive connections to the platforms' APIs (as the real Telegram and Slack
keep them open): no new TCP connection, and no new HTTP session, per message sent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.app import App, build_app, build_slack, build_telegram
from bot.config import Settings
from bot.web.app import SECRET_HEADER, create_app
from tests.fakes.slack_api import BOT_TOKEN, SIGNING_SECRET, FakeSlackApi
from tests.fakes.slack_requests import dm, encode, signed_headers
from tests.fakes.telegram_api import SECRET, TOKEN, FakeBotApi, message

QUESTIONS = 10


@pytest.fixture
def slack_api() -> Iterator[FakeSlackApi]:
    with FakeSlackApi() as fake:
        yield fake


@pytest.fixture
def app(api: FakeBotApi, slack_api: FakeSlackApi, tmp_path: Path) -> Iterator[App]:
    wired = build_app(
        Settings(
            _env_file=None,
            LINGANG_DATA_DIR=tmp_path,
            LINGANG_MATCHER="lexical",
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_BASE_URL=api.base_url,
            TELEGRAM_WEBHOOK_URL="https://bot.example.com/telegram/webhook",
            TELEGRAM_WEBHOOK_SECRET=SECRET,
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=slack_api.base_url,
        )
    )
    try:
        yield wired
    finally:
        wired.close()


def test_slack_calls_share_one_session_and_its_connections(
    app: App, slack_api: FakeSlackApi
) -> None:
    slack = build_slack(app)
    assert slack is not None
    with TestClient(create_app(app, None, slack)) as client:
        for n in range(QUESTIONS):  # one after the other: each answer may reuse a connection
            raw = encode(dm("how big is Lingang?", user=f"U{n:04d}", event_id=f"Ev{n:04d}"))
            assert client.post("/slack/events", content=raw, headers=signed_headers(raw)).is_success
            slack_api.wait_for(n + 1)
        session = slack.client.session
        assert session is not None
        assert slack.app.client.session is session, "bolt's clients share it"
    assert session.closed, "closed when the service stops"
    assert len(slack_api.calls) > QUESTIONS  # auth.test, then the answers
    # One, but for an answer that came before the previous one had given its connection back.
    assert slack_api.opened_connections <= len(slack_api.calls) // 2


def test_telegram_calls_reuse_their_connections(app: App, api: FakeBotApi) -> None:
    telegram = build_telegram(app)
    assert telegram is not None
    with TestClient(create_app(app, telegram)) as client:
        for n in range(QUESTIONS):
            update = {"update_id": n + 1, **message("how big is Lingang?", chat=100 + n)}
            secret = {SECRET_HEADER: SECRET}
            assert client.post("/telegram/webhook", json=update, headers=secret).is_success
            api.wait_for(n + 1)
    assert len(api.calls) > QUESTIONS  # getMe, the command menus, then the answers
    assert api.opened_connections <= len(api.calls) // 2
