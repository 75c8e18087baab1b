"""Telegram's flood limits, kept before Telegram has to enforce them (python-telegram-bot's
`BaseRateLimiter` seam).

About 30 messages a second per bot, one a second per private chat, 20 a minute per group
(https://core.telegram.org/bots/faq). A 429 (`RetryAfter`) pauses every request for the time
Telegram asks, then the request is tried again, up to `max_retries` times.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

log = logging.getLogger(__name__)

JSONDict = dict[str, Any]
Callback = Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]]
# Requests that put a message in a chat; typing indicators and callback answers do not count.
MESSAGE_ENDPOINTS = ("send", "copyMessage", "forwardMessage", "editMessage")
NOT_MESSAGES = ("sendChatAction",)
MAX_CHAT_LIMITERS = 4096


class ChatRateLimiter(BaseRateLimiter[int]):
    """Overall, per-private-chat and per-group budgets, plus waiting out 429s."""

    def __init__(
        self,
        per_second: float = 30,
        per_private_chat_second: float = 1,
        per_group_minute: float = 20,
        max_retries: int = 3,
    ) -> None:
        self._overall = AsyncLimiter(per_second, 1)
        self._private_rate = per_private_chat_second
        self._group_rate = per_group_minute
        self._chats: dict[int | str, AsyncLimiter] = {}
        self._max_retries = max_retries
        self._open = asyncio.Event()
        self._open.set()

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    def _chat_limiter(self, chat: int | str) -> AsyncLimiter:
        if chat not in self._chats:
            if len(self._chats) >= MAX_CHAT_LIMITERS:  # forget idle chats
                for key, limiter in list(self._chats.items()):
                    if limiter.has_capacity(limiter.max_rate):
                        del self._chats[key]
            group = isinstance(chat, str) or chat < 0
            self._chats[chat] = (
                AsyncLimiter(self._group_rate, 60) if group else AsyncLimiter(self._private_rate, 1)
            )
        return self._chats[chat]

    async def process_request(  # noqa: PLR0917  (the signature is python-telegram-bot's)
        self,
        callback: Callback,
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | JSONDict | list[JSONDict]:
        """Wait for the budgets the request needs, send it, and wait out a 429."""
        chat: int | str | None = data.get("chat_id")
        with contextlib.suppress(TypeError, ValueError):
            chat = int(chat)  # type: ignore[arg-type]
        limited = (
            chat is not None
            and endpoint.startswith(MESSAGE_ENDPOINTS)
            and endpoint not in NOT_MESSAGES
        )
        retries = self._max_retries if rate_limit_args is None else rate_limit_args
        attempt = 0
        while True:
            try:
                await self._open.wait()
                if limited and chat is not None:
                    async with self._chat_limiter(chat), self._overall:
                        return await callback(*args, **kwargs)
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                attempt += 1
                if attempt > retries:
                    raise
                pause = exc.retry_after
                seconds = pause if isinstance(pause, int | float) else pause.total_seconds()
                log.warning("Telegram asked to wait %.1f s (429); pausing all requests", seconds)
                self._open.clear()
                try:
                    await asyncio.sleep(seconds + 0.1)
                finally:
                    self._open.set()
