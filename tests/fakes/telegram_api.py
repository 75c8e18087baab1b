"""A Telegram Bot API on 127.0.0.1 for tests: python-telegram-bot talks to it for real.

It answers the methods the bot uses, serves queued updates to `getUpdates`, records every
call (method, parameters, time when answered), and misbehaves on request: 429 with
`retry_after`, 500, a dropped connection, or a slow answer; for the next few calls
(`fail_next`) or for a while (`fail_until`, an outage).
It speaks HTTP/1.1 and keeps connections alive, as Telegram does, so httpx reuses them.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs

from tests.fakes.http_server import KeepAliveServer

BOT = {"id": 4242, "is_bot": True, "first_name": "Lingang", "username": "lingang_test_bot"}
TOKEN = "4242:AAHtest-token-for-the-fake-api-0123456789"
SECRET = "webhook-secret-0123456789"  # TELEGRAM_WEBHOOK_SECRET in tests
LONG_POLL = 0.2  # seconds getUpdates waits for an update before it answers empty
SLOW = 1.5  # seconds a "slow" call takes


@dataclass
class Call:
    """One request the bot made."""

    method: str
    params: dict[str, Any]
    at: float


@dataclass
class FakeBotApi:
    """The fake server; use as a context manager."""

    calls: list[Call] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    faults: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    webhook_url: str = ""
    outages: dict[str, tuple[str, float]] = field(default_factory=dict)  # method -> fault, until
    slow_seconds: float = SLOW  # how long a "slow" call takes
    keep_alive: bool = True  # False: every answer closes its connection (as HTTP/1.0 did)
    arrived: list[str] = field(default_factory=list)  # methods, as requests come in
    blocked: set[int] = field(default_factory=set)  # chats whose person blocked the bot (403)
    _next_message: int = 100
    _next_update: int = 1000
    _lock: threading.Condition = field(default_factory=threading.Condition)
    _server: KeepAliveServer | None = None

    # -- running ---------------------------------------------------------------------------

    def __enter__(self) -> FakeBotApi:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive; every answer has a Content-Length

            def do_POST(self) -> None:
                api._serve(self)

            def end_headers(self) -> None:
                if not api.keep_alive:
                    self.send_header("Connection", "close")
                super().end_headers()

            def log_message(self, *_: object) -> None:
                return

        self._server = KeepAliveServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server.hang_up()

    @property
    def base_url(self) -> str:
        """`TELEGRAM_API_BASE_URL` for this server."""
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/bot"

    @property
    def open_connections(self) -> int:
        """Client connections open now (a keep-alive client reuses them)."""
        assert self._server is not None
        return self._server.open_connections()

    @property
    def opened_connections(self) -> int:
        """Client connections accepted since the fake started."""
        assert self._server is not None
        return self._server.opened_connections()

    # -- what tests do ----------------------------------------------------------------------

    def fail_next(self, method: str, fault: str, times: int = 1) -> None:
        """Make the next calls of `method` fail ("429", "500", "drop") or be "slow"."""
        with self._lock:
            self.faults[method] += [fault] * times

    def fail_until(self, method: str, fault: str, seconds: float) -> None:
        """Make every call of `method` ("*": of every method) fail with `fault` ("429", "500",
        "drop") for the next `seconds`: an outage. Faults queued by `fail_next` come first."""
        with self._lock:
            self.outages[method] = (fault, time.monotonic() + seconds)

    def _outage(self, method: str) -> str | None:
        now = time.monotonic()
        for name in (method, "*"):
            fault, until = self.outages.get(name, ("", 0.0))
            if now < until:
                return fault
        return None

    def wait_arrived(self, method: str, count: int = 1, timeout: float = 10) -> None:
        """Block until `count` requests of `method` came in (answered yet or not)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self.arrived.count(method) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{method}: {self.arrived.count(method)} of {count}")
                self._lock.wait(left)

    def push(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update for getUpdates; it gets the next update_id unless it has one."""
        with self._lock:
            if "update_id" not in update:
                self._next_update += 1
                update = {"update_id": self._next_update, **update}
            self.updates.append(update)
            self._lock.notify_all()
        return update

    def sent(self, method: str = "sendMessage") -> list[dict[str, Any]]:
        """Parameters of every successful call of `method`, in order."""
        with self._lock:
            return [c.params for c in self.calls if c.method == method and "fault" not in c.params]

    def calls_of(self, method: str) -> list[Call]:
        """Every successful call of `method`, with its time."""
        with self._lock:
            return [c for c in self.calls if c.method == method and "fault" not in c.params]

    def texts(self) -> list[str]:
        """The text of every message sent."""
        return [str(p["text"]) for p in self.sent()]

    def wait_for(self, count: int, method: str = "sendMessage", timeout: float = 10) -> None:
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
        method = request.path.rsplit("/", 1)[-1]
        length = int(request.headers.get("Content-Length", 0))
        raw = request.rfile.read(length).decode() if length else ""
        params = {k: _value(v[0]) for k, v in parse_qs(raw, keep_blank_values=True).items()}
        with self._lock:
            self.arrived.append(method)
            self._lock.notify_all()
            fault = self.faults[method].pop(0) if self.faults[method] else None
            fault = fault or self._outage(method)
            if not fault and method == "sendMessage" and _chat(params) in self.blocked:
                fault = "403"
        if fault == "slow":  # answers, but only after a while
            time.sleep(self.slow_seconds)
            fault = None
        with self._lock:
            self.calls.append(
                Call(method, {**params, **({"fault": fault} if fault else {})}, time.monotonic())
            )
            self._lock.notify_all()
        if fault == "drop":
            request.close_connection = True
            request.connection.close()
            return None
        if fault == "429":
            body = {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 1",
                "parameters": {"retry_after": 1},
            }
            return _reply(request, 429, body)
        if fault == "403":
            body = {
                "ok": False,
                "error_code": 403,
                "description": "Forbidden: bot was blocked by the user",
            }
            return _reply(request, 403, body)
        if fault == "500":
            return _reply(
                request,
                500,
                {"ok": False, "error_code": 500, "description": "Internal Server Error"},
            )
        return _reply(request, 200, {"ok": True, "result": self._result(method, params)})

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return BOT
        if method == "getUpdates":
            return self._get_updates(int(params.get("offset", 0) or 0))
        if method == "sendMessage":
            with self._lock:
                self._next_message += 1
                number = self._next_message
            chat = int(params["chat_id"])
            kind = "private" if chat > 0 else "group"
            return {
                "message_id": number,
                "date": int(time.time()),
                "text": params.get("text", ""),
                "chat": {"id": chat, "type": kind},
                "from": BOT,
            }
        if method == "setWebhook":
            self.webhook_url = str(params.get("url", ""))
            return True
        if method == "deleteWebhook":
            self.webhook_url = ""
            return True
        if method == "getWebhookInfo":
            return {
                "url": self.webhook_url,
                "has_custom_certificate": False,
                "pending_update_count": 0,
            }
        return True  # answerCallbackQuery, setMyCommands, sendChatAction, ...

    def _get_updates(self, offset: int) -> list[dict[str, Any]]:
        deadline = time.monotonic() + LONG_POLL
        with self._lock:
            while True:
                waiting = [u for u in self.updates if u["update_id"] >= offset]
                left = deadline - time.monotonic()
                if waiting or left <= 0:
                    return waiting[:100]
                self._lock.wait(left)


def _chat(params: dict[str, Any]) -> int | None:
    try:
        return int(params.get("chat_id", ""))
    except (TypeError, ValueError):
        return None


def _value(text: str) -> Any:
    if text[:1] in "{[":
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def _reply(request: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    request.send_response(status)
    request.send_header("Content-Type", "application/json")
    request.send_header("Content-Length", str(len(data)))
    request.end_headers()
    request.wfile.write(data)


# -- updates as Telegram sends them -----------------------------------------------------------

USER = {"id": 777, "is_bot": False, "first_name": "Ann", "language_code": "en"}


def user(user_id: int = 777, language: str = "en") -> dict[str, Any]:
    """A Telegram user."""
    return {**USER, "id": user_id, "language_code": language}


def message(
    text: str, chat: int = 777, sender: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    """An update with a text message (a private chat when `chat` is positive)."""
    who = sender or user(chat if chat > 0 else 777)
    kind = "private" if chat > 0 else "supergroup"
    body: dict[str, Any] = {
        "message_id": 1,
        "date": int(time.time()),
        "chat": {"id": chat, "type": kind},
        "from": who,
        "text": text,
        **extra,
    }
    return {"message": body}


def press(data: str, chat: int = 777, sender: dict[str, Any] | None = None) -> dict[str, Any]:
    """An update with a button press (callback query)."""
    who = sender or user(chat)
    shown = {
        "message_id": 5,
        "date": int(time.time()),
        "chat": {"id": chat, "type": "private"},
        "from": BOT,
        "text": "...",
    }
    return {
        "callback_query": {
            "id": f"cb{time.monotonic_ns()}",
            "from": who,
            "chat_instance": "x",
            "data": data,
            "message": shown,
        }
    }


def shared_contact(phone: str, chat: int = 777) -> dict[str, Any]:
    """An update with the sender's own contact, shared with the one-tap button."""
    who = user(chat)
    contact = {"phone_number": phone, "first_name": "Ann", "user_id": chat}
    body = {
        "message_id": 2,
        "date": int(time.time()),
        "chat": {"id": chat, "type": "private"},
        "from": who,
        "contact": contact,
    }
    return {"message": body}


def sticker(chat: int = 777) -> dict[str, Any]:
    """An update with a sticker."""
    body = {
        "message_id": 3,
        "date": int(time.time()),
        "chat": {"id": chat, "type": "private"},
        "from": user(chat),
        "sticker": {
            "file_id": "s1",
            "file_unique_id": "s1",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "type": "regular",
        },
    }
    return {"message": body}
