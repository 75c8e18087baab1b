"""The leads API as a CRM uses it: bearer tokens, filters, an incremental cursor, one lead in
full, and the OpenAPI document that describes it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bot.app import App
from bot.core.records import LeadSubmission, TranscriptEntry
from bot.web import api, api_schema
from bot.web.security import digest, new_api_token
from tests.web.conftest import staff_client

# Leads made well before the settle window, unless a test says otherwise.
T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
XSS = "<img src=x onerror=alert(1)>"


def make_token(app: App, name: str = "crm") -> tuple[int, str]:
    """A live token (id, secret), as `lingang-bot tokens create` makes one."""
    secret = new_api_token()
    token = app.storage.staff.create_token(name, digest(secret), "test")
    return token.id, secret


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def add_lead(
    app: App,
    n: int,
    at: datetime = T0,
    *,
    channel: str = "telegram",
    language: str = "en",
    **answers: str,
) -> int:
    """Prospect `n` submits a confirmed form at `at`; the lead's id."""
    done = app.leads.submit(
        LeadSubmission(
            submission_id=f"s{n}",
            channel=channel,
            user_id=f"u{n}",
            conversation_id=f"c{n}",
            language=language,
            notice_version="2026-01",
            consented_at=at - timedelta(minutes=1),
            submitted_at=at,
            answers={"name": f"Prospect {n}", "email": f"p{n}@example.com", **answers},
            score=40 + n,
            question="How do I register a company?",
            source="expo",
        )
    )
    return done.lead.id


@pytest.fixture
def secret(site_app: App) -> str:
    return make_token(site_app)[1]


def pull(site: TestClient, secret: str, **params: Any) -> dict[str, Any]:
    response = site.get("/api/leads", params=params, headers=bearer(secret))
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    page: dict[str, Any] = response.json()
    return page


def ids(page: dict[str, Any]) -> list[int]:
    return [lead["id"] for lead in page["leads"]]


# -- authentication ----------------------------------------------------------------------------


def test_no_wrong_or_revoked_token_gets_401(site_app: App, site: TestClient) -> None:
    lead = add_lead(site_app, 1)
    revoked_id, revoked = make_token(site_app, "old crm")
    site_app.storage.staff.revoke_token(revoked_id, "test")
    attempts = [
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        bearer("lgb_not-a-token"),
        bearer(revoked),
        bearer(revoked + "x"),
    ]
    refused = 0
    total = 0
    for path in ("/api/leads", f"/api/leads/{lead}", "/api/leads/999", "/api/leads?since=junk"):
        for headers in attempts:
            total += 1
            response = site.get(path, headers=headers)
            if response.status_code == 401:
                assert response.headers["www-authenticate"] == "Bearer"
                assert "token" in response.json()["detail"]
                assert "Prospect" not in response.text
                refused += 1
    assert (refused, total) == (32, 32)


def test_a_staff_session_does_not_open_the_data(site_app: App, site: TestClient) -> None:
    lead = add_lead(site_app, 1)
    staff_client(site_app, site, "admin")
    for path in ("/api/leads", f"/api/leads/{lead}"):
        response = site.get(path)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"


def test_a_token_is_noted_when_used(site_app: App, site: TestClient) -> None:
    token_id, secret = make_token(site_app)
    [token] = [t for t in site_app.storage.staff.tokens() if t.id == token_id]
    assert token.last_used_at is None
    before = datetime.now(UTC)
    pull(site, secret)
    [token] = [t for t in site_app.storage.staff.tokens() if t.id == token_id]
    assert token.last_used_at is not None
    assert token.last_used_at >= before - timedelta(seconds=1)


def test_a_revoked_token_stops_at_once(site_app: App, site: TestClient) -> None:
    token_id, secret = make_token(site_app)
    pull(site, secret)
    site_app.storage.staff.revoke_token(token_id, "test")
    assert site.get("/api/leads", headers=bearer(secret)).status_code == 401


# -- listing -----------------------------------------------------------------------------------


