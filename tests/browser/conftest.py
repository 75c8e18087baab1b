"""Browser tests: the real app under uvicorn on 127.0.0.1, driven by Debian's Chromium.

- `live_site` (session): the app of `lingang-bot serve` on a free port, over SQLite in a
  temporary folder, the lexical matcher and a temporary copy of the packaged `intents/` (admin
  edits never touch the repository). `live_site.url` is its address, `live_site.app` the wired
  `App` (to check or prepare the database), `live_site.intents_dir` the catalog copy.
- `browser` (session): one headless Chromium from `/usr/bin/chromium`, never a downloaded one.
  Missing: the tests are skipped, or fail when `CI=true`.
- `page` (each test): a page in a fresh browser context (no cookies), whose relative URLs go to
  the live site: `page.goto("/")`.
- `log_in(page, site, role)`: a new staff user of that role, logged in through the login form.
- `shot(page, name)`: a full-page screenshot in `docs/screenshots/<name>.png` for the README.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright

from bot.app import App, build_app
from bot.config import Settings
from bot.core.staff import Role
from bot.web.app import create_app
from intents.catalog import PACKAGED_DIR
from tests.web.conftest import PASSWORD, add_staff

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
TIMEOUT_MS = 10_000  # a step that takes longer has failed; don't wait for the default 30 s
START_SECONDS = 20.0


@dataclass(frozen=True)
class LiveSite:
    """The running web app: its address, the wired app behind it, its catalog folder."""

    url: str
    app: App
    intents_dir: Path


@pytest.fixture(scope="session")
def live_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    """`lingang-bot serve`'s app under uvicorn in a background thread on a free port."""
    root = tmp_path_factory.mktemp("live-site")
    intents_dir = root / "intents"
    shutil.copytree(PACKAGED_DIR, intents_dir)
    settings = Settings(
        _env_file=None,
        LINGANG_DATA_DIR=root / "data",
        LINGANG_MATCHER="lexical",
        LINGANG_INTENTS_DIR=intents_dir,
        # every page of the suite comes from 127.0.0.1: the limit is tested in tests/web
        LINGANG_WEB_CHAT_PER_MINUTE=10_000,
    )
    wired = build_app(settings)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))  # bound before uvicorn starts: no race for the port
    port = listener.getsockname()[1]
    config = uvicorn.Config(
        create_app(wired),
        log_level="warning",
        lifespan="on",
        ws="none",  # no websockets library: nothing here needs it
        http="h11",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, name="live-site", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + START_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the web app did not start under uvicorn")
        time.sleep(0.05)
    try:
        yield LiveSite(f"http://127.0.0.1:{port}", wired, intents_dir)
    finally:
        server.should_exit = True
        thread.join(timeout=START_SECONDS)
        listener.close()
        wired.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Debian Chromium for the whole session."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser, live_site: LiveSite) -> Iterator[Page]:
    """A page in a fresh context (its own cookies) whose relative URLs reach the live site."""
    context = browser.new_context(
        base_url=live_site.url, locale="en-GB", viewport={"width": 1100, "height": 800}
    )
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


_users = count(1)


def log_in(page: Page, site: LiveSite, role: Role) -> str:
    """A new staff user of `role`, logged in through the login form; their e-mail address."""
    email = f"{role}-{next(_users)}@example.com"
    add_staff(site.app, email, role)
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)
    return email


def shot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as `docs/screenshots/<name>.png` (linked from the README)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
