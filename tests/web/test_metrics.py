"""`GET /metrics` through the ASGI app: messages and outcomes by channel, the engine's time,
leads by stage and the outbox read from the database (or `lingang_database_up 0` while it is
down), and failed Telegram and Slack API calls."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from bot.app import App, build_app, build_slack, build_telegram
from bot.config import Settings
from bot.web.app import SECRET_HEADER, create_app
from storage.db import Database
from tests.fakes.slack_api import BOT_TOKEN, SIGNING_SECRET, FakeSlackApi
from tests.fakes.slack_requests import dm, encode, signed_headers
from tests.fakes.telegram_api import SECRET, TOKEN, FakeBotApi, message
from tests.web.conftest import BASE_URL
from tests.web.test_chat import press, say

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
SALES = "C0SALES"


def scrape(client: TestClient) -> Samples:
    """Every sample `/metrics` exposes, by name and labels (no login: it is public like the
    health checks; the proxy keeps it on the internal network)."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value; 0 when the series has not been exposed yet."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def names(samples: Samples) -> set[str]:
    return {name for name, _ in samples}


def complete_a_lead(client: TestClient) -> None:
    """The lead form, from the first question to the confirmation, in the web chat."""
    shown = press(client, say(client, "I want to talk to a consultant"), "agree")
    for answer in ("Mia Example", "Example Labs", "mia@example.org", "Germany"):
        shown = say(client, answer)
    for button in ("skip", "IC industry", "3 months"):
        shown = press(client, shown, button)
    press(client, say(client, "A design centre."), "confirm")


def test_web_chat_messages_are_counted_by_outcome_and_timed(site: TestClient) -> None:
    say(site, "where is Lingang?")
    say(site, "zxqv plorb wubbity")
    say(site, "/help")
    samples = scrape(site)
    assert value(samples, "lingang_messages_total", channel="web") == 3
    assert value(samples, "lingang_answers_total", channel="web", outcome="match") == 1
    assert value(samples, "lingang_answers_total", channel="web", outcome="fallback") == 1
    assert value(samples, "lingang_answers_total", channel="web", outcome="command") == 1
    assert value(samples, "lingang_handling_seconds_count", channel="web") == 3
    assert value(samples, "lingang_handling_seconds_sum", channel="web") > 0
    assert value(samples, "lingang_handling_seconds_bucket", channel="web", le="+Inf") == 3


def test_each_app_counts_on_its_own(site: TestClient, tmp_path: Path) -> None:
    say(site, "where is Lingang?")
    other = build_app(
        Settings(_env_file=None, LINGANG_DATA_DIR=tmp_path / "other", LINGANG_MATCHER="lexical")
    )
    try:
        samples = scrape(TestClient(create_app(other), base_url=BASE_URL))
        assert value(samples, "lingang_messages_total", channel="web") == 0
    finally:
        other.close()


def test_leads_by_stage_and_the_outbox_are_read_from_the_database(
    database: Database, tmp_path: Path
) -> None:
    url = database.url.render_as_string(hide_password=False)
    app = build_app(
        Settings(
            _env_file=None,
            LINGANG_DATA_DIR=tmp_path,
            LINGANG_DATABASE_URL=url,
            LINGANG_MATCHER="lexical",
        )
    )
    try:
        # No lifespan: the outbox relay does not run, so the notification waits.
        client = TestClient(create_app(app), base_url=BASE_URL)
        complete_a_lead(client)
        samples = scrape(client)
    finally:
        app.close()
    assert value(samples, "lingang_database_up") == 1
    assert value(samples, "lingang_leads", status="new") == 1
    for status in ("contacted", "qualified", "won", "lost"):
        assert ("lingang_leads", frozenset({("status", status)})) in samples
        assert value(samples, "lingang_leads", status=status) == 0
    assert value(samples, "lingang_outbox_depth") == 1
    assert value(samples, "lingang_answers_total", channel="web", outcome="form") >= 6