def test_filters_narrow_the_list(
    site_app: App, site: TestClient, secret: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api, "SETTLE", timedelta(0))  # the status change below counts at once
    first = add_lead(site_app, 1, interest="company_setup")
    second = add_lead(site_app, 2, T0 + timedelta(days=1), channel="slack", language="zh")
    third = add_lead(site_app, 3, T0 + timedelta(days=2), interest="ic_industry")
    site_app.leads.set_status(third, "qualified", "test", None)
    assert ids(pull(site, secret)) == [first, second, third]
    assert ids(pull(site, secret, status="qualified")) == [third]
    assert ids(pull(site, secret, status="new")) == [first, second]
    assert ids(pull(site, secret, channel="slack")) == [second]
    assert ids(pull(site, secret, language="zh")) == [second]
    assert ids(pull(site, secret, interest="company_setup")) == [first]
    assert ids(pull(site, secret, created_from="2026-03-02")) == [second, third]
    assert ids(pull(site, secret, created_to="2026-03-01")) == [first]
    assert ids(pull(site, secret, created_from="2026-03-02", created_to="2026-03-02")) == [second]
    assert ids(pull(site, secret, channel="whatsapp", status="new")) == []


def test_a_lead_carries_every_field(site_app: App, site: TestClient, secret: str) -> None:
    add_lead(site_app, 1, company=XSS, phone="+49 30 1234", interest="company_setup")
    [lead] = pull(site, secret)["leads"]
    assert lead["name"] == "Prospect 1"
    assert lead["company"] == XSS  # data, as typed; the CRM escapes it where it shows it
    assert (lead["phone"], lead["interest"], lead["timeline"]) == (
        "+49 30 1234",
        "company_setup",
        None,
    )
    assert (lead["status"], lead["score"], lead["channel"], lead["language"]) == (
        "new",
        41,
        "telegram",
        "en",
    )
    assert (lead["question"], lead["source"]) == ("How do I register a company?", "expo")
    assert lead["answers"]["email"] == "p1@example.com"
    assert datetime.fromisoformat(lead["created_at"]) == T0
    assert set(lead) == set(api_schema.LeadOut.model_fields)


@pytest.mark.parametrize(
    ("params", "status", "says"),
    [
        ({"status": "asleep"}, 422, "status"),
        ({"limit": 0}, 422, "limit"),
        ({"limit": 501}, 422, "limit"),
        ({"created_from": "yesterday"}, 422, "created_from"),
        ({"created_from": "2026-03-05", "created_to": "2026-03-01"}, 400, "created_from"),
        ({"since": "junk"}, 400, "since"),
        ({"since": "eyJ2IjoxLCJ0IjoiMjAyNi0wMy0wMSIsImkiOjF9"}, 400, "since"),  # no time zone
        ({"channel": "x" * 33}, 422, "channel"),
    ],
)
def test_bad_filters_are_clear_errors(
    site: TestClient, secret: str, params: dict[str, Any], status: int, says: str
) -> None:
    response = site.get("/api/leads", params=params, headers=bearer(secret))
    assert response.status_code == status
    assert says in response.text


def test_paging_with_next_visits_every_lead_once(
    site_app: App, site: TestClient, secret: str
) -> None:
    made = [add_lead(site_app, n, T0 + timedelta(minutes=n % 4)) for n in range(1, 13)]
    seen: list[int] = []
    since = None
    pages = 0
    while True:
        page = pull(site, secret, limit=5, **({"since": since} if since else {}))
        pages += 1
        seen += ids(page)
        if page["next"] is None:
            assert page["more"] is False
            break
        assert page["more"] is (len(seen) < len(made))
        since = page["next"]
    assert sorted(seen) == sorted(made)
    assert len(seen) == len(set(seen)) == 12
    assert pages == 4  # 5 + 5 + 2, then an empty page: up to date


