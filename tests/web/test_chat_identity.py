"""The web chat's identity and limits through the ASGI app: only cookies the server signed
open a conversation, what is stored and shown is a pseudonym, `Secure` follows the scheme
(behind a proxy, its header), bad JSON is a 400, and the per-client budget holds for every
replica together."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from bot.app import App, build_app
from bot.config import Settings
from bot.core.records import LeadFilter
from bot.web.app import create_app
from bot.web.chat import COOKIE, ChatAllowance
from bot.web.chat_identity import pseudonym
from storage.db import Database
from storage.models import RateBudgetRow, TranscriptMessageRow
from storage.ratebudget import SqlRateBudget
from tests.web.conftest import BASE_URL, staff_client
from tests.web.test_api import bearer, make_token
from tests.web.test_chat import say, stored_messages, text_of
from tests.web.test_metrics import complete_a_lead

QUESTION = "where is Lingang?"


def pseudonym_of(client: TestClient) -> str:
    """The pseudonym behind the browser's cookie (`<id>.<signature>`)."""
    return pseudonym(client.cookies[COOKIE].split(".")[0])


def stored_conversations(app: App) -> set[str]:
    """The web conversations the transcripts hold."""
    with app.storage.database.transaction() as session:
        rows = session.scalars(
            select(TranscriptMessageRow.conversation_id).where(
                TranscriptMessageRow.channel == "web"
            )
        )
        return set(rows)


@contextmanager
def wired(data: Path, **settings: Any) -> Iterator[App]:
    """A wired app over the data folder `data` (its SQLite file unless a database URL is
    given), the lexical matcher."""
    app = build_app(
        Settings(_env_file=None, LINGANG_DATA_DIR=data, LINGANG_MATCHER="lexical", **settings)
    )
    try:
        yield app
    finally:
        app.close()


# -- only what the server issued -------------------------------------------------------------


def signed_elsewhere(tmp_path: Path) -> str:
    """A cookie that another deployment (another key) issued."""
    with (
        wired(tmp_path / "elsewhere") as other,
        TestClient(create_app(other), base_url=BASE_URL) as c,
    ):
        say(c, QUESTION)
        return c.cookies[COOKIE]


@pytest.mark.parametrize(
    "forged",
    ["chosen-by-the-client-" + "x" * 20, "A" * 32 + "." + "B" * 43, "elsewhere"],
    ids=["unsigned", "bad-signature", "other-key"],
)
def test_a_cookie_the_server_did_not_issue_starts_a_new_conversation(
    site: TestClient, site_app: App, tmp_path: Path, forged: str
) -> None:
    value = signed_elsewhere(tmp_path) if forged == "elsewhere" else forged
    site.cookies.set(COOKIE, value)
    response = site.post("/chat/messages", json={"text": QUESTION})
    assert response.status_code == 200
    assert "Pudong" in text_of(response.json()["replies"])
    issued = response.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    assert issued != value
    [stored] = stored_conversations(site_app)
    assert stored == pseudonym(issued.split(".")[0])
    assert value not in stored
    assert pseudonym(value.split(".")[0]) != stored


def test_nobody_reads_a_conversation_by_its_stored_id(site: TestClient, site_app: App) -> None:
    say(site, QUESTION)
    [stored] = stored_conversations(site_app)  # what an export or the API shows
    assert site.get("/chat/history").json()["messages"] != []
    intruder = TestClient(site.app, base_url=BASE_URL)
    for planted in (stored, site.cookies[COOKIE].split(".")[0]):
        intruder.cookies.set(COOKIE, planted)
        assert intruder.get("/chat/history").json() == {"messages": []}
        assert intruder.get("/chat/relayed").json() == {"messages": [], "count": 0}


def test_exports_the_api_and_the_lead_page_show_the_pseudonym_never_the_cookie(
    site: TestClient, site_app: App
) -> None:
    complete_a_lead(site)
    cookie = site.cookies[COOKIE]
    browser_id, shown = cookie.split(".")[0], pseudonym_of(site)
    [lead] = site_app.storage.leads.find(LeadFilter())
    assert (lead.user_id, lead.conversation_id) == (shown, shown)
    _, secret = make_token(site_app)
    api = site.get(f"/api/leads/{lead.id}", headers=bearer(secret)).json()
    assert (api["user_id"], api["conversation_id"]) == (shown, shown)
    staff_client(site_app, site, "sales")
    for page in (site.get("/leads/export.csv"), site.get(f"/leads/{lead.id}")):
        assert page.status_code == 200
        assert shown in page.text
        assert browser_id not in page.text


