"""Failed logins hold an account and a client back for a while, through `/login`: a delay that
doubles up to a cap, said in `Retry-After` and on the page, not prolonged by knocking while held
back; a client by its IPv6 /64; and password checks that cannot starve the server."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Literal

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import select

from bot.app import App
from bot.web import security
from bot.web.app import create_app
from bot.web.password_pool import THREADS, WAITING
from bot.web.security import COOKIE
from bot.web.throttle import ACCOUNT, CLIENT, account_key, client_key
from storage.models import LoginFailureRow
from tests.web.conftest import BASE_URL, PASSWORD, add_staff

SALES = "sales@example.com"
WRONG = "not the password at all"


@pytest.fixture
def sales(site_app: App) -> str:
    add_staff(site_app, SALES, "sales")
    return SALES


def log_in(client: TestClient, email: str, password: str) -> Response:
    return client.post("/login", data={"email": email, "password": password, "next": "/leads"})


def fail(client: TestClient, email: str, times: int) -> None:
    """`times` wrong passwords, each refused as wrong (not held back)."""
    for _ in range(times):
        assert log_in(client, email, WRONG).status_code == 401


def counted(app: App, key: str) -> int:
    """Failures recorded under `key` in the last year."""
    return app.storage.staff.failures_since(key, datetime.now(UTC) - timedelta(days=365))[0]


def time_passes(app: App, by: timedelta) -> None:
    """Move every recorded failure `by` into the past (as if that much time had passed)."""
    with app.storage.database.transaction() as session:
        for row in session.scalars(select(LoginFailureRow)):
            row.at -= by


def said(response: Response) -> str:
    """The page's main part, its whitespace as a reader sees it."""
    return " ".join(response.text.split("<main>")[1].split())


def retry_after(response: Response) -> int:
    assert response.status_code == 429, response.text
    return int(response.headers["Retry-After"])


def test_after_five_failures_the_right_password_waits_and_says_until_when(
    site: TestClient, sales: str
) -> None:
    fail(site, sales, ACCOUNT.free)
    held = log_in(site, sales, PASSWORD)
    assert ACCOUNT.first.seconds - 5 <= retry_after(held) <= ACCOUNT.first.seconds
    assert "Try again in 30 seconds" in said(held)
    assert COOKIE not in site.cookies


def test_attempts_while_held_back_are_not_counted(
    site: TestClient, site_app: App, sales: str
) -> None:
    fail(site, sales, ACCOUNT.free)
    for _ in range(10):
        assert log_in(site, sales, WRONG).status_code == 429
    assert counted(site_app, account_key(sales)) == ACCOUNT.free
    time_passes(site_app, ACCOUNT.first)
    assert log_in(site, sales, PASSWORD).status_code == 303  # the lock did not slide


def test_the_wait_doubles_with_each_further_failure_up_to_the_cap(
    site: TestClient, site_app: App, sales: str
) -> None:
    delays = [ACCOUNT.delay(ACCOUNT.free + n) for n in range(7)]
    assert [int(delay.total_seconds()) for delay in delays] == [30, 60, 120, 240, 480, 900, 900]
    fail(site, sales, ACCOUNT.free)
    for delay in delays:
        said_wait = retry_after(log_in(site, sales, WRONG))
        assert delay.total_seconds() - 5 <= said_wait <= delay.total_seconds()  # a slow machine
        time_passes(site_app, delay)
        assert log_in(site, sales, WRONG).status_code == 401
    assert "Try again in 15 minutes" in said(log_in(site, sales, PASSWORD))


def test_a_login_after_the_wait_works_and_forgets_the_accounts_failures(
    site: TestClient, site_app: App, sales: str
) -> None:
    fail(site, sales, ACCOUNT.free)
    time_passes(site_app, ACCOUNT.first)
    fail(site, sales, 1)
    time_passes(site_app, ACCOUNT.delay(ACCOUNT.free + 1))
    assert log_in(site, sales, PASSWORD).status_code == 303
    assert counted(site_app, account_key(sales)) == 0
    site.cookies.clear()
    fail(site, sales, 1)  # a typo later is not held back by the old failures
    assert log_in(site, sales, PASSWORD).status_code == 303


