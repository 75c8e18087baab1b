"""The web app in-process: a wired app on a fresh SQLite file, a test client on 127.0.0.1, and
staff users who log in through the login form."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.app import App, build_app
from bot.config import Settings
from bot.core.staff import Role
from bot.web.app import create_app
from bot.web.security import COOKIE, digest, hash_password

PASSWORD = "correct horse battery staple"
BASE_URL = "https://127.0.0.1:8000"  # https: the cookies are Secure and `__Host-` named


@pytest.fixture
def site_app(tmp_path: Path) -> Iterator[App]:
    """A wired app on a fresh SQLite file, the lexical matcher (matching is tested elsewhere)."""
    wired = build_app(
        Settings(_env_file=None, LINGANG_DATA_DIR=tmp_path, LINGANG_MATCHER="lexical")
    )
    try:
        yield wired
    finally:
        wired.close()


@pytest.fixture
def site(site_app: App) -> Iterator[TestClient]:
    """The ASGI app (lifespan run) behind a client that talks to it as 127.0.0.1:8000."""
    with TestClient(create_app(site_app), base_url=BASE_URL, follow_redirects=False) as client:
        yield client


@contextmanager
def app_over(catalog: Path, data: Path) -> Iterator[App]:
    """A wired app over the catalog folder `catalog`, its data in `data`, lexical matcher."""
    wired = build_app(
        Settings(
            _env_file=None,
            LINGANG_DATA_DIR=data,
            LINGANG_MATCHER="lexical",
            LINGANG_INTENTS_DIR=catalog,
        )
    )
    try:
        yield wired
    finally:
        wired.close()


def add_staff(app: App, email: str, role: Role, password: str = PASSWORD) -> None:
    """A user, as `lingang-bot users add` makes one."""
    app.storage.staff.add_user(email, role, hash_password(password), "test")


def log_in(client: TestClient, email: str, password: str = PASSWORD) -> None:
    """Log in through the form; fails the test unless the login is accepted."""
    response = client.post("/login", data={"email": email, "password": password, "next": "/"})
    assert response.status_code == 303, response.text
    assert COOKIE in client.cookies


def csrf_of(app: App, client: TestClient) -> str:
    """The CSRF token of the client's session (what the pages put in every form)."""
    session = app.storage.staff.session(digest(client.cookies[COOKIE]))
    assert session is not None
    return session.csrf


def staff_client(app: App, client: TestClient, role: Role) -> str:
    """Log `client` in as a new user of `role`; the session's CSRF token."""
    email = f"{role}@example.com"
    add_staff(app, email, role)
    log_in(client, email)
    return csrf_of(app, client)
