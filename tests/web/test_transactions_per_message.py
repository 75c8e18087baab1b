"""An ordinary FAQ message costs two database transactions, on either platform and backend:
its taking-in (before the acknowledgement) and its turn (the conversation, the transcript, the
event log, the replies kept with the delivery, the send slot, the marks of earlier answers).

Counted through the production path: signed Slack events and Telegram webhook updates posted to
the ASGI app, answered through the fakes of both APIs."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select

import bot.web.app as web_app
from bot.app import App, build_app, build_slack, build_telegram
from bot.config import Settings
from bot.web.app import SECRET_HEADER, create_app
from storage.db import Database
from storage.models import ProcessedDeliveryRow
from tests.fakes.slack_api import BOT_TOKEN, SIGNING_SECRET, FakeSlackApi
from tests.fakes.slack_requests import dm, encode, signed_headers
from tests.fakes.telegram_api import SECRET, TOKEN, FakeBotApi, message, user

MESSAGES = 6
QUESTIONS = ["how big is Lingang?", "临港新片区有多大？", "what is the corporate tax rate?"]


class Transactions:
    """Counts the transactions begun on a database."""

    def __init__(self, database: Database) -> None:
        self.count = 0
        event.listen(database.engine, "begin", self._begun)

    def _begun(self, _: Any) -> None:
        self.count += 1

    def settled(self, quiet: float = 0.4, timeout: float = 10.0) -> int:
        """The count once nothing has begun for `quiet` seconds."""
        deadline = time.monotonic() + timeout
        seen, since = self.count, time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - since < quiet:
            time.sleep(0.05)
            if self.count != seen:
                seen, since = self.count, time.monotonic()
        return seen


@pytest.fixture
def slack_api() -> Iterator[FakeSlackApi]:
    with FakeSlackApi() as fake:
        yield fake


@pytest.fixture
def app(
    database: Database, api: FakeBotApi, slack_api: FakeSlackApi, tmp_path: Path
) -> Iterator[App]:
    settings = Settings(
        _env_file=None,
        LINGANG_DATA_DIR=tmp_path,
        LINGANG_DATABASE_URL=database.url.render_as_string(hide_password=False),
        LINGANG_MATCHER="lexical",
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=api.base_url,
        TELEGRAM_WEBHOOK_URL="https://bot.example.com/telegram/webhook",
        TELEGRAM_WEBHOOK_SECRET=SECRET,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack_api.base_url,
        LINGANG_CATALOG_POLL_SECONDS=3600,
    )
    wired = build_app(settings)
    try:
        yield wired
    finally:
        wired.close()


@pytest.fixture
def counted(app: App) -> Transactions:
    return Transactions(app.storage.database)  # before any thread uses the database


@pytest.fixture
def client(
    app: App, counted: Transactions, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    # The background work (outbox, replays, resending, ...) runs once at start, not meanwhile.
    for name in ("OUTBOX_INTERVAL", "RESEND_INTERVAL", "REPLAY_INTERVAL", "INBOX_INTERVAL"):
        monkeypatch.setattr(web_app, name, 3600.0)
    telegram, slack = build_telegram(app), build_slack(app)
    with TestClient(create_app(app, telegram, slack)) as web:
        yield web


def unanswered(app: App) -> int:
    with app.storage.database.transaction() as session:
        query = select(func.count()).where(ProcessedDeliveryRow.answered_at.is_(None))
        return int(session.scalar(query) or 0)


def test_an_faq_message_costs_two_transactions(
    client: TestClient, app: App, counted: Transactions, api: FakeBotApi, slack_api: FakeSlackApi
) -> None:
    before = counted.settled()
    for n in range(MESSAGES):
        question = QUESTIONS[n % len(QUESTIONS)]
        chat = 5000 + n
        update = {"update_id": 900 + n, **message(question, chat=chat, sender=user(chat))}
        posted = client.post("/telegram/webhook", json=update, headers={SECRET_HEADER: SECRET})
        assert posted.status_code == 200
        api.wait_for(n + 1)
        body = encode(dm(question, user=f"U{n:04d}", channel=f"D{n:04d}"))
        posted = client.post("/slack/events", content=body, headers=signed_headers(body))
        assert posted.status_code == 200
        slack_api.wait_for(n + 1)
    spent = counted.settled(quiet=1.5) - before
    # Two each, plus at most one for the marks of the last answers (nothing came after them).
    assert spent <= 2 * 2 * MESSAGES + 2, spent
    assert unanswered(app) == 0, "every delivery is marked answered"


def test_a_web_chat_message_costs_two_transactions(
    client: TestClient, counted: Transactions
) -> None:
    before = counted.settled()
    for n in range(MESSAGES):
        response = client.post("/chat/messages", json={"text": QUESTIONS[n % len(QUESTIONS)]})
        assert response.status_code == 200, response.text
        assert response.json()["replies"]
    # The client's share of the chat budget, then the turn.
    assert counted.settled() - before <= 2 * MESSAGES
