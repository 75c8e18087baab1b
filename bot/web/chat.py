"""The web chat: the page at / and its JSON endpoints (channel `web`). Public: no login, no
platform tokens.

The browser's conversation is an id the server makes and signs (`bot.web.chat_identity`),
in the `__Host-lingang_chat` cookie (HttpOnly, SameSite=Lax, Secure; see
`bot.web.context.Cookie`), set with its first message; a cookie the server did not sign
starts a new conversation. The conversation is stored under the id's pseudonym, never the
cookie. A message must be JSON (a cross-site form cannot send that without a CORS
preflight, which this app never grants) and must not come from another site by Fetch
Metadata or Origin. Each client (an IPv4 address, an IPv6 /64) may send
`web_chat_per_minute` messages a minute (a burst of that many, then one every 60/n
seconds), counted in the database for every replica together; while the database cannot be
reached, each process counts its own.
"""

import asyncio
import hashlib
import json
import logging
import math
import re
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from bot.adapters import web as web_chat
from bot.app import App
from bot.channels.handoff_relay import unmark
from bot.core import answers
from bot.core.engine import language_of
from bot.core.handoff import notice_buttons
from bot.core.messages import Incoming, Reply
from bot.core.ports import Budget, RateBudget, StorageUnavailable, UnitFailed
from bot.core.records import TranscriptEntry
from bot.web.chat_identity import ChatIdentity, signing_key
from bot.web.context import Web, client_key, cross_site

log = logging.getLogger(__name__)

COOKIE = "__Host-lingang_chat"
MAX_BODY = 32_768  # bytes: 2000 characters, even each one JSON-escaped as a surrogate pair
PERIOD = 60.0  # seconds of the rate limit's window
MAX_CLIENTS = 10_000  # clients remembered before the idle ones are forgotten
# After the shared budget failed, this process counts alone this long before trying it again
# (so an unreachable database does not cost every message a connection timeout).
SHARED_RETRY_SECONDS = 30.0
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


class ChatAllowance:
    """`limit` messages a minute per client for the whole deployment: a shared budget in
    the database (GCRA: a burst of `limit`, then one every `PERIOD / limit` seconds); this
    process's `SlidingWindow` while the database cannot be reached."""

    def __init__(
        self,
        limit: int,
        shared: RateBudget,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limit = limit
        self._shared = shared
        self._clock = clock
        self._monotonic = monotonic
        self._local = SlidingWindow(limit, clock=monotonic)
        self._shared_off_until = 0.0  # monotonic time

    def take(self, client: str) -> int | None:
        """Count a message from `client`: None if it may be sent, else the seconds to wait."""
        if self._monotonic() >= self._shared_off_until:
            # Hashed: the table then holds no addresses (its idle rows go after an hour).
            key = "chat:" + hashlib.sha256(client.encode()).hexdigest()[:32]
            budget = Budget(key, PERIOD / self._limit, self._limit)
            try:
                wait = self._shared.admit(budget, self._clock())
            except StorageUnavailable as exc:
                log.warning("shared chat limit unavailable (%s); counting in this process", exc)
                self._shared_off_until = self._monotonic() + SHARED_RETRY_SECONDS
            else:
                return None if wait <= 0 else max(1, math.ceil(wait))
        return self._local.take(client)


def _refusal(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        {"detail": detail}, status_code=status, headers={**NO_STORE, **(headers or {})}
    )


async def _message_of(request: Request) -> web_chat.WebMessage | Response:
    """The message in the request's body, or the refusal: 413 over `MAX_BODY` bytes (read no
    further), 400 for anything but one message's JSON (nesting too deep to decode included)."""
    body = bytearray()
    async for chunk in request.stream():  # stop reading at the limit, not after it
        body += chunk
        if len(body) > MAX_BODY:
            return _refusal(
                413, f"the message is too long (at most {web_chat.MAX_TEXT} characters)"
            )
    try:
        return web_chat.parse(json.loads(body))
    except RecursionError:
        return _refusal(400, "not valid JSON: nested too deeply")
    except ValueError as error:  # json.JSONDecodeError and BadMessage both are
        detail = str(error) if isinstance(error, web_chat.BadMessage) else "not valid JSON"
        return _refusal(400, detail)


def _answer(app: App, incoming: Incoming) -> list[Reply]:
    """The engine's replies, its turn in one transaction (done again without one when that
    transaction failed: each store's call then handles the database its own way)."""
    try:
        with app.storage.database.unit():
            return app.engine.handle(incoming)
    except UnitFailed:
        return app.engine.handle(incoming, observed=False)  # counted the first time


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
    settings = web.app.settings
    allowance = ChatAllowance(settings.web_chat_per_minute, web.app.storage.web_chat_budget)
    identity = ChatIdentity(signing_key(settings.cookie_secret, settings.data_dir))

    def conversation_of(request: Request) -> str | None:
        """The pseudonym of the browser's conversation, if its cookie is one we issued."""
        return identity.pseudonym_of(web.cookie(request, COOKIE).read(request))

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
        wait = await asyncio.to_thread(allowance.take, client_key(request))
        if wait is not None:
            return _refusal(
                429,
                f"too many messages; please wait {wait} seconds and send it again",
                {"Retry-After": str(wait)},
            )
        message = await _message_of(request)
        if isinstance(message, Response):
            return message
        conversation = conversation_of(request)
        issued = None
        if conversation is None:
            issued, conversation = identity.issue()
        incoming = web_chat.to_incoming(
            message, conversation, request.headers.get("Accept-Language")
        )
        replies = await asyncio.to_thread(_answer, web.app, incoming)
        response = JSONResponse(web_chat.render_all(replies), headers=NO_STORE)
        if issued is not None:
            web.cookie(request, COOKIE).set(response, issued)
        return response

    @router.get("/chat/history", include_in_schema=False)
    async def chat_history(request: Request) -> Response:
        """The browser's conversation so far; `kept` is false for a button press or form
        answer, which the transcript keeps only as a placeholder."""
        conversation = conversation_of(request)
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
        conversation = conversation_of(request)
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
