"""The whole app, once, for fuzzing: the Telegram webhook and Slack's request URL (each to its
fake platform API on 127.0.0.1), the web chat, the login form and the staff pages with an
admin logged in, on a fresh SQLite file with the lexical matcher.

`FuzzSite.send` posts one request and waits until the work it started in the background (the
answer to a webhook update or a Slack event) is done, so that what it logged is seen with it.
Every record at ERROR or above, and every traceback, is kept in `site.errors`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.app import App, build_app, build_slack, build_telegram
from bot.channels.slack import SlackService
from bot.channels.telegram import TelegramService
from bot.config import Settings
from bot.core.messages import Incoming
from bot.core.staff import Role
from bot.web.app import create_app
from bot.web.security import COOKIE, digest, hash_password
from tests.fakes.slack_api import BOT_TOKEN, SIGNING_SECRET, FakeSlackApi
from tests.fakes.telegram_api import SECRET, TOKEN, FakeBotApi

BASE_URL = "https://127.0.0.1:8000"  # https: the cookies are Secure and `__Host-` named
ADMIN = "fuzz-admin@example.com"
PASSWORD = "fuzzing is a kind of testing"
SALES = "C0SALES"
SELLER = "U0SELL"
SETTLE_SECONDS = 30.0  # longest a background answer may take before it counts as a hang


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request to the app, as a platform, a browser or a script sends it."""

    method: str
    path: str
    content: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    params: tuple[tuple[str, str], ...] = ()
    staff: bool = False  # sent with the admin's session cookie


class ErrorRecords(logging.Handler):
    """Every log record at ERROR or above, kept."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class ServerLog:
    """Logs an exception that escapes the app, as uvicorn does in production (a 500)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        except Exception:
            logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
            raise


def describe(record: logging.LogRecord) -> str:
    """A record as a line, with its traceback if it has one."""
    try:
        message = record.getMessage()
    except (TypeError, ValueError) as exc:  # a format that does not fit its arguments
        message = f"{record.msg!r} % {record.args!r} ({exc})"
    text = f"{record.levelname} {record.name}: {message}"
    if record.exc_info:
        text += "\n" + logging.Formatter().formatException(record.exc_info)
    return text


@dataclass
class FuzzSite:
    """The wired app behind a test client, its fakes, and the admin's session."""

    app: App
    client: TestClient
    telegram: TelegramService
    slack: SlackService
    errors: ErrorRecords
    response_url: str = ""  # where Slack's response_urls go (the fake API)
    session: str = ""  # the admin's session cookie
    csrf: str = ""
    intent_ids: tuple[str, ...] = ()
    files: tuple[str, ...] = ()

    def send(self, request: Request) -> int:
        """Send `request`, wait for the work it started; its status code."""
        self.client.cookies.clear()  # what the last response set is not sent again
        if request.staff:
            self.client.cookies.set(COOKIE, self.session)
        response = self.client.request(
            request.method,
            request.path,
            content=request.content or None,
            headers=dict(request.headers),
            params=list(request.params),
        )
        self.settle()
        return response.status_code

    def settle(self) -> None:
        """Wait until the answers being worked on in the background are done."""
        portal = self.client.portal
        assert portal is not None, "the client runs the app (entered as a context manager)"
        portal.call(self._settle)

    async def _settle(self) -> None:
        for _ in range(5):  # a listener acknowledged first: let it reach its background work
            await asyncio.sleep(0)
        while pending := [*self.telegram._work, *self.slack._work]:
            done, _ = await asyncio.wait(pending, timeout=SETTLE_SECONDS)
            if not done:
                raise TimeoutError(f"{len(pending)} answers still running")


def settings(folder: Path, telegram: FakeBotApi, slack: FakeSlackApi) -> Settings:
    """Both platforms (Telegram by webhook, Slack over HTTP), a fresh SQLite file."""
    return Settings(
        _env_file=None,
        LINGANG_DATA_DIR=folder,
        LINGANG_MATCHER="lexical",
        LINGANG_WEB_CHAT_PER_MINUTE=1_000_000,  # the limit is tested elsewhere; inputs are
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=telegram.base_url,
        TELEGRAM_WEBHOOK_URL="https://bot.example.com/telegram/webhook",
        TELEGRAM_WEBHOOK_SECRET=SECRET,
        TELEGRAM_MESSAGES_PER_SECOND=1000,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack.base_url,
        SLACK_SALES_CHANNEL=SALES,
    )


@contextmanager
def fuzz_site(folder: Path) -> Iterator[FuzzSite]:
    """The site, its fakes running, the admin logged in, errors being recorded."""
    with ExitStack() as stack:
        telegram_api = stack.enter_context(FakeBotApi())
        slack_api = stack.enter_context(FakeSlackApi())
        slack_api.members[SALES] = [SELLER, "UBOT"]
        app = build_app(settings(folder, telegram_api, slack_api))
        stack.callback(app.close)
        telegram = build_telegram(app)
        slack = build_slack(app)
        assert telegram is not None
        assert slack is not None
        web = create_app(app, telegram, slack)
        client = TestClient(
            ServerLog(web), base_url=BASE_URL, follow_redirects=False, raise_server_exceptions=False
        )
        stack.enter_context(client)
        errors = ErrorRecords()
        root = logging.getLogger()
        root.addHandler(errors)
        stack.callback(root.removeHandler, errors)
        site = FuzzSite(app, client, telegram, slack, errors)
        site.response_url = slack_api.response_url("fuzz")
        _log_in(site, "admin")
        _add_lead(app)
        catalog = app.knowledge.current.catalog
        site.intent_ids = tuple(sorted(catalog.intents))
        site.files = tuple(sorted(app.catalog.files()))
        yield site


LEAD_FORM = [
    ("", "form:lead"),
    ("", "form:agree"),
    *((answer, None) for answer in ("Ann", "Acme GmbH", "ann@acme.de", "Germany", "+49 30 1234")),
    ("", "form:choose:company_setup"),
    ("", "form:choose:within_3_months"),
    ("no", None),
    ("", "form:confirm"),
]


def _add_lead(app: App) -> None:
    """Lead 1, from the web chat, so that the lead pages and forms have one to work on."""
    for text, payload in LEAD_FORM:
        app.engine.handle(Incoming("web", "fuzz-lead", "fuzz-lead", text, payload, private=True))
    if app.storage.leads.get(1) is None:
        raise RuntimeError("the lead form did not store a lead")


def _log_in(site: FuzzSite, role: Role) -> None:
    app = site.app
    app.storage.staff.add_user(ADMIN, role, hash_password(PASSWORD), "fuzz")
    response = site.client.post("/login", data={"email": ADMIN, "password": PASSWORD})
    if response.status_code != 303:
        raise RuntimeError(f"the fuzzing admin could not log in: {response.status_code}")
    token = site.client.cookies[COOKIE]
    session = app.storage.staff.session(digest(token))
    assert session is not None
    site.session = token
    site.csrf = session.csrf
    site.client.cookies.clear()
