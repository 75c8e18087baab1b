"""The web chat: the page at / and its JSON endpoints (channel `web`). Public: no login, no
platform tokens.

The browser's conversation is a random id in the `lingang_chat` cookie (HttpOnly,
SameSite=Lax, Secure outside localhost), made on its first message. A message must be JSON
(a cross-site form cannot send that without a CORS preflight, which this app never grants)
and must not come from another site by Fetch Metadata or Origin. Each client (address) may
send `web_chat_per_minute` messages a minute; the count is kept per process, so with N
replicas a client can send up to N times that.
"""

import asyncio
import json
import math
import re
import secrets
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from bot.adapters import web as web_chat
from bot.channels.handoff_relay import unmark
from bot.core import answers
from bot.core.engine import language_of
from bot.core.handoff import notice_buttons
from bot.core.messages import Reply
from bot.core.records import TranscriptEntry
from bot.web.context import Web, client_of, cross_site, is_local

COOKIE = "lingang_chat"
COOKIE_VALUE = re.compile(r"[A-Za-z0-9_-]{32,64}")
MAX_BODY = 32_768  # bytes: 2000 characters, even each one JSON-escaped as a surrogate pair
PERIOD = 60.0  # seconds of the rate limit's window
MAX_CLIENTS = 10_000  # clients remembered before the idle ones are forgotten
# The transcript keeps button presses and form answers as "[...]" placeholders, not their text.
KEPT_AS_PLACEHOLDER = re.compile(r"\[[^\]\n]*\]")
NO_STORE = {"Cache-Control": "no-store"}


class SlidingWindow:
    """At most `limit` messages per client in any `period` seconds, counted in this process."""

    def __init__(
        self, limit: int, period: float = PERIOD, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._limit = limit
        self._period = period
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}

    def take(self, client: str) -> int | None:
        """Count a message from `client`: None if it may be sent, else the seconds to wait."""
        now = self._clock()
        hits = self._hits.setdefault(client, deque())
        while hits and hits[0] <= now - self._period:
            hits.popleft()
        if len(hits) >= self._limit:
            return max(1, math.ceil(hits[0] + self._period - now))
        hits.append(now)
        if len(self._hits) > MAX_CLIENTS:
            self._forget_idle(now)
        return None

    def _forget_idle(self, now: float) -> None:
        idle = [c for c, hits in self._hits.items() if not hits or hits[-1] <= now - self._period]
        for client in idle:
            del self._hits[client]


def _refusal(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        {"detail": detail}, status_code=status, headers={**NO_STORE, **(headers or {})}
    )


def _conversation_of(request: Request) -> str | None:
    """The browser's conversation id from its cookie, if it has a well-formed one."""
    value = request.cookies.get(COOKIE, "")
    return value if COOKIE_VALUE.fullmatch(value) else None


def _is_json(request: Request) -> bool:
    media_type = request.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
    return media_type == "application/json"


def _relayed(entries: list[TranscriptEntry]) -> list[TranscriptEntry]:
    """The messages a person from the team sent (or the bot said about them) while the
    conversation was handed over: the page has no push, so it polls for these."""
    return [e for e in entries if e.direction == "out" and unmark(e.intent_id) is not None]


def routes(web: Web) -> APIRouter:
    """`GET /`, `POST /chat/messages`, `GET /chat/history`, `GET /chat/relayed`."""
    router = APIRouter()
    window = SlidingWindow(web.app.settings.web_chat_per_minute)

    @router.get("/", include_in_schema=False)
    async def chat_page(request: Request) -> Response:
        """The chat page, opening with the catalog's welcome in the browser's language."""
        hint = web_chat.language_hint(request.headers.get("Accept-Language"))
        lang = language_of(hint) or "en"
        catalog = web.app.knowledge.current.catalog
        welcome: dict[str, Any] | None = None
        if "welcome" in catalog.intents:
            welcome = web_chat.render(answers.intent_reply(catalog, "welcome", lang))
        return web.page(
            request,
            "chat.html",
            {"lang": lang, "welcome": welcome, "max_text": web_chat.MAX_TEXT},
        )

    @router.post("/chat/messages", include_in_schema=False)
    async def chat_message(request: Request) -> Response:
        """One message or button press from the page; the bot's replies as JSON."""
        if cross_site(request):
            return _refusal(403, "cross-site request refused")
        if not _is_json(request):
            return _refusal(415, "send the message as JSON (Content-Type: application/json)")
        wait = window.take(client_of(request))
        if wait is not None:
            return _refusal(
                429,
                f"too many messages; please wait {wait} seconds and send it again",
                {"Retry-After": str(wait)},
            )
        body = bytearray()
        async for chunk in request.stream():  # stop reading at the limit, not after it
            body += chunk
            if len(body) > MAX_BODY:
                return _refusal(
                    413, f"the message is too long (at most {web_chat.MAX_TEXT} characters)"
                )
        try:
            message = web_chat.parse(json.loads(body))
        except ValueError as error:  # json.JSONDecodeError and BadMessage both are
            detail = str(error) if isinstance(error, web_chat.BadMessage) else "not valid JSON"
            return _refusal(400, detail)
        conversation = _conversation_of(request)
        new = conversation is None
        conversation = conversation or secrets.token_urlsafe(24)
        incoming = web_chat.to_incoming(
            message, conversation, request.headers.get("Accept-Language")
        )
        replies = await asyncio.to_thread(web.app.engine.handle, incoming)
        response = JSONResponse(web_chat.render_all(replies), headers=NO_STORE)
        if new:
            response.set_cookie(
                COOKIE,
                conversation,
                httponly=True,
                samesite="lax",
                secure=not is_local(request.headers.get("Host", "")),
                path="/",
            )
        return response

    @router.get("/chat/history", include_in_schema=False)
    async def chat_history(request: Request) -> Response:
        """The browser's conversation so far; `kept` is false for a button press or form
        answer, which the transcript keeps only as a placeholder."""
        conversation = _conversation_of(request)
        if conversation is None:
            return JSONResponse({"messages": []}, headers=NO_STORE)
        entries = await asyncio.to_thread(
            web.app.storage.transcripts.conversation, web_chat.CHANNEL, conversation
        )
        messages = [
            {
                "direction": e.direction,
                "text": e.text,
                "kept": not KEPT_AS_PLACEHOLDER.fullmatch(e.text),
            }
            for e in entries
        ]
        relayed = len(_relayed(entries))
        return JSONResponse({"messages": messages, "relayed": relayed}, headers=NO_STORE)

    @router.get("/chat/relayed", include_in_schema=False)
    async def chat_relayed(request: Request, after: int = 0) -> Response:
        """What reached the browser's conversation from a person on the team (and the bot's
        notices about it) after the first `after` such messages; `count` is how many there
        are in all. The page asks every few seconds."""
        conversation = _conversation_of(request)
        if conversation is None:
            return JSONResponse({"messages": [], "count": 0}, headers=NO_STORE)
        entries = await asyncio.to_thread(
            web.app.storage.transcripts.conversation, web_chat.CHANNEL, conversation
        )
        relayed = _relayed(entries)
        catalog = web.app.knowledge.current.catalog
        messages = []
        for entry in relayed[max(0, after) :]:
            notice, lang = unmark(entry.intent_id) or (None, "en")
            buttons = notice_buttons(catalog, notice, language_of(lang) or "en") if notice else ()
            messages.append(web_chat.render(Reply(entry.text, buttons, kind="notice")))
        return JSONResponse({"messages": messages, "count": len(relayed)}, headers=NO_STORE)

    return router