def test_an_unknown_address_is_held_back_like_a_known_one(site: TestClient, sales: str) -> None:
    fail(site, "nobody@example.com", ACCOUNT.free)
    fail(site, sales, ACCOUNT.free)
    unknown = log_in(site, "nobody@example.com", WRONG)
    known = log_in(site, sales, WRONG)
    assert retry_after(unknown) > 0
    assert retry_after(known) > 0

    def page(response: Response, email: str) -> str:
        return re.sub(r"\d+", "N", said(response).replace(email, ""))

    assert page(unknown, "nobody@example.com") == page(known, sales)


def from_address(app: FastAPI, address: str) -> TestClient:
    return TestClient(app, base_url=BASE_URL, follow_redirects=False, client=(address, 50000))


def test_a_client_is_held_back_by_its_ipv6_64_whatever_address_it_picks(
    site_app: App, sales: str
) -> None:
    app = create_app(site_app)
    for n in range(CLIENT.free):  # a new address and a new account each time
        rotating = from_address(app, f"2001:db8:1:2::{n + 1:x}")
        assert log_in(rotating, f"guess{n}@example.com", WRONG).status_code == 401
    same_network = from_address(app, "2001:db8:1:2:ffff:ffff:ffff:ffff")
    assert retry_after(log_in(same_network, sales, PASSWORD)) > 0
    next_network = from_address(app, "2001:db8:1:3::1")
    assert log_in(next_network, sales, PASSWORD).status_code == 303


def test_an_ipv4_client_is_its_address() -> None:
    assert client_key("203.0.113.7") == "client:203.0.113.7"
    assert client_key("203.0.113.8") != client_key("203.0.113.7")
    assert client_key("::ffff:203.0.113.7") == "client:203.0.113.7"
    assert client_key("2001:db8:1:2:aaaa::1") == "client:2001:db8:1:2::/64"
    assert client_key("testclient") == "client:testclient"


class HeldHasher(PasswordHasher):
    """Argon2 that does not finish a check until the test lets it (a server busy hashing)."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.started = threading.Semaphore(0)

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        self.started.release()
        self.release.wait(timeout=60)
        return super().verify(hash, password)


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Iterator[HeldHasher]:
    hasher = HeldHasher()
    monkeypatch.setattr(security, "HASHER", hasher)
    try:
        yield hasher
    finally:
        hasher.release.set()


def test_with_every_hashing_thread_busy_a_login_gets_429_at_once_and_readyz_answers(
    site_app: App, sales: str, held: HeldHasher
) -> None:
    busy, more = THREADS + WAITING, 3
    answers: list[tuple[int, float]] = []
    web = create_app(site_app)

    def attempt(number: int) -> None:
        started = time.monotonic()
        response = log_in(from_address(web, f"198.51.100.{number}"), sales, WRONG)
        answers.append((response.status_code, time.monotonic() - started))

    def ready() -> int:
        answered: list[int] = []
        probe = threading.Thread(target=lambda: answered.append(site.get("/readyz").status_code))
        probe.start()
        probe.join(timeout=5)
        return answered[0] if answered else 0

    with TestClient(web, base_url=BASE_URL) as site:
        logins = [threading.Thread(target=attempt, args=(n,)) for n in range(busy + more)]
        try:
            for thread in logins:
                thread.start()
            for _ in range(THREADS):
                assert held.started.acquire(timeout=10), "no password check started"
            deadline = time.monotonic() + 10
            while len(answers) < more and time.monotonic() < deadline:
                time.sleep(0.05)
            # Every slot is taken by a check that cannot finish: the rest were refused at once.
            assert sorted(code for code, _ in answers) == [429] * more
            assert all(seconds < 2 for _, seconds in answers)
            assert ready() == 200
        finally:
            held.release.set()
            for thread in logins:
                thread.join(timeout=30)
    assert sorted(code for code, _ in answers) == [401] * busy + [429] * more


def test_a_hash_weaker_than_todays_is_replaced_at_login_without_ending_the_session(
    site: TestClient, site_app: App
) -> None:
    weak = PasswordHasher(memory_cost=8 * 1024, time_cost=1, parallelism=1).hash(PASSWORD)
    site_app.storage.staff.add_user(SALES, "sales", weak, "test")
    assert log_in(site, SALES, PASSWORD).status_code == 303
    found = site_app.storage.staff.credentials(SALES)
    assert found is not None
    assert found[1] != weak
    assert not security.HASHER.check_needs_rehash(found[1])
    assert site.get("/leads").status_code == 200  # the new session lives on
