"""Bounded input: no request body is read past its route's limit, and none is multipart.

Unauthenticated bodies reach the app before any guard runs (a login form is parsed before
its password is checked, a Slack body before its signature), so the limit is enforced on the
ASGI messages themselves: a declared `Content-Length` over the limit is refused before a byte
is read, and a streamed body (chunked, no length) is cut off at the limit. Both get a 413 and
one log line. No route takes file uploads, so `multipart/*` (which Starlette would spool to
disk in full) is refused everywhere with a 415.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

KB = 1024
MB = 1024 * KB
DEFAULT_LIMIT = 1 * MB
# A login form is an address, a password and a return path. A Slack event carries a message
# twice (its text and its blocks), an edit four times, a button press the message it was on:
# Slack allows 40,000 characters in a message, so 64 KB would refuse a long message written in
# Chinese (three bytes a character) that Slack then retries in vain; 256 KB holds one.
# Telegram caps a message at 4096 characters; an update is far below 1 MB.
ROUTE_LIMITS: Mapping[str, int] = {
    "/login": 64 * KB,
    "/slack/events": 256 * KB,
    "/telegram/webhook": 1 * MB,
}


def limit_for(path: str) -> int:
    """The most body bytes a request to `path` may carry."""
    return ROUTE_LIMITS.get(path.rstrip("/") or "/", DEFAULT_LIMIT)


class BodyTooLarge(Exception):
    """Raised into the app when a streamed body passes its limit (the answer is a 413)."""


def _refusal(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers={"Connection": "close"})


def _too_large(limit: int) -> JSONResponse:
    return _refusal(413, f"request body over {limit // KB} KB")


class BodyLimits:
    """ASGI middleware: 413 past the route's body limit, 415 for multipart bodies."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check one request (other scopes pass through)."""
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        limit = limit_for(path)
        headers = Headers(scope=scope)
        if headers.get("content-type", "").lower().lstrip().startswith("multipart/"):
            log.warning("%s %s: multipart body refused", method, path)
            await _refusal(415, "multipart bodies are not accepted")(scope, receive, send)
            return
        declared = headers.get("content-length")
        if declared is not None:
            if not declared.isdigit():
                log.warning("%s %s: malformed Content-Length refused", method, path)
                await _refusal(400, "malformed Content-Length")(scope, receive, send)
                return
            if int(declared) > limit:
                log.warning("%s %s: declared body over %d bytes refused", method, path, limit)
                await _too_large(limit)(scope, receive, send)
                return
        await _Counted(self._app, limit).run(scope, receive, send)


class _Counted:
    """One request whose body is counted as the app reads it, and cut off past `limit`."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self._app, self._limit = app, limit
        self._received = 0
        self._exceeded = self._started = self._refused = False

    async def run(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Hand the request to the app; answer 413 instead once the body passed the limit."""

        async def counted_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                self._received += len(message.get("body", b""))
                if self._received > self._limit:
                    if not self._exceeded:
                        self._exceeded = True
                        log.warning(
                            "%s %s: streamed body over %d bytes cut off",
                            scope["method"],
                            scope["path"],
                            self._limit,
                        )
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            if self._exceeded and not self._started:
                # Whatever the app makes of the cut-off body (a parse error, a 400) is
                # replaced by the 413.
                await self._refuse(scope, send)
                return
            if message["type"] == "http.response.start":
                self._started = True
            await send(message)

        try:
            await self._app(scope, counted_receive, guarded_send)
        except BodyTooLarge:
            if self._started:
                raise  # too late for a 413: the server ends the connection
            await self._refuse(scope, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        if self._refused:
            return
        self._refused = True

        async def nothing_more() -> Message:
            return {"type": "http.disconnect"}

        await _too_large(self._limit)(scope, nothing_more, send)
