"""The edge of the web app: bodies bounded before anything parses them, Slack's signature
checked before slack-bolt reads a body, security headers on every answer, a /readyz that
tells the public nothing but its status, the proxies whose forwarded headers are believed."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.types import Message

from bot import serve_cli
from bot.app import App, build_app, build_slack
from bot.channels.slack import COMMANDS
from bot.config import ConfigError, Settings, env_names, load_settings
from bot.logs import log_handler
from bot.web.app import create_app
from bot.web.headers import CONTENT_SECURITY_POLICY
from bot.web.limits import limit_for
from tests.fakes.slack_api import BOT_TOKEN, SIGNING_SECRET, FakeSlackApi
from tests.fakes.slack_requests import FORM, dm, encode, signed_headers, slash
from tests.web.conftest import BASE_URL, add_staff, log_in

MB = 1024 * 1024
CHUNK = 64 * 1024
SLACK = "/slack/events"


# -- a raw ASGI client that counts what the app reads --------------------------------------------


@dataclass
class Upload:
    """A request body handed to the app chunk by chunk, as the server would, counted."""

    size: int
    declared: bool
    read: int = 0
    sent: list[Message] = field(default_factory=list)

    async def receive(self) -> Message:
        if self.read >= self.size:
            return {"type": "http.disconnect"}
        chunk = min(CHUNK, self.size - self.read)
        self.read += chunk
        return {"type": "http.request", "body": b"[" * chunk, "more_body": self.read < self.size}

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int:
        starts = [m for m in self.sent if m["type"] == "http.response.start"]
        assert len(starts) == 1, self.sent
        status: int = starts[0]["status"]
        return status


def upload(web: FastAPI, path: str, size: int, *, declared: bool, kind: str) -> Upload:
    """POST `size` bytes to `path`, with a Content-Length when `declared`, else streamed."""
    body = Upload(size, declared)
    headers = [(b"content-type", kind.encode()), (b"host", b"127.0.0.1:8000")]
    if declared:
        headers.append((b"content-length", str(size).encode()))
    else:
        headers.append((b"transfer-encoding", b"chunked"))
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    asyncio.run(web(scope, body.receive, body.send))
    return body


def app_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """Records at INFO or above written by the app and its libraries (not the test client)."""
    return [
        r for r in caplog.records if r.levelno >= logging.INFO and not r.name.startswith("httpx")
    ]


# -- fixtures -------------------------------------------------------------------------------------


@pytest.fixture
def slack_api() -> Iterator[FakeSlackApi]:
    with FakeSlackApi() as fake:
        yield fake


@pytest.fixture
def slack_app(slack_api: FakeSlackApi, tmp_path: Path) -> Iterator[App]:
    wired = build_app(
        Settings(
            _env_file=None,
            LINGANG_DATA_DIR=tmp_path,
            LINGANG_MATCHER="lexical",
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=slack_api.base_url,
        )
    )
    try:
        yield wired
    finally:
        wired.close()


@pytest.fixture
def slack_web(slack_app: App) -> FastAPI:
    """The web app with Slack in HTTP mode (lifespan not run: nothing here reaches bolt)."""
    return create_app(slack_app, None, build_slack(slack_app))


@pytest.fixture
def slack_site(slack_web: FastAPI) -> Iterator[TestClient]:
    with TestClient(slack_web, base_url=BASE_URL) as client:
        yield client


# -- bounded bodies -------------------------------------------------------------------------------


@pytest.mark.parametrize("declared", [True, False], ids=["declared", "streamed"])
def test_a_16_mb_login_form_is_refused_before_it_is_read(site_app: App, declared: bool) -> None:
    sent = upload(
        create_app(site_app), "/login", 16 * MB, declared=declared,
        kind="application/x-www-form-urlencoded",
    )  # fmt: skip
    assert sent.status == 413
    assert sent.read <= limit_for("/login") + CHUNK, "the body was read past the limit"
    if declared:
        assert sent.read == 0, "a declared length over the limit is refused unread"


@pytest.mark.parametrize("declared", [True, False], ids=["declared", "streamed"])
def test_a_16_mb_slack_body_is_refused_before_it_is_read(
    slack_web: FastAPI, declared: bool
) -> None:
    sent = upload(slack_web, SLACK, 16 * MB, declared=declared, kind="application/json")
    assert sent.status == 413
    assert sent.read <= limit_for(SLACK) + CHUNK, "the body was read past the limit"
    if declared:
        assert sent.read == 0


def test_the_limits_are_64_kb_for_login_and_about_a_megabyte_elsewhere() -> None:
    assert limit_for("/login") == 64 * 1024
    assert 64 * 1024 <= limit_for(SLACK) <= 256 * 1024
    assert limit_for("/telegram/webhook") == MB
    assert limit_for("/chat/message") == MB


def test_a_form_under_the_limit_still_logs_in(site_app: App, site: TestClient) -> None:
    add_staff(site_app, "ann@example.com", "sales")
    log_in(site, "ann@example.com")


def test_a_multipart_login_is_refused_unparsed(site_app: App, site: TestClient) -> None:
    add_staff(site_app, "ann@example.com", "sales")
    response = site.post(
        "/login",
        data={"email": "ann@example.com", "password": "correct horse battery staple"},
        files={"file": ("big.bin", b"\0" * 1000, "application/octet-stream")},
    )
    assert response.status_code == 415
    assert "lingang_session" not in response.headers.get("set-cookie", "")


def test_a_refusal_is_one_warning_line_without_a_traceback(
    site: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = b"email=" + b"a" * (limit_for("/login") + 1)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    response = site.post("/login", content=body, headers=form)
    assert response.status_code == 413
    assert response.json()["detail"]
    assert [(r.levelname, r.exc_info) for r in app_lines(caplog)] == [("WARNING", None)]
    assert "aaaa" not in caplog.text


# -- Slack: signature first ------------------------------------------------------------------


def test_an_unsigned_body_is_a_401_with_one_warning_and_the_body_in_no_log(
    slack_site: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "MARKER-ann@acme.de"
    for body in (encode(dm(secret)), json.dumps([secret]).encode(), b"\xff" + secret.encode()):
        caplog.clear()
        response = slack_site.post(SLACK, content=body, headers={"Content-Type": "text/plain"})
        assert response.status_code == 401
        assert [r.levelname for r in app_lines(caplog)] == ["WARNING"]
        assert "MARKER" not in caplog.text


def test_a_forged_header_value_is_a_401_not_a_500(slack_site: TestClient) -> None:
    raw = encode(dm("hello"))
    good = signed_headers(raw)
    for name, value in [
        ("X-Slack-Request-Timestamp", "soon"),
        ("X-Slack-Request-Timestamp", "-1"),
        ("X-Slack-Signature", "v0=\u00e9"),  # slack_sdk's compare_digest raises on it
    ]:
        bad = {k.encode(): v.encode("latin-1") for k, v in {**good, name: value}.items()}
        assert slack_site.post(SLACK, content=raw, headers=bad).status_code == 401


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b"not json at all {", "application/json"),
        (b"[1, 2, 3]", "application/json"),
        (b'"a string"', "application/json"),
        (b"[" * 100_000, "application/json"),
        (b"{" + b'"a":{' * 20_000, "application/json"),
        (b"payload=%5B1%5D", FORM),
        (b"payload=%7Bnot+json", FORM),
        (b'{"type": "event_callback", "enterprise": 5}', "application/json"),
        (b'{"type": "event_callback", "authorizations": "no"}', "application/json"),
        (b'{"type": "event_callback", "event": "x"}', "application/json"),
        (b"payload=" + quote(json.dumps({"type": "block_actions", "actions": []})).encode(), FORM),
        (
            b"payload="
            + quote(json.dumps({"type": "view_submission", "view": {"callback_id": ""}})).encode(),
            FORM,
        ),
        (
            b"payload="
            + quote(json.dumps({"type": "block_actions", "actions": [{"value": "1"}]})).encode(),
            FORM,
        ),
        (b"payload=" + quote(json.dumps({"type": "block_actions", "actions": [[1]]})).encode(),
         FORM),
        (b"payload=" + quote(json.dumps({"type": "block_actions", "actions": {"a": 1}})).encode(),
         FORM),
        (b"payload=" + quote(json.dumps({"type": "block_actions", "user": ["U1"], "actions": [
            {"action_id": "sales:lost", "value": "1"}]})).encode(), FORM),
        (b"payload=" + quote(json.dumps({"type": "block_actions", "channel": "C1", "actions": [
            {"action_id": "sales:lost", "value": "1"}]})).encode(), FORM),
    ],
    ids=[
        "not-json", "array", "string", "deep-array", "deep-object", "form-payload-array",
        "form-payload-broken", "enterprise-number", "authorizations-string", "event-string",
        "no-actions", "view-without-type", "action-without-id", "action-a-list",
        "actions-an-object", "user-a-list", "channel-a-string",
    ],
)  # fmt: skip
def test_a_signed_body_bolt_cannot_read_is_a_400_never_a_500(
    slack_site: TestClient, caplog: pytest.LogCaptureFixture, body: bytes, kind: str
) -> None:
    caplog.set_level(logging.DEBUG)
    response = slack_site.post(SLACK, content=body, headers=signed_headers(body, content_type=kind))
    assert response.status_code == 400
    assert [r.levelname for r in app_lines(caplog)] == ["WARNING"]
    assert all(r.exc_info is None for r in caplog.records)


def test_a_signed_event_and_a_signed_command_still_reach_bolt(
    slack_app: App, slack_api: FakeSlackApi
) -> None:
    with TestClient(create_app(slack_app, None, build_slack(slack_app))) as client:
        raw = encode(dm("how big is Lingang?"))
        assert client.post(SLACK, content=raw, headers=signed_headers(raw)).status_code == 200
        slack_api.wait_for(1)
        assert "119.5 km²" in slack_api.texts()[0]
        command = slash(COMMANDS[0], "how big is Lingang?")
        signed = signed_headers(command, content_type=FORM)
        assert client.post(SLACK, content=command, headers=signed).status_code == 200


def test_bolt_lines_below_warning_are_not_written(capsys: pytest.CaptureFixture[str]) -> None:
    """Bolt logs a request's raw body at INFO when its signature fails."""
    handler = log_handler("text")
    bolt = logging.getLogger("slack_bolt.App")
    bolt.addHandler(handler)
    bolt.setLevel(logging.DEBUG)
    try:
        bolt.info("Invalid request signature detected (body: MARKER)")
        bolt.warning("a warning stays")
    finally:
        bolt.removeHandler(handler)
        bolt.setLevel(logging.NOTSET)
    written = capsys.readouterr().err
    assert "MARKER" not in written
    assert "a warning stays" in written