# -- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"[" * 32_000, b'{"text": ' + b"[" * 30_000])
def test_json_nested_too_deeply_is_a_400_not_a_500(
    site: TestClient, site_app: App, body: bytes
) -> None:
    response = site.post(
        "/chat/messages", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["detail"]
    assert stored_messages(site_app) == 0


def test_the_longest_message_id_is_answered_once_on_postgresql(
    postgres_url: str, tmp_path: Path
) -> None:
    with (
        wired(tmp_path, LINGANG_DATABASE_URL=postgres_url) as app,
        TestClient(create_app(app), base_url=BASE_URL) as client,
    ):
        message = {"text": QUESTION, "id": "m" * 64}
        first = client.post("/chat/messages", json=message)
        assert first.status_code == 200
        assert "Pudong" in text_of(first.json()["replies"])
        assert client.post("/chat/messages", json=message).json() == {"replies": []}


# -- Secure from the scheme ------------------------------------------------------------------


def behind_a_proxy(app: App) -> TestClient:
    """The app as `serve` runs it: uvicorn's proxy headers trusted (here from any address),
    reached over plain http from the proxy."""
    proxied: Any = ProxyHeadersMiddleware(cast(Any, create_app(app)), trusted_hosts="*")
    return TestClient(proxied, base_url="http://127.0.0.1:8000")


def test_secure_follows_the_proxys_scheme_not_the_host_header(site_app: App) -> None:
    client = behind_a_proxy(site_app)
    # nginx's default `proxy_pass http://127.0.0.1:8000` rewrites Host to the loopback
    https = client.post(
        "/chat/messages",
        json={"text": QUESTION},
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"},
    )
    cookie = https.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    assert "secure" in cookie.lower()
    plain = behind_a_proxy(site_app).post(
        "/chat/messages", json={"text": QUESTION}, headers={"Host": "chat.example.com"}
    )
    assert plain.headers["set-cookie"].startswith("lingang_chat=")
    assert "secure" not in plain.headers["set-cookie"].lower()


def test_the_setting_makes_cookies_secure_whatever_the_scheme(tmp_path: Path) -> None:
    with wired(tmp_path, LINGANG_SECURE_COOKIES=True) as app:
        response = behind_a_proxy(app).post("/chat/messages", json={"text": QUESTION})
    assert response.headers["set-cookie"].startswith(f"{COOKIE}=")
    assert "secure" in response.headers["set-cookie"].lower()


# -- one budget for every replica ------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_replicas_together_take_only_the_budget(
    request: pytest.FixtureRequest, tmp_path: Path, backend: str
) -> None:
    url = (
        {}
        if backend == "sqlite"
        else {"LINGANG_DATABASE_URL": request.getfixturevalue("postgres_url")}
    )
    if backend == "postgresql":  # a fresh budget for this client on the shared test database
        shared = Database(url["LINGANG_DATABASE_URL"])
        with shared.transaction() as session:
            session.execute(delete(RateBudgetRow).where(RateBudgetRow.key.startswith("web:")))
        shared.dispose()
    with ExitStack() as stack:
        clients = [
            stack.enter_context(
                TestClient(
                    create_app(
                        stack.enter_context(wired(tmp_path, LINGANG_WEB_CHAT_PER_MINUTE=3, **url))
                    ),
                    base_url=BASE_URL,
                )
            )
            for _ in range(2)
        ]
        statuses = [
            clients[i % 2].post("/chat/messages", json={"text": QUESTION}).status_code
            for i in range(6)
        ]
    assert sorted(statuses) == [200, 200, 200, 429, 429, 429]


def test_addresses_of_one_ipv6_64_share_a_budget(tmp_path: Path) -> None:
    with wired(tmp_path, LINGANG_WEB_CHAT_PER_MINUTE=2) as app:
        client = behind_a_proxy(app)

        def send(address: str) -> int:
            headers = {"X-Forwarded-For": address, "X-Forwarded-Proto": "https"}
            return client.post(
                "/chat/messages", json={"text": QUESTION}, headers=headers
            ).status_code

        assert [send(f"2001:db8:1:2::{n}") for n in (1, 2, 3)] == [200, 200, 429]
        assert send("2001:db8:1:3::1") == 200  # another /64
        assert [send("192.0.2.1"), send("192.0.2.1"), send("192.0.2.2")] == [200, 200, 200]


def test_an_unreachable_database_falls_back_to_this_processes_window() -> None:
    down = Database("postgresql+psycopg://postgres@127.0.0.1:1/nothing")
    try:
        allowance = ChatAllowance(2, SqlRateBudget(down, "web"))
        assert [allowance.take("192.0.2.1") for _ in range(2)] == [None, None]
        wait = allowance.take("192.0.2.1")
        assert wait is not None
        assert 1 <= wait <= 60
        assert allowance.take("192.0.2.2") is None
    finally:
        down.dispose()
