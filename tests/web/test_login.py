"""Logging in and out: Argon2id, cookie flags, a new session per login, timeouts, throttling."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from bot.app import App
from bot.web.app import create_app
from bot.web.security import COOKIE, digest
from tests.web.conftest import PASSWORD, add_staff, csrf_of, log_in


@pytest.fixture
def sales(site_app: App) -> str:
    add_staff(site_app, "Sales@Example.com", "sales")
    return "sales@example.com"


def test_passwords_are_stored_as_argon2id_above_owasps_floor(site_app: App, sales: str) -> None:
    found = site_app.storage.staff.credentials(sales)
    assert found is not None
    stored = found[1]
    assert stored.startswith("$argon2id$")
    params = dict(part.split("=") for part in stored.split("$")[3].split(","))
    assert int(params["m"]) >= 19456
    assert int(params["t"]) >= 2


def test_login_sets_a_strict_cookie_and_lands_on_the_page_asked_for(
    site: TestClient, sales: str
) -> None:
    response = site.post(
        "/login", data={"email": "SALES@example.com", "password": PASSWORD, "next": "/leads?x=1"}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/leads?x=1"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert cookie.startswith(f"{COOKIE}=")  # __Host-: Secure, Path=/ and no Domain
    assert "Secure" in cookie


def test_over_plain_http_the_cookie_goes_without_secure_and_the_prefix(
    site_app: App, sales: str
) -> None:
    with TestClient(create_app(site_app), base_url="http://127.0.0.1:8000") as client:
        response = client.post(
            "/login", data={"email": sales, "password": PASSWORD}, follow_redirects=False
        )
        assert response.status_code == 303
        cookie = response.headers["set-cookie"]
        assert cookie.startswith("lingang_session=")  # a browser drops __Host- without Secure
        assert "Secure" not in cookie
        assert client.get("/leads").status_code == 200  # a plain-HTTP local run can log in


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil"])
def test_login_never_sends_the_user_to_another_site(
    site: TestClient, sales: str, target: str
) -> None:
    response = site.post("/login", data={"email": sales, "password": PASSWORD, "next": target})
    assert response.headers["location"] == "/leads"


def test_each_login_gets_a_new_session_and_logout_ends_it(
    site: TestClient, site_app: App, sales: str
) -> None:
    log_in(site, sales)
    first = site.cookies[COOKIE]
    log_in(site, sales)
    second = site.cookies[COOKIE]
    assert first != second
    csrf = csrf_of(site_app, site)
    assert site.post("/logout", data={"csrf": csrf}).status_code == 303
    assert site_app.storage.staff.session(digest(second)) is None
    site.cookies.set(COOKIE, second)  # replay the old cookie
    assert site.get("/leads").status_code == 303
    assert site.post("/logout", data={"csrf": csrf}).status_code == 401


def test_logout_needs_the_csrf_token(site: TestClient, site_app: App, sales: str) -> None:
    log_in(site, sales)
    assert site.post("/logout", data={"csrf": "wrong"}).status_code == 403
    assert site.post("/logout").status_code == 403
    assert site_app.storage.staff.session(digest(site.cookies[COOKIE])) is not None


def test_a_session_ends_after_the_idle_timeout(
    site: TestClient, site_app: App, sales: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    log_in(site, sales)
    key = digest(site.cookies[COOKIE])
    session = site_app.storage.staff.session(key)
    assert session is not None
    idle = timedelta(minutes=site_app.settings.session_idle_minutes)
    site_app.storage.staff.touch_session(key, session.last_seen_at - idle - timedelta(seconds=1))
    assert site.get("/leads").status_code == 303
    assert site_app.storage.staff.session(key) is None


def test_a_disabled_user_is_logged_out_at_once(site: TestClient, site_app: App, sales: str) -> None:
    log_in(site, sales)
    found = site_app.storage.staff.credentials(sales)
    assert found is not None
    site_app.storage.staff.set_disabled(found[0].id, True, "test")
    assert site.get("/leads").status_code == 303
    refused = site.post("/login", data={"email": sales, "password": PASSWORD})
    assert refused.status_code == 401


def test_wrong_passwords_are_throttled_with_one_message_for_every_case(
    site: TestClient, sales: str
) -> None:
    def attempt(email: str, password: str) -> tuple[int, str]:
        response = site.post("/login", data={"email": email, "password": password})
        return response.status_code, response.text.split("<main>")[1]

    unknown = attempt("nobody@example.com", "whatever whatever")
    wrong = attempt(sales, "not the password")
    assert unknown[0] == wrong[0] == 401
    assert unknown[1].replace("nobody@example.com", "") == wrong[1].replace(sales, "")
    for _ in range(4):
        attempt(sales, "not the password")
    locked = attempt(sales, PASSWORD)  # the right password, after five failures
    assert locked[0] == 429  # held back (tests/web/test_login_throttle.py)
    assert COOKIE not in site.cookies


def test_a_cross_site_login_post_is_refused(site: TestClient, sales: str) -> None:
    response = site.post(
        "/login",
        data={"email": sales, "password": PASSWORD},
        headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    )
    assert response.status_code == 403
    assert COOKIE not in site.cookies