# -- security headers ----------------------------------------------------------------------------


def test_every_answer_has_the_security_headers(site: TestClient) -> None:
    answers = [
        site.get("/login"),
        site.get("/"),  # the web chat
        site.get("/static/chat.js"),
        site.get("/leads"),  # a redirect to the login page
        site.get("/no/such/page"),
        site.post("/login", content=b"x" * MB, headers={"Content-Type": "text/plain"}),
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 303, 404, 413]
    for answer in answers:
        assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert answer.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "same-origin"
        assert answer.headers["x-frame-options"] == "DENY"


def test_the_policy_allows_scripts_from_the_site_only_and_no_framing() -> None:
    policy = dict(part.strip().split(" ", 1) for part in CONTENT_SECURITY_POLICY.split(";"))
    assert policy["script-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY


# -- /readyz --------------------------------------------------------------------------------------


def test_readyz_says_ready_and_nothing_about_the_catalog(site: TestClient) -> None:
    response = site.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


def test_readyz_is_503_while_the_database_is_down(tmp_path: Path) -> None:
    app = build_app(Settings(_env_file=None, LINGANG_DATA_DIR=tmp_path, LINGANG_MATCHER="lexical"))
    try:
        client = TestClient(create_app(app), base_url=BASE_URL)
        app.storage.database.dispose()
        (tmp_path / "lingang.db").unlink()
        (tmp_path / "lingang.db").mkdir()  # every new connection fails
        response = client.get("/readyz")
    finally:
        app.close()
    assert response.status_code == 503
    assert response.json() == {"status": "database unavailable"}


# -- the trusted proxies -----------------------------------------------------------------------


def test_serve_trusts_forwarded_headers_from_the_configured_proxy_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in env_names():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LINGANG_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LINGANG_MATCHER", "lexical")
    monkeypatch.setenv("LINGANG_FORWARDED_ALLOW_IPS", "172.30.0.2")
    started: list[uvicorn.Config] = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda server, *_: started.append(server.config))
    serve_cli.serve(host="127.0.0.1", port=8000)
    [config] = started
    assert config.proxy_headers is True
    assert config.forwarded_allow_ips == "172.30.0.2"


def test_the_trusted_proxies_default_to_this_machine_and_a_typo_is_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in env_names():
        monkeypatch.delenv(name, raising=False)
    assert load_settings(env_file=None).forwarded_allow_ips == "127.0.0.1"
    monkeypatch.setenv("LINGANG_FORWARDED_ALLOW_IPS", "172.30.0.2, 10.0.0.0/8")
    assert load_settings(env_file=None).forwarded_allow_ips == "172.30.0.2, 10.0.0.0/8"
    monkeypatch.setenv("LINGANG_FORWARDED_ALLOW_IPS", "caddy")
    with pytest.raises(ConfigError, match="LINGANG_FORWARDED_ALLOW_IPS"):
        load_settings(env_file=None)
