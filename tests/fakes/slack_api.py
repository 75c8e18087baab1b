"""A Slack Web API on 127.0.0.1 for tests: slack_sdk's clients (and so slack-bolt) talk to it.

It answers the methods the bot uses, records every call (method, decoded parameters, headers,
time when answered), keeps the messages it was asked to post, serves `response_url`s, and
misbehaves on request: 429 with `Retry-After`, 500, a dropped connection, or a slow answer;
for the next few calls (`fail_next`) or for a while (`fail_until`, an outage).
It speaks HTTP/1.1, so aiohttp's keep-alive connections are reused as with the real Slack.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.http_server import KeepAliveServer

BOT_TOKEN = "xoxb-1-test-token"
SIGNING_SECRET = "0123456789abcdef0123456789abcdef"
APP_TOKEN = "xapp-1-test"
BOT_USER = "UBOT"
BOT_ID = "BBOT"
TEAM = "T0001"
APP_ID = "A0001"
SCOPES = "app_mentions:read,chat:write,commands,im:history,im:write,users:read,usergroups:read"
SLOW = 1.5  # seconds a "slow" call takes
FAULTS = ("429", "500", "drop", "slow")
JSON_FIELDS = ("blocks", "attachments", "metadata")  # JSON strings when form-encoded


@dataclass
class Call:
    """One request the app made (`method` is "respond" for a POST to a response_url)."""

    method: str
    params: dict[str, Any]
    headers: dict[str, str]  # names in canonical case: "Authorization", "Content-Type"
    at: float  # time.monotonic() when answered
    fault: str = ""  # the injected fault it got ("429", "500", "drop"), if any
    error: str = ""  # the `error` of an `"ok": false` answer, if any

    @property
    def ok(self) -> bool:
        """Answered normally with `"ok": true`."""
        return not self.fault and not self.error


@dataclass
class FakeSlackApi:
    """The fake server; use as a context manager."""

    calls: list[Call] = field(default_factory=list)
    faults: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    members: dict[str, list[str]] = field(default_factory=dict)  # channel -> user ids
    usergroups: dict[str, list[str]] = field(default_factory=dict)  # usergroup -> user ids
    users: dict[str, dict[str, Any]] = field(default_factory=dict)  # user id -> users.info
    socket_url: str = ""  # what apps.connections.open answers (FakeSocketMode.url)
    messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    outages: dict[str, tuple[str, float]] = field(default_factory=dict)  # method -> fault, until
    slow_seconds: float = SLOW  # how long a "slow" call takes
    strict_deletes: bool = False  # chat.delete of an unknown message: message_not_found
    _next_ts: int = 100
    _lock: threading.Condition = field(default_factory=threading.Condition)
    _server: KeepAliveServer | None = None

    # -- running ---------------------------------------------------------------------------

    def __enter__(self) -> FakeSlackApi:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive; every answer has a Content-Length

            def do_POST(self) -> None:
                api._serve(self)

            def do_GET(self) -> None:
                api._serve(self)

            def log_message(self, *_: object) -> None:
                return

        self._server = KeepAliveServer(("127.0.0.1", 0), Handler)
        serve = self._server.serve_forever
        threading.Thread(target=serve, args=(0.05,), daemon=True).start()  # quick shutdown
        return self

    def __exit__(self, *_: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server.hang_up()

    @property
    def port(self) -> int:
        """The port the server listens on."""
        assert self._server is not None
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """slack_sdk's `base_url` for this server."""
        return f"http://127.0.0.1:{self.port}/api/"

    @property
    def open_connections(self) -> int:
        """Client connections open now (a keep-alive client reuses one)."""
        assert self._server is not None
        return self._server.open_connections()

    @property
    def opened_connections(self) -> int:
        """Client connections accepted since the fake started."""
        assert self._server is not None
        return self._server.opened_connections()

    def response_url(self, name: str = "r1") -> str:
        """A response_url served here; a POST to it is recorded as method "respond"."""
        return f"http://127.0.0.1:{self.port}/respond/{name}"

    # -- what tests do ----------------------------------------------------------------------

    def fail_next(self, method: str, fault: str, times: int = 1) -> None:
        """Make the next calls of `method` fail ("429", "500", "drop") or be "slow"."""
        assert fault in FAULTS, fault
        with self._lock:
            self.faults[method] += [fault] * times

    def fail_until(self, method: str, fault: str, seconds: float) -> None:
        """Make every call of `method` ("*": of every method, response_urls included) fail
        with `fault` ("429", "500", "drop") for the next `seconds`: an outage. Faults queued
        by `fail_next` come first."""
        assert fault in FAULTS, fault
        with self._lock:
            self.outages[method] = (fault, time.monotonic() + seconds)

    def _outage(self, method: str) -> str:
        now = time.monotonic()
        for name in (method, "*"):
            fault, until = self.outages.get(name, ("", 0.0))
            if now < until:
                return fault
        return ""

    def sent(self, method: str = "chat.postMessage") -> list[dict[str, Any]]:
        """Parameters of every successful call of `method`, in order."""
        return [c.params for c in self.calls_of(method)]

    def calls_of(self, method: str) -> list[Call]:
        """Every successful call of `method`, with its headers and time."""
        with self._lock:
            return [c for c in self.calls if c.method == method and c.ok]

    def texts(self) -> list[str]:
        """The text of every message posted."""
        return [str(p.get("text", "")) for p in self.sent()]

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """A posted message as it is now (after any chat.update), or None."""
        with self._lock:
            found = self.messages.get((channel, ts))
            return dict(found) if found is not None else None

    def wait_for(self, count: int, method: str = "chat.postMessage", timeout: float = 10.0) -> None:
        """Block until `method` has been called successfully `count` times."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.sent(method)) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{method}: {len(self.sent(method))} of {count} calls")
                self._lock.wait(left)

    # -- the protocol -----------------------------------------------------------------------

    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        url = urlsplit(request.path)
        body = _read_body(request)
        if url.path.startswith("/api/"):
            method, hook = url.path.removeprefix("/api/"), ""
        elif url.path.startswith("/respond/"):
            method, hook = "respond", url.path.removeprefix("/respond/")
        else:
            return _reply(request, 404, b"not found", "text/plain")
        headers = {_canonical(k): v for k, v in request.headers.items()}
        try:
            params = _params(url.query, body, headers.get("Content-Type", ""))
        except ValueError:
            return _reply(request, 400, b"invalid body", "text/plain")
        if hook:
            params["_hook"] = hook
        with self._lock:
            fault = self.faults[method].pop(0) if self.faults[method] else ""
            fault = fault or self._outage(method)
        if fault == "slow":  # answers, but only after a while
            time.sleep(self.slow_seconds)
            fault = ""
        answer = {} if fault or hook else self._answer(method, params, headers)
        with self._lock:
            error = "" if answer.get("ok", True) else str(answer.get("error"))
            self.calls.append(Call(method, params, headers, time.monotonic(), fault, error))
            self._lock.notify_all()
        if fault == "drop":
            request.close_connection = True
            with contextlib.suppress(OSError):
                request.connection.shutdown(socket.SHUT_RDWR)
            return None
        if fault == "429":
            limited = json.dumps({"ok": False, "error": "ratelimited"}).encode()
            return _reply(request, 429, limited, extra={"Retry-After": "1"})
        if fault == "500":
            failed = json.dumps({"ok": False, "error": "internal_error"}).encode()
            return _reply(request, 500, failed)
        if hook:
            return _reply(request, 200, b"ok", "text/plain")
        return _reply(request, 200, json.dumps(answer).encode(), extra={"X-OAuth-Scopes": SCOPES})

    def _answer(self, method: str, params: dict[str, Any], headers: dict[str, str]) -> Any:
        auth = headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else ""
        token = token or str(params.get("token", ""))
        needed = APP_TOKEN if method == "apps.connections.open" else BOT_TOKEN
        if not token:
            return {"ok": False, "error": "not_authed"}
        if token != needed:
            return {"ok": False, "error": "invalid_auth"}
        answer = {
            "auth.test": _auth_test,
            "chat.postMessage": self._post,
            "chat.postEphemeral": lambda _: {"ok": True, "message_ts": self._ts()},
            "chat.update": self._update,
            "chat.delete": self._delete,
            "conversations.members": self._members,
            "usergroups.users.list": lambda p: {
                "ok": True,
                "users": self.usergroups.get(str(p.get("usergroup", "")), []),
            },
            "conversations.open": lambda p: {
                "ok": True,
                "channel": {"id": "D" + str(p.get("users", "")).split(",")[0]},
            },
            "users.info": lambda p: {"ok": True, "user": self._user(str(p.get("user", "")))},
            "apps.connections.open": self._connections_open,
        }.get(method)
        return answer(params) if answer is not None else {"ok": True}

    def _ts(self) -> str:
        with self._lock:
            self._next_ts += 1
            return f"1700000000.{self._next_ts:06d}"

    def _post(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = str(params.get("channel", ""))
        if channel[:1] in ("U", "W"):  # a user id posts to the DM with that user
            channel = "D" + channel
        ts = self._ts()
        message: dict[str, Any] = {
            "type": "message",
            "text": params.get("text", ""),
            "blocks": params.get("blocks", []),
            "user": BOT_USER,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": TEAM,
            "ts": ts,
        }
        if params.get("thread_ts"):
            message["thread_ts"] = params["thread_ts"]
        with self._lock:
            self.messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _update(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(params.get("channel", "")), str(params.get("ts", ""))
        with self._lock:
            message = self.messages.get((channel, ts))
            if message is None:
                return {"ok": False, "error": "message_not_found"}
            for name in ("text", "blocks", "attachments"):
                if name in params:
                    message[name] = params[name]
            message["edited"] = {"user": BOT_USER, "ts": f"{time.time():.6f}"}
            return {
                "ok": True,
                "channel": channel,
                "ts": ts,
                "text": message.get("text", ""),
                "message": dict(message),
            }

    def _delete(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(params.get("channel", "")), str(params.get("ts", ""))
        with self._lock:
            found = self.messages.pop((channel, ts), None)
        if found is None and self.strict_deletes:
            return {"ok": False, "error": "message_not_found"}
        return {"ok": True, "channel": channel, "ts": ts}

    def _members(self, params: dict[str, Any]) -> dict[str, Any]:
        found = self.members.get(str(params.get("channel", "")), [])
        return {"ok": True, "members": found, "response_metadata": {"next_cursor": ""}}

    def _connections_open(self, _: dict[str, Any]) -> dict[str, Any]:
        if not self.socket_url:
            return {"ok": False, "error": "no_socket_url"}  # the fake's own: attach one
        return {"ok": True, "url": self.socket_url}

    def _user(self, user: str) -> dict[str, Any]:
        plain = {"id": user, "name": user.lower(), "real_name": f"User {user}", "is_bot": False}
        return {**plain, "team_id": TEAM, **self.users.get(user, {})}


def _auth_test(_: dict[str, Any]) -> dict[str, Any]:
    return {
        "ok": True,
        "url": "https://test.slack.com/",
        "team": "Test",
        "user": "lingang",
        "team_id": TEAM,
        "user_id": BOT_USER,
        "bot_id": BOT_ID,
        "is_enterprise_install": False,
    }


def _canonical(name: str) -> str:
    return "-".join(part.capitalize() for part in name.split("-"))


def _read_body(request: BaseHTTPRequestHandler) -> bytes:
    if request.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks: list[bytes] = []
        while True:
            size = int(request.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while request.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            chunks.append(request.rfile.read(size))
            request.rfile.readline()
    length = int(request.headers.get("Content-Length", 0) or 0)
    return request.rfile.read(length) if length else b""


def _params(query: str, body: bytes, content_type: str) -> dict[str, Any]:
    """Query string, then the form or JSON body; JSON strings of blocks etc. decoded."""
    params: dict[str, Any] = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
    kind = content_type.split(";", maxsplit=1)[0].strip().lower()
    if body and kind == "application/json":
        decoded = json.loads(body)
        if not isinstance(decoded, dict):
            raise ValueError("a JSON body must be an object")
        params.update(decoded)
    elif body:
        form = parse_qs(body.decode(), keep_blank_values=True)
        params.update({k: v[-1] for k, v in form.items()})
    for name in JSON_FIELDS:
        value = params.get(name)
        if isinstance(value, str) and value[:1] in ("[", "{"):
            params[name] = json.loads(value)
    return params


def _reply(
    request: BaseHTTPRequestHandler,
    status: int,
    data: bytes,
    content_type: str = "application/json; charset=utf-8",
    extra: dict[str, str] | None = None,
) -> None:
    request.send_response(status)
    request.send_header("Content-Type", content_type)
    request.send_header("Content-Length", str(len(data)))
    for name, value in (extra or {}).items():
        request.send_header(name, value)
    request.end_headers()
    request.wfile.write(data)
