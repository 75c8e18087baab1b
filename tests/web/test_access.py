"""Who may reach what: every route of the web app for anonymous visitors, sales staff and
admins (deny by default), CSRF on every state-changing route, and no change on any GET.

The routes are read from the app itself, so a new page is covered the day it is added.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bot.app import App
from bot.web.app import create_app
from storage.models import Base
from tests.web.conftest import BASE_URL, staff_client

# Public: the web chat, logging in, health checks and metrics (the proxy keeps /metrics on the
# internal network), static files (webhooks exist only when their platform is configured and
# are tested with their channel).
PUBLIC = re.compile(r"^/$|^/chat(/|$)|^/login$|^/healthz$|^/readyz$|^/metrics$")
ADMIN = re.compile(r"^/admin(/|$)")
API = re.compile(r"^/api(/|$)")


def routes(app: App) -> list[tuple[str, str]]:
    """(method, path with sample parameters) of every route we serve."""
    found = []
    for context in iter_route_contexts(create_app(app).routes):
        methods = getattr(context.route, "methods", None)
        if not context.path or not methods:
            continue
        path = re.sub(r"\{[^}]+\}", "1", context.path)
        found.extend((method, path) for method in sorted(methods) if method != "HEAD")
    return sorted(set(found))


def refused(status: int, location: str) -> bool:
    return status in (401, 403) or (status == 303 and location.startswith("/login"))


@pytest.fixture
def client(site_app: App) -> Iterator[TestClient]:
    with TestClient(create_app(site_app), base_url=BASE_URL, follow_redirects=False) as web:
        yield web


def call(client: TestClient, method: str, path: str, csrf: str = "") -> tuple[int, str]:
    data = {"csrf": csrf} if csrf else {}
    response = client.request(method, path, data=data if method == "POST" else None)
    return response.status_code, response.headers.get("location", "")


def test_there_are_pages_for_every_role(site_app: App) -> None:
    paths = {path for _, path in routes(site_app)}
    assert any(ADMIN.match(p) for p in paths)
    assert any(API.match(p) for p in paths)
    assert "/leads" in paths


def test_role_matrix_has_no_unexpected_allow(site_app: App, client: TestClient) -> None:
    table = routes(site_app)
    unexpected: list[str] = []
    for method, path in table:  # anonymous
        if PUBLIC.match(path):
            continue
        status, location = call(client, method, path)
        if not refused(status, location):
            unexpected.append(f"anonymous {method} {path}: {status}")
    csrf = staff_client(site_app, client, "sales")
    for method, path in table:
        if not ADMIN.match(path):
            continue
        status, location = call(client, method, path, csrf)
        if status != 403:
            unexpected.append(f"sales {method} {path}: {status} {location}")
    for method, path in table:
        if not API.match(path) or path.startswith(("/api/docs", "/api/openapi")):
            continue
        status, _ = call(client, method, path, csrf)
        if status != 401:  # a session is not an API token
            unexpected.append(f"sales session {method} {path}: {status}")
    assert unexpected == [], f"unexpected allows: {len(unexpected)} of {3 * len(table)} cells"


def test_staff_reach_their_pages(site_app: App, client: TestClient) -> None:
    csrf = staff_client(site_app, client, "admin")
    refusals = [
        f"{method} {path}: {status}"
        for method, path in routes(site_app)
        if not API.match(path) and path not in ("/logout", "/login")
        for status, location in [call(client, method, path, csrf)]
        if refused(status, location)
    ]
    assert refusals == []


def test_every_change_needs_the_csrf_token_and_the_same_site(
    site_app: App, client: TestClient
) -> None:
    posts = [
        path
        for method, path in routes(site_app)
        if method == "POST" and not PUBLIC.match(path) and not API.match(path)
    ]
    assert len(posts) >= 5
    csrf = staff_client(site_app, client, "admin")
    accepted = []
    for path in posts:
        for data, headers in (
            ({}, {}),
            ({"csrf": "wrong"}, {}),
            ({"csrf": csrf}, {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}),
        ):
            response = client.post(path, data=data, headers=headers)
            if response.status_code != 403:
                accepted.append(f"{path} {sorted(data)} {headers}: {response.status_code}")
    assert accepted == [], f"{len(accepted)} accepted of {3 * len(posts)}"


def counts(app: App) -> dict[str, int]:
    with app.storage.database.transaction() as session:
        return {
            table.name: int(session.scalar(select(func.count()).select_from(table)) or 0)
            for table in Base.metadata.sorted_tables
            # Reading is not changing: sessions note their last use, exports are audited.
            if table.name not in ("staff_sessions", "login_failures", "audit_log")
        }


def test_no_get_changes_anything(site_app: App, client: TestClient) -> None:
    staff_client(site_app, client, "admin")
    before = counts(site_app)
    for method, path in routes(site_app):
        if method == "GET":
            client.get(path)
            client.get(path, params={"status": "lost", "intent": "x", "ids": "1", "q": "hi"})
    assert counts(site_app) == before
