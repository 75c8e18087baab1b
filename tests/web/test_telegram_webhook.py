"""`POST /telegram/webhook` through the project's ASGI app, with python-telegram-bot replying
to a fake Bot API on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bot.app import App, build_app, build_telegram
from bot.channels.telegram import TelegramService
from bot.config import Settings
from bot.web.app import SECRET_HEADER, create_app
from storage.db import Database
from tests.chat import sql_stores
from tests.fakes.telegram_api import SECRET, SLOW, TOKEN, FakeBotApi, message

URL = "/telegram/webhook"


@pytest.fixture
def app(api: FakeBotApi, tmp_path: Path) -> Iterator[App]:
    settings = Settings(
        _env_file=None,
        LINGANG_DATA_DIR=tmp_path,
        LINGANG_MATCHER="lexical",  # matching is tested elsewhere
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=api.base_url,
        TELEGRAM_WEBHOOK_URL="https://bot.example.com/telegram/webhook",
        TELEGRAM_WEBHOOK_SECRET=SECRET,
    )
    wired = build_app(settings)
    try:
        yield wired
    finally:
        wired.close()


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    telegram = build_telegram(app)
    assert telegram is not None
    assert telegram.webhook
    with TestClient(create_app(app, telegram)) as web:
        yield web


def delivery(update_id: int, text: str) -> dict[str, Any]:
    return {"update_id": update_id, **message(text)}


def test_the_right_secret_is_acknowledged_once_recorded_then_answered(
    client: TestClient, api: FakeBotApi
) -> None:
    response = client.post(
        URL, json=delivery(1, "how big is Lingang?"), headers={SECRET_HEADER: SECRET}
    )
    assert response.status_code == 200
    api.wait_for(1)
    [text] = api.texts()
    assert "119.5 km²" in text
    assert api.sent("getUpdates") == [], "a webhook bot does not poll"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {SECRET_HEADER: "wrong-secret-0123456789"},
        {SECRET_HEADER: SECRET.upper()},
        {SECRET_HEADER: ""},
    ],
    ids=["missing", "wrong", "case-changed", "empty"],
)
def test_a_wrong_or_missing_secret_is_refused(
    client: TestClient, api: FakeBotApi, app: App, headers: dict[str, str]
) -> None:
    response = client.post(URL, json=delivery(2, "hello"), headers=headers)
    assert response.status_code == 403
    assert api.texts() == []
    assert app.storage.deliveries.first_delivery("telegram", "2"), "nothing was recorded"


def test_a_redelivery_is_acknowledged_but_answered_once(
    client: TestClient, api: FakeBotApi
) -> None:
    for _ in range(3):
        response = client.post(URL, json=delivery(3, "hello"), headers={SECRET_HEADER: SECRET})
        assert response.status_code == 200
    api.wait_for(1)
    client.post(URL, json=delivery(30, "thanks"), headers={SECRET_HEADER: SECRET})
    api.wait_for(2)  # answered in order after the first: no second answer to update 3 came
    assert len(api.texts()) == 2


def test_a_slow_answer_does_not_hold_up_the_acknowledgement(
    client: TestClient, api: FakeBotApi
) -> None:
    api.fail_next("sendMessage", "slow")
    started = time.monotonic()
    response = client.post(URL, json=delivery(6, "hello"), headers={SECRET_HEADER: SECRET})
    assert response.status_code == 200
    assert time.monotonic() - started < SLOW, "acknowledged before the reply went out"
    api.wait_for(1)


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"no": "update id"}'])
def test_a_malformed_body_is_a_client_error(
    client: TestClient, api: FakeBotApi, body: bytes
) -> None:
    response = client.post(URL, content=body, headers={SECRET_HEADER: SECRET})
    assert response.status_code == 400
    assert api.texts() == []


def test_while_the_database_is_down_updates_are_answered_once_all_the_same(
    app: App, api: FakeBotApi
) -> None:
    down = Database("postgresql+psycopg://postgres@127.0.0.1:1/unreachable")
    try:
        stranded = TelegramService(
            sql_stores(down).engine(app.knowledge),
            app.knowledge,
            app.storage.outgoing,
            token=TOKEN,
            base_url=api.base_url,
            webhook=True,
        )
        with TestClient(create_app(app, stranded)) as cut_off:
            # Telegram retries what it thinks failed; a retry to this process is not answered
            # again, though the database could not record the first delivery.
            for _ in range(2):
                question = delivery(4, "how big is Lingang?")
                response = cut_off.post(URL, json=question, headers={SECRET_HEADER: SECRET})
                assert response.status_code == 200
            api.wait_for(1)
            [answer] = api.texts()
            assert "119.5 km²" in answer, "FAQ answers need no database"
            form_answer = delivery(5, "ann@acme.de")
            response = cut_off.post(URL, json=form_answer, headers={SECRET_HEADER: SECRET})
            assert response.status_code == 200
            api.wait_for(2)
            assert "couldn't" in api.texts()[-1], "the prospect is told it was not saved"
        assert len(api.texts()) == 2
    finally:
        down.dispose()


def test_polling_serves_no_webhook_route(app: App) -> None:
    polling = TelegramService(
        app.engine,
        app.knowledge,
        app.storage.outgoing,
        token=TOKEN,
        base_url=app.settings.telegram_api_base_url,
        webhook=False,
    )
    web = create_app(app, polling)
    with TestClient(web) as unstarted_client:
        assert unstarted_client.post(URL, json=delivery(5, "hi")).status_code == 404


def test_two_processes_on_one_database_answer_a_redelivery_once(
    app: App, api: FakeBotApi, client: TestClient
) -> None:
    second = build_app(app.settings)  # its own engine and connections, the same database
    try:
        other = build_telegram(second)
        assert other is not None
        with TestClient(create_app(second, other)) as replica:
            for web in (client, replica, client, replica):
                response = web.post(URL, json=delivery(6, "hello"), headers={SECRET_HEADER: SECRET})
                assert response.status_code == 200
    finally:
        second.close()
    api.wait_for(1)
    time.sleep(0.3)  # time for a second answer, were there one
    assert len(api.texts()) == 1
