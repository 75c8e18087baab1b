"""The web chat through the ASGI app: the public page, questions and buttons, a whole lead,
retries, the rate limit, cross-site requests and bad bodies."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bot.app import App, build_app
from bot.config import Settings
from bot.core.forms import SHARE_PHONE
from bot.core.records import LeadFilter
from bot.web.app import create_app
from bot.web.chat import COOKIE, SlidingWindow
from bot.web.chat_identity import pseudonym
from storage.models import TranscriptMessageRow
from tests.web.conftest import BASE_URL

Replies = list[dict[str, Any]]


def say(client: TestClient, text: str, **extra: Any) -> Replies:
    """Type `text` in the chat; the replies (fails the test unless accepted)."""
    response = client.post("/chat/messages", json={"text": text, **extra})
    assert response.status_code == 200, response.text
    replies: Replies = response.json()["replies"]
    return replies


def press(client: TestClient, replies: Replies, words: str) -> Replies:
    """Press the button whose title contains `words` among the last replies."""
    return say_payload(client, button(replies, words))


def say_payload(client: TestClient, payload: str) -> Replies:
    response = client.post("/chat/messages", json={"payload": payload})
    assert response.status_code == 200, response.text
    replies: Replies = response.json()["replies"]
    return replies


def button(replies: Replies, words: str) -> str:
    for reply in replies:
        for shown in reply["buttons"]:
            if words.casefold() in shown["title"].casefold():
                payload: str = shown["payload"]
                return payload
    titles = [b["title"] for r in replies for b in r["buttons"]]
    raise AssertionError(f"no button {words!r} in {titles}")


def text_of(replies: Replies) -> str:
    return "\n".join(reply["text"] for reply in replies)


def stored_messages(app: App) -> int:
    """Transcript messages of every conversation in the database."""
    with app.storage.database.transaction() as session:
        count: int = session.scalar(select(func.count()).select_from(TranscriptMessageRow)) or 0
        return count


@pytest.fixture
def limited_app(tmp_path: Path) -> Iterator[App]:
    """A wired app whose web chat takes 3 messages a minute from one client."""
    wired = build_app(
        Settings(
            _env_file=None,
            LINGANG_DATA_DIR=tmp_path,
            LINGANG_MATCHER="lexical",
            LINGANG_WEB_CHAT_PER_MINUTE=3,
        )
    )
    try:
        yield wired
    finally:
        wired.close()


def test_the_chat_page_is_public_and_opens_with_the_catalogs_welcome(
    site: TestClient, site_app: App
) -> None:
    page = site.get("/")
    assert page.status_code == 200
    welcome = site_app.knowledge.current.catalog.intent("welcome").answer.get("en")
    assert welcome.split("\n")[0] in page.text.replace("&#39;", "'")
    assert 'aria-live="polite"' in page.text
    assert '<label for="chat-input">' in page.text
    assert "/static/chat.js" in page.text
    assert site.get("/static/chat.js").status_code == 200


def test_the_welcome_follows_the_browsers_language(site: TestClient, site_app: App) -> None:
    page = site.get("/", headers={"Accept-Language": "de-DE,zh-CN;q=0.8,en;q=0.5"})
    welcome = site_app.knowledge.current.catalog.intent("welcome").answer.get("zh")
    assert welcome.split("\n")[0] in page.text


def test_a_question_is_answered_and_the_browser_gets_a_conversation_cookie(
    site: TestClient,
) -> None:
    response = site.post("/chat/messages", json={"text": "where is Lingang?"})
    assert response.status_code == 200
    assert "Pudong" in text_of(response.json()["replies"])
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")  # __Host-: Secure, Path=/ and no Domain
    flags = [flag.strip().lower() for flag in cookie.split(";")[1:]]
    assert sorted(flags) == ["httponly", "path=/", "samesite=lax", "secure"]
    again = site.post("/chat/messages", json={"text": "how big is it?"})
    assert "set-cookie" not in again.headers  # the same conversation goes on


def test_over_plain_http_the_cookie_is_neither_secure_nor_host_prefixed(
    site: TestClient,
) -> None:
    plain = TestClient(site.app, base_url="http://127.0.0.1:8000")
    response = plain.post("/chat/messages", json={"text": "where is Lingang?"})
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("lingang_chat=")  # a browser refuses __Host- without Secure
    assert "secure" not in cookie.lower()
    plain.post("/chat/messages", json={"text": "how big is it?"})
    assert len(plain.get("/chat/history").json()["messages"]) == 4  # one conversation


def test_the_browsers_language_starts_the_conversation_in_chinese(
    site: TestClient, site_app: App
) -> None:
    response = site.post(
        "/chat/messages", json={"text": "/help"}, headers={"Accept-Language": "zh-CN,zh;q=0.9"}
    )
    replies = response.json()["replies"]
    assert text_of(replies) == site_app.knowledge.current.catalog.intent("help").answer.get("zh")


def test_buttons_come_back_and_a_pressed_payload_is_answered(site: TestClient) -> None:
    consent = say(site, "I want to talk to a consultant")
    assert all(set(b) == {"title", "payload"} for r in consent for b in r["buttons"])
    asked = press(site, consent, "agree")
    assert "name" in text_of(asked).lower()
    assert any(reply["kind"] == "form" for reply in asked)


def test_a_lead_form_completed_in_the_web_chat_stores_the_lead(
    site: TestClient, site_app: App
) -> None:
    consent = say(site, "I want to talk to a consultant")
    shown = press(site, consent, "agree")
    for answer in ("Ann Lee", "Acme GmbH", "ann@acme.de", "Germany"):
        shown = say(site, answer)
    assert "phone" in text_of(shown).lower()
    payloads = [b["payload"] for r in shown for b in r["buttons"]]
    assert SHARE_PHONE not in payloads  # a browser cannot share the number in one tap
    shown = press(site, shown, "skip")
    shown = press(site, shown, "IC industry")
    shown = press(site, shown, "3 months")
    summary = say(site, "We plan a design centre in Lingang.")
    assert "ann@acme.de" in text_of(summary)
    thanks = press(site, summary, "confirm")
    assert "Ann Lee" in text_of(thanks)
    [lead] = site_app.storage.leads.find(LeadFilter())
    assert lead.channel == "web"
    assert lead.conversation_id == lead.user_id == pseudonym(site.cookies[COOKIE].split(".")[0])
    assert dict(lead.answers) | {"phone": ""} == {
        "name": "Ann Lee",
        "company": "Acme GmbH",
        "email": "ann@acme.de",
        "country": "Germany",
        "phone": "",
        "interest": "ic_industry",
        "timeline": "within_3_months",
        "note": "We plan a design centre in Lingang.",
    }


def test_a_retried_message_id_is_answered_once(site: TestClient, site_app: App) -> None:
    first = site.post("/chat/messages", json={"text": "where is Lingang?", "id": "m-1"})
    retried = site.post("/chat/messages", json={"text": "where is Lingang?", "id": "m-1"})
    assert "Pudong" in text_of(first.json()["replies"])
    assert (retried.status_code, retried.json()) == (200, {"replies": []})
    history = site.get("/chat/history").json()["messages"]
    assert [m["direction"] for m in history] == ["in", "out"]
    # The id is the browser's own: another browser may use the same one.
    other = TestClient(site.app, base_url=BASE_URL)
    again = other.post("/chat/messages", json={"text": "where is Lingang?", "id": "m-1"})
    assert "Pudong" in text_of(again.json()["replies"])


def test_over_the_rate_limit_a_client_gets_429_and_the_engine_is_not_called(
    limited_app: App,
) -> None:
    with TestClient(create_app(limited_app), base_url=BASE_URL) as client:
        for question in ("where is Lingang?", "how big is Lingang?", "hello"):
            assert client.post("/chat/messages", json={"text": question}).status_code == 200
        stored = stored_messages(limited_app)
        refused = client.post("/chat/messages", json={"text": "what about taxes?"})
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert "too many messages" in refused.json()["detail"]
        assert stored_messages(limited_app) == stored
        history = client.get("/chat/history").json()["messages"]
        assert "what about taxes?" not in [m["text"] for m in history]


def test_the_window_slides_and_forgets_nothing_within_a_minute() -> None:
    now = [1000.0]
    window = SlidingWindow(2, clock=lambda: now[0])
    assert window.take("a") is None
    now[0] += 30
    assert window.take("a") is None
    assert window.take("a") == 30
    assert window.take("b") is None  # another client has its own count
    now[0] += 30
    assert window.take("a") is None  # the first message left the window
    assert window.take("a") == 30


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
    ],
    ids=["fetch-metadata", "foreign-origin", "null-origin"],
)
def test_a_cross_site_post_is_refused_and_nothing_is_stored(
    site: TestClient, site_app: App, headers: dict[str, str]
) -> None:
    response = site.post("/chat/messages", json={"text": "where is Lingang?"}, headers=headers)
    assert response.status_code == 403
    assert "cross-site" in response.json()["detail"]
    assert "set-cookie" not in response.headers
    assert stored_messages(site_app) == 0


def test_a_same_origin_post_from_the_page_is_taken(site: TestClient) -> None:
    headers = {"Origin": BASE_URL, "Sec-Fetch-Site": "same-origin"}
    response = site.post("/chat/messages", json={"text": "where is Lingang?"}, headers=headers)
    assert response.status_code == 200


def test_a_form_post_is_refused_as_not_json(site: TestClient, site_app: App) -> None:
    response = site.post("/chat/messages", data={"text": "where is Lingang?"})
    assert response.status_code == 415
    assert "application/json" in response.json()["detail"]
    assert stored_messages(site_app) == 0


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"{not json", "not valid JSON"),
        (b'["where is Lingang?"]', "JSON object"),
        (b"{}", "exactly one"),
        (b'{"text": "hi", "payload": "intent:welcome"}', "exactly one"),
        (b'{"text": "   "}', "text"),
        (b'{"text": 42}', "text"),
        ('{"text": "%s"}' % ("x" * 2001), "at most 2000"),
        ('{"payload": "%s"}' % ("p" * 257), "at most 256"),
        (b'{"text": "hi", "admin": true}', "admin: unknown field"),
        (b'{"text": "hi", "id": "<script>"}', "id"),
        (b'{"payload": "contact:+4930123456"}', "contact"),
    ],
)
def test_a_bad_body_gets_400_with_a_message_and_changes_nothing(
    site: TestClient, site_app: App, body: bytes | str, says: str
) -> None:
    response = site.post(
        "/chat/messages", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert says in response.json()["detail"]
    assert "set-cookie" not in response.headers
    assert stored_messages(site_app) == 0


def test_an_oversized_body_gets_413(site: TestClient, site_app: App) -> None:
    response = site.post("/chat/messages", json={"text": "x" * 40_000})
    assert response.status_code == 413
    assert "too long" in response.json()["detail"]
    assert stored_messages(site_app) == 0


def test_two_browsers_are_two_conversations(site: TestClient) -> None:
    other = TestClient(site.app, base_url=BASE_URL)
    consent = say(site, "I want to talk to a consultant")
    press(site, consent, "agree")
    assert "name" in text_of(say(site, "/contact")).lower()  # this browser is in the form
    answered = say(other, "where is Lingang?")  # the other is not
    assert "Pudong" in text_of(answered)
    assert site.cookies[COOKIE] != other.cookies[COOKIE]
    mine = [m["text"] for m in site.get("/chat/history").json()["messages"]]
    theirs = [m["text"] for m in other.get("/chat/history").json()["messages"]]
    assert "where is Lingang?" in theirs
    assert "where is Lingang?" not in mine


def test_history_is_empty_without_a_conversation_and_marks_placeholders(
    site: TestClient,
) -> None:
    assert site.get("/chat/history").json() == {"messages": []}
    consent = say(site, "I want to talk to a consultant")
    press(site, consent, "agree")
    say(site, "Ann Lee")
    messages = site.get("/chat/history").json()["messages"]
    assert messages[0] == {
        "direction": "in",
        "text": "I want to talk to a consultant",
        "kept": True,
    }
    assert "Ann Lee" not in [m["text"] for m in messages]
    assert any(not m["kept"] for m in messages)
