"""The routes every platform message arrives by (Telegram's webhook, Slack's request URL) are
served ahead of FastAPI's routing: a POST to one of their paths goes through the edge the other
routes have (the request id, the security headers, the body limits, and the same answers to a
database that is down, a value out of range or a crash) straight to a plain ASGI endpoint,
without FastAPI's middleware stack, its match over every page's route, its request handler and
dependency machinery, none of which these two routes use.

Any other method on those paths gets 405, as from FastAPI; every other request goes to FastAPI.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.core.ports import OutOfRange, StorageUnavailable
from bot.web.errors import database_down, out_of_range
from bot.web.headers import SecurityHeaders
from bot.web.limits import BodyLimits, BodyTooLarge
from bot.web.request_ids import RequestIds

METHOD = "POST"


class Disconnected(Exception):
    """The client went away before its whole body arrived (nobody to answer)."""


async def read_body(receive: Receive) -> bytes:
    """The whole request body (its size is bounded by `BodyLimits`)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Disconnected
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def header(scope: Scope, name: bytes) -> str | None:
    """The first value of the header `name` (lower case), as Starlette reads it."""
    for key, value in scope["headers"]:
        if key == name:
            text: str = value.decode("latin-1")
            return text
    return None


class _Endpoints:
    """Dispatch on the path; answer refusals and crashes as the FastAPI app would."""

    def __init__(self, endpoints: Mapping[str, ASGIApp]) -> None:
        self._endpoints = dict(endpoints)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method, path = scope["method"], scope["path"]
        if method != METHOD:
            answer = PlainTextResponse("Method Not Allowed", 405, headers={"Allow": METHOD})
            await answer(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        refusal: Response | None = None
        try:
            await self._endpoints[path](scope, receive, tracked)
        except Disconnected:
            return  # nobody to answer
        except BodyTooLarge:
            raise  # BodyLimits answers 413
        except StorageUnavailable:
            refusal = database_down(method, path)
        except OutOfRange:
            refusal = out_of_range(method, path)
        except Exception:
            if not started:  # as Starlette's ServerErrorMiddleware, then the server logs it
                await PlainTextResponse("Internal Server Error", 500)(scope, receive, send)
            raise
        if refusal is not None:
            if started:
                raise RuntimeError("a refusal after the response started")
            await refusal(scope, receive, send)


class Site(FastAPI):
    """The FastAPI app, and the `fast` endpoints (path -> ASGI app) served ahead of it."""

    def __init__(self, *, fast: Mapping[str, ASGIApp], **options: Any) -> None:
        super().__init__(**options)
        self.fast_paths = frozenset(fast)
        # The same edge as the FastAPI app's (bot.web.app), in the same order.
        self._edge: ASGIApp = RequestIds(SecurityHeaders(BodyLimits(_Endpoints(fast))))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one connection's request (or the lifespan, through FastAPI)."""
        if scope["type"] == "http" and scope["path"] in self.fast_paths:
            await self._edge(scope, receive, send)
            return
        await super().__call__(scope, receive, send)