def test_with_the_database_down_metrics_answer_without_its_figures(tmp_path: Path) -> None:
    app = build_app(Settings(_env_file=None, LINGANG_DATA_DIR=tmp_path, LINGANG_MATCHER="lexical"))
    try:
        client = TestClient(create_app(app), base_url=BASE_URL)
        # The database file becomes unopenable: every new connection fails.
        app.storage.database.dispose()
        (tmp_path / "lingang.db").unlink()
        (tmp_path / "lingang.db").mkdir()
        assert "Pudong" in str(say(client, "where is Lingang?"))
        samples = scrape(client)
    finally:
        app.close()
    assert value(samples, "lingang_database_up") == 0
    assert "lingang_leads" not in names(samples)
    assert "lingang_outbox_depth" not in names(samples)
    assert value(samples, "lingang_answers_total", channel="web", outcome="match") == 1


# -- platform API errors ------------------------------------------------------------------------


@pytest.fixture
def telegram_app(api: FakeBotApi, tmp_path: Path) -> Iterator[App]:
    settings = Settings(
        _env_file=None,
        LINGANG_DATA_DIR=tmp_path,
        LINGANG_MATCHER="lexical",
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


def test_failed_telegram_calls_are_counted_by_reason(telegram_app: App, api: FakeBotApi) -> None:
    telegram = build_telegram(telegram_app)
    assert telegram is not None
    with TestClient(create_app(telegram_app, telegram)) as client:
        api.fail_next("sendMessage", "500")
        api.fail_next("sendMessage", "drop")
        update = {"update_id": 7, **message("how big is Lingang?")}
        response = client.post("/telegram/webhook", json=update, headers={SECRET_HEADER: SECRET})
        assert response.status_code == 200
        api.wait_for(1)  # the third attempt went through
        samples = scrape(client)
    errors = "lingang_platform_api_errors_total"
    assert value(samples, errors, platform="telegram", reason="server_error") == 1
    assert value(samples, errors, platform="telegram", reason="network") == 1
    assert value(samples, "lingang_messages_total", channel="telegram") == 1


@pytest.fixture
def slack_api() -> Iterator[FakeSlackApi]:
    with FakeSlackApi() as fake:
        yield fake


@pytest.fixture
def slack_app(slack_api: FakeSlackApi, tmp_path: Path) -> Iterator[App]:
    settings = Settings(
        _env_file=None,
        LINGANG_DATA_DIR=tmp_path,
        LINGANG_MATCHER="lexical",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack_api.base_url,
        SLACK_SALES_CHANNEL=SALES,
    )
    wired = build_app(settings)
    try:
        yield wired
    finally:
        wired.close()


def test_a_failed_slack_reply_is_counted(slack_app: App, slack_api: FakeSlackApi) -> None:
    slack = build_slack(slack_app)
    assert slack is not None
    with TestClient(create_app(slack_app, None, slack)) as client:
        slack_api.fail_next("chat.postMessage", "500")
        raw = encode(dm("where is Lingang?"))
        headers = signed_headers(raw, content_type="application/json")
        assert client.post("/slack/events", content=raw, headers=headers).status_code == 200
        errors = "lingang_platform_api_errors_total"
        deadline = time.monotonic() + 10
        while value(scrape(client), errors, platform="slack", reason="server_error") < 1:
            assert time.monotonic() < deadline, "the failed reply was not counted"
            time.sleep(0.05)


def test_a_failed_sales_notification_is_counted(slack_app: App, slack_api: FakeSlackApi) -> None:
    client = TestClient(create_app(slack_app), base_url=BASE_URL)  # no lifespan: no relay
    complete_a_lead(client)
    slack_api.fail_next("chat.postMessage", "500")
    assert slack_app.relay.run_once() == 0
    samples = scrape(client)
    errors = "lingang_platform_api_errors_total"
    assert value(samples, errors, platform="slack", reason="server_error") == 1
    assert value(samples, "lingang_outbox_depth") == 1  # kept for the next attempt
