"""A whole site for handoff tests: the ASGI app (its lifespan running the relay loop), Telegram
by webhook against the fake Bot API, Slack over HTTP against the fake Web API, the sales
channel with one consultant; office hours always open or always closed."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from bot.adapters.slack_handoff import CLOSE, TAKE
from bot.app import App, build_app, build_handoff_relay, build_slack, build_telegram
from bot.channels.slack import SlackService
from bot.channels.telegram import TelegramService
from bot.config import Settings
from bot.core.handoff import HandoffDesk
from bot.web import app as web_app
from bot.web.app import SECRET_HEADER, create_app
from tests.chat import copy_catalog
from tests.fakes.slack_api import BOT_TOKEN, SIGNING_SECRET, FakeSlackApi
from tests.fakes.slack_requests import (
    FORM,
    block_action,
    channel_message,
    encode,
    signed_headers,
)
from tests.fakes.telegram_api import SECRET, TOKEN, FakeBotApi

SALES = "C0SALES"
REP = "U0SELL"
OTHER_REP = "U0OTHER"
REP_NAME = "Mei Chen"
PROSPECT_CHAT = 777
HOURS = '''    timezone: Asia/Shanghai
    days: [mon, tue, wed, thu, fri]
    opens: "09:00"
    closes: "18:00"'''
ALWAYS = '''    timezone: UTC
    days: [mon, tue, wed, thu, fri, sat, sun]
    opens: "00:00"
    closes: "23:59:59"'''
NEVER = '''    timezone: UTC
    days: [mon, tue, wed, thu, fri, sat, sun]
    opens: "00:00"
    closes: "00:00:01"'''


def catalog_with_hours(folder: Path, *, open_: bool) -> Path:
    """The packaged catalog with office hours always open (or never)."""
    directory = copy_catalog(folder)
    settings = directory / "catalog.yaml"
    text = settings.read_text(encoding="utf-8")
    assert HOURS in text
    settings.write_text(text.replace(HOURS, ALWAYS if open_ else NEVER), encoding="utf-8")
    return directory


def settings_for(
    data: Path, catalog: Path, tg: FakeBotApi, sl: FakeSlackApi, database: str | None = None
) -> Settings:
    """Telegram by webhook, Slack by HTTP, a sales channel."""
    return Settings(
        _env_file=None,
        LINGANG_DATA_DIR=data,
        LINGANG_MATCHER="lexical",
        LINGANG_INTENTS_DIR=catalog,
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=tg.base_url,
        TELEGRAM_WEBHOOK_URL="https://bot.example.com/telegram/webhook",
        TELEGRAM_WEBHOOK_SECRET=SECRET,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=sl.base_url,
        SLACK_SALES_CHANNEL=SALES,
        LINGANG_DATABASE_URL=SecretStr(database) if database else None,
    )


def wait_until(condition: Callable[[], Any], timeout: float = 15.0, what: str = "") -> Any:
    """Poll `condition` until it is truthy; its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.05)


