"""Telegram's webhook, `POST /telegram/webhook`: the secret token checked, the body read as a
JSON object (at most 1 MB: `bot.web.limits`), the update handed to the Telegram service; its
answer is the HTTP status Telegram gets (200 once the update is kept)."""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from bot.web.fast_paths import header, read_body

PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105  (a header name, not a secret)
_SECRET_HEADER = SECRET_HEADER.lower().encode("latin-1")

Receiver = Callable[[dict[str, Any]], Awaitable[int]]


class TelegramWebhook:
    """ASGI endpoint: one update from Telegram (bot.web.fast_paths serves it)."""

    def __init__(self, receive_webhook: Receiver, secret: str | None) -> None:
        self._receive = receive_webhook
        self._expected = secret.encode() if secret else b""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """403 without the secret, 400 unless the body is a JSON object, else the service's
        status."""
        response = await self._status(scope, receive)
        await response(scope, receive, send)

    async def _status(self, scope: Scope, receive: Receive) -> Response:
        given = (header(scope, _SECRET_HEADER) or "").encode()
        if not self._expected or not hmac.compare_digest(given, self._expected):
            return Response(status_code=403)
        try:
            data = json.loads(await read_body(receive))
        except (ValueError, RecursionError):
            return Response(status_code=400)
        if not isinstance(data, dict):
            return Response(status_code=400)
        return Response(status_code=await self._receive(data))