def test_a_status_change_brings_the_lead_back_after_the_cursor(
    site_app: App, site: TestClient, secret: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    leads = [add_lead(site_app, n, T0 + timedelta(seconds=n)) for n in range(1, 4)]
    page = pull(site, secret)
    assert ids(page) == leads
    cursor = page["next"]
    assert ids(pull(site, secret, since=cursor)) == []
    site_app.leads.set_status(leads[1], "contacted", "web:sales@example.com", "called")
    # a change shows only once it has settled: nothing still being written is skipped
    assert ids(pull(site, secret, since=cursor)) == []
    monkeypatch.setattr(api, "SETTLE", timedelta(0))
    again = pull(site, secret, since=cursor)
    assert [(lead["id"], lead["status"]) for lead in again["leads"]] == [(leads[1], "contacted")]
    assert ids(pull(site, secret, since=again["next"])) == []


# -- one lead ----------------------------------------------------------------------------------


def test_a_lead_in_full(site_app: App, site: TestClient, secret: str) -> None:
    lead = add_lead(site_app, 1, name=XSS)
    site_app.storage.transcripts.append(
        [
            TranscriptEntry("telegram", "c1", "u1", "in", "I'd like a quote", T0),
            TranscriptEntry("telegram", "c1", "u1", "out", "Happy to help", T0, "quote"),
        ]
    )
    site_app.leads.set_status(lead, "qualified", "web:sales@example.com", "budget confirmed")
    response = site.get(f"/api/leads/{lead}", headers=bearer(secret))
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert (body["id"], body["name"], body["status"]) == (lead, XSS, "qualified")
    assert body["consent"]["granted"] is True
    assert body["consent"]["notice_version"] == "2026-01"
    assert body["consent"]["id"] == body["consent_id"]
    assert [(e["kind"], e["status"], e["note"]) for e in body["history"]] == [
        ("created", None, None),
        ("status", "qualified", "budget confirmed"),
    ]
    assert [(m["direction"], m["text"], m["intent_id"]) for m in body["transcript"]] == [
        ("in", "I'd like a quote", None),
        ("out", "Happy to help", "quote"),
    ]


def test_unknown_or_malformed_lead_ids(site_app: App, site: TestClient, secret: str) -> None:
    add_lead(site_app, 1)
    missing = site.get("/api/leads/999", headers=bearer(secret))
    assert (missing.status_code, missing.json()) == (404, {"detail": "no lead 999"})
    assert site.get("/api/leads/0", headers=bearer(secret)).status_code == 422
    assert site.get("/api/leads/abc", headers=bearer(secret)).status_code == 422


# -- documentation -----------------------------------------------------------------------------


def test_openapi_lists_exactly_the_api_with_bearer_security(
    site_app: App, site: TestClient, secret: str
) -> None:
    response = site.get("/api/openapi.json", headers=bearer(secret))
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    assert sorted(document["paths"]) == [
        "/api/catalog/revisions",  # for catalog:admin tokens (tests/web/test_api_catalog.py)
        "/api/intents",
        "/api/intents/{intent_id}",
        "/api/leads",
        "/api/leads/{lead_id}",
    ]
    schemes = document["components"]["securitySchemes"]
    assert schemes == {
        "bearerToken": {
            "type": "http",
            "scheme": "bearer",
            "description": schemes["bearerToken"]["description"],
        }
    }
    for path in ("/api/leads", "/api/leads/{lead_id}"):
        operation = document["paths"][path]["get"]
        assert operation["security"] == [{"bearerToken": ["leads:read"]}]
        assert {"401", "403"} <= set(operation["responses"])
    params = {p["name"] for p in document["paths"]["/api/leads"]["get"]["parameters"]}
    assert params == {
        "status", "channel", "interest", "language", "created_from", "created_to", "since",
        "limit",
    }  # fmt: skip
    lead = document["components"]["schemas"]["LeadOut"]
    assert lead["example"]["id"] == 42
    assert all("description" in field for field in lead["properties"].values())


def test_openapi_needs_a_token_or_a_staff_session(site_app: App, site: TestClient) -> None:
    anonymous = site.get("/api/openapi.json")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"
    assert site.get("/api/openapi.json", headers=bearer("lgb_wrong")).status_code == 401
    staff_client(site_app, site, "sales")
    assert {"/api/leads", "/api/leads/{lead_id}"} <= set(
        site.get("/api/openapi.json").json()["paths"]
    )


def test_docs_page_is_for_logged_in_staff(site_app: App, site: TestClient, secret: str) -> None:
    anonymous = site.get("/api/docs")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login?next=")
    assert site.get("/api/docs", headers=bearer(secret)).status_code == 303
    staff_client(site_app, site, "sales")
    page = site.get("/api/docs")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    for text in (
        "GET /api/leads",
        "GET /api/leads/{lead_id}",
        "created_from",
        "since",
        "lingang-bot tokens create",
        'curl -sS -H "Authorization: Bearer $LINGANG_API_TOKEN"',
        "https://127.0.0.1:8000/api/leads?limit=100",  # the site's own address
        "new | contacted | qualified | won | lost",
    ):
        assert text in page.text
    assert "<script" not in page.text