@dataclass
class Site:
    """One replica of the site and the fakes it talks to."""

    app: App
    client: TestClient
    telegram: FakeBotApi
    slack: FakeSlackApi
    services: tuple[TelegramService | None, SlackService | None] = (None, None)
    updates: int = 5000

    # -- the prospect on Telegram ------------------------------------------------------

    def prospect_says(self, text: str, chat: int = PROSPECT_CHAT) -> None:
        """A Telegram message from the prospect, by webhook."""
        from tests.fakes.telegram_api import message  # noqa: PLC0415

        self.updates += 1
        update = {"update_id": self.updates, **message(text, chat)}
        response = self.client.post(
            "/telegram/webhook", json=update, headers={SECRET_HEADER: SECRET}
        )
        assert response.status_code == 200

    def prospect_presses(self, payload: str, chat: int = PROSPECT_CHAT) -> None:
        """A button press of the prospect on Telegram, by webhook."""
        from tests.fakes.telegram_api import press  # noqa: PLC0415

        self.updates += 1
        update = {"update_id": self.updates, **press(payload, chat)}
        response = self.client.post(
            "/telegram/webhook", json=update, headers={SECRET_HEADER: SECRET}
        )
        assert response.status_code == 200

    def telegram_texts(self, chat: int = PROSPECT_CHAT) -> list[str]:
        """What the bot sent to the chat so far."""
        return [str(p["text"]) for p in self.telegram.sent() if p.get("chat_id") == str(chat)]

    def telegram_wait(self, words: str, chat: int = PROSPECT_CHAT) -> str:
        """The first message to the chat containing `words` (waiting for it)."""
        return str(
            wait_until(
                lambda: next((t for t in self.telegram_texts(chat) if words in t), None),
                what=f"telegram {words!r}",
            )
        )

    # -- the sales channel ---------------------------------------------------------------

    def thread_posts(self, ts: str | None = None) -> list[dict[str, Any]]:
        """Posts in the sales channel: top-level ones, or the replies in thread `ts`."""
        return [
            p for p in self.slack.sent() if p.get("channel") == SALES and p.get("thread_ts") == ts
        ]

    def opening(self) -> tuple[str, dict[str, Any]]:
        """The newest handoff thread's first post (waiting for it): its ts and the message."""

        def find() -> tuple[str, dict[str, Any]] | None:
            found = [
                (ts, m)
                for (channel, ts), m in list(self.slack.messages.items())
                if channel == SALES and "thread_ts" not in m and _has(m, TAKE, CLOSE)
            ]
            return found[-1] if found else None

        return wait_until(find, what="the thread's first post")  # type: ignore[no-any-return]

    def thread_wait(self, ts: str, words: str) -> dict[str, Any]:
        """The first reply in thread `ts` containing `words` (waiting for it)."""
        return wait_until(  # type: ignore[no-any-return]
            lambda: next((p for p in self.thread_posts(ts) if words in str(p["text"])), None),
            what=f"thread {words!r}",
        )

    def slack_post(self, body: dict[str, Any] | bytes) -> None:
        raw = encode(body) if isinstance(body, dict) else body
        kind = "application/json" if isinstance(body, dict) else FORM
        response = self.client.post(
            "/slack/events", content=raw, headers=signed_headers(raw, content_type=kind)
        )
        assert response.status_code == 200, response.text

    def press(
        self, action_id: str, ts: str, user: str = REP, shown: dict[str, Any] | None = None
    ) -> None:
        """A consultant presses a button on the thread's first post (as it is now, or as
        `shown` on a screen that was not updated yet)."""
        message = shown or self.slack.message(SALES, ts)
        assert message is not None
        value = next(
            e["value"]
            for b in message["blocks"]
            for e in b.get("elements", [])
            if e.get("action_id") == action_id
        )
        self.slack_post(block_action(action_id, value, user, SALES, message_ts=ts, message=message))

    def rep_says(self, ts: str, text: str, user: str = REP) -> None:
        """A message in the thread."""
        self.slack_post(channel_message(text, user, SALES, thread_ts=ts))

    def desk_at(self, at: datetime) -> HandoffDesk:
        """The handoff desk with its clock at `at` (the timers)."""
        storage = self.app.storage
        return HandoffDesk(storage.handoffs, storage.events, lambda: at, storage.questions)

    def sweep_at(self, at: datetime) -> int:
        """The timers as at `at`, and what they queued delivered as at `at` (in the app's
        event loop, where its platform clients live); how many handoffs were closed."""
        closed = self.desk_at(at).sweep(self.app.knowledge.current.catalog)
        relay = build_handoff_relay(self.app, *self.services, clock=lambda: at)
        assert relay is not None
        portal = self.client.portal
        assert portal is not None
        for _ in range(3):
            portal.call(relay.run_once)
        return closed


def _has(message: dict[str, Any], *action_ids: str) -> bool:
    ids = {e.get("action_id") for b in message.get("blocks", []) for e in b.get("elements", [])}
    return any(a in ids for a in action_ids) or any(
        b.get("block_id") == "handoff-status" for b in message.get("blocks", [])
    )


@contextmanager
def running_site(settings: Settings, tg: FakeBotApi, sl: FakeSlackApi) -> Iterator[Site]:
    """The app over `settings`, lifespan and all; the relay loop ticks fast."""
    app = build_app(settings)
    try:
        telegram, slack = build_telegram(app), build_slack(app)
        # On 127.0.0.1 the web chat's cookie is not Secure-only, so the client sends it back.
        web = create_app(app, telegram, slack)
        with TestClient(web, base_url="http://127.0.0.1:8000") as client:
            yield Site(app, client, tg, sl, (telegram, slack))
    finally:
        app.close()


@pytest.fixture
def fast_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """The relay loop every 0.1 s instead of every 2 s."""
    monkeypatch.setattr(web_app, "HANDOFF_INTERVAL", 0.1)


@pytest.fixture
def fakes() -> Iterator[tuple[FakeBotApi, FakeSlackApi]]:
    """Telegram's and Slack's APIs; the consultants in the sales channel."""
    with FakeBotApi() as tg, FakeSlackApi() as sl:
        sl.members[SALES] = [REP, OTHER_REP, "UBOT"]
        sl.users[REP] = {"profile": {"display_name": REP_NAME}}
        yield tg, sl
