"""Telegram's flood limits, kept before Telegram has to enforce them (python-telegram-bot's
`BaseRateLimiter` seam).

About 30 messages a second per bot, one a second per private chat, 20 a minute per group
(https://core.telegram.org/bots/faq). A 429 (`RetryAfter`) pauses every request for the time
Telegram asks, then the request is tried again, up to `max_retries` times.

Several replicas send as one bot, so with a shared `RateBudget` (the database) the budgets
and a 429's pause hold for all of them together. A reply's first message can have its slots
taken beforehand, in the transaction of the turn that decided it (`prepay`): sending it then
costs no transaction of its own. While the database cannot be reached, each
replica falls back to budgets of its own, so sending never stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.core.ports import Budget, RateBudget, StorageUnavailable, UnitFailed

log = logging.getLogger(__name__)

# `RetryAfter.retry_after` warns on every 429 unless durations are opted in to `timedelta`
# (python-telegram-bot 22; as in bot.channels.telegram). The code below handles both types.
os.environ.setdefault("PTB_TIMEDELTA", "true")

JSONDict = dict[str, Any]
Callback = Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]]
# Requests that put a message in a chat; typing indicators and callback answers do not count.
MESSAGE_ENDPOINTS = ("send", "copyMessage", "forwardMessage", "editMessage")
NOT_MESSAGES = ("sendChatAction",)
MAX_CHAT_LIMITERS = 4096
# After the shared budget failed, the local budgets are used this long before trying it again
# (so an unreachable database does not cost every message a connection timeout).
SHARED_RETRY_SECONDS = 30.0
# A slot taken beforehand and not used within this many seconds is dropped (its time has gone).
PREPAID_FOR = 5.0


@dataclass(frozen=True, slots=True)
class _Prepaid:
    taken: int  # how many of the chat's budgets (chat, overall) were taken
    at: float  # when the message may go (seconds since the epoch)


class ChatRateLimiter(BaseRateLimiter[int]):
    """Overall, per-private-chat and per-group budgets, plus waiting out 429s; shared with
    the other replicas through `budget` when one is given."""

    def __init__(
        self,
        per_second: float = 30,
        per_private_chat_second: float = 1,
        per_group_minute: float = 20,
        max_retries: int = 3,
        budget: RateBudget | None = None,
    ) -> None:
        self._budget = budget
        self._shared_off_until = 0.0  # monotonic time
        self._overall_budget = Budget("all", 1 / per_second, max(1, int(per_second)))
        self._private_budget = (1 / per_private_chat_second, max(1, int(per_private_chat_second)))
        self._group_budget = (60 / per_group_minute, max(1, int(per_group_minute)))
        self._overall = AsyncLimiter(per_second, 1)
        self._private_rate = per_private_chat_second
        self._group_rate = per_group_minute
        self._chats: dict[int | str, AsyncLimiter] = {}
        self._prepaid: dict[int | str, _Prepaid] = {}
        self._max_retries = max_retries
        self._open = asyncio.Event()
        self._open.set()

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    def _budgets(self, chat: int | str) -> tuple[Budget, ...]:
        """The chat's budget, then the overall one."""
        group = isinstance(chat, str) or chat < 0
        interval, burst = self._group_budget if group else self._private_budget
        return Budget(f"chat:{chat}", interval, burst), self._overall_budget

    def _shared(self) -> RateBudget | None:
        """The shared budget, unless there is none or it failed a moment ago."""
        return self._budget if time.monotonic() >= self._shared_off_until else None

    def _shared_failed(self, exc: StorageUnavailable) -> None:
        if time.monotonic() >= self._shared_off_until:
            log.warning("shared rate budget unavailable (%s); using this process's budgets", exc)
        self._shared_off_until = time.monotonic() + SHARED_RETRY_SECONDS

    def prepay(self, chat_id: int | str) -> None:
        """Take the slots of the next message to `chat_id` now, in the caller's transaction,
        as far as they are free now (blocking: call it in a thread)."""
        shared = self._shared()
        if shared is None:
            return
        chat = _chat_key(chat_id)
        try:
            waits = shared.reserve_chain(self._budgets(chat), time.time())
        except UnitFailed:
            return  # the turn is done again without a transaction of its own; so is this
        except StorageUnavailable as exc:
            self._shared_failed(exc)
            return
        if len(self._prepaid) >= MAX_CHAT_LIMITERS:  # forget slots whose time has gone
            stale = time.time() - PREPAID_FOR
            self._prepaid = {k: v for k, v in self._prepaid.items() if v.at > stale}
        self._prepaid[chat] = _Prepaid(len(waits), time.time() + waits[-1])

    async def _shared_slot(self, chat: int | str) -> bool:
        """Wait for the request's slot in the shared budget; False when there is none to use
        (then this process's budgets apply)."""
        shared = self._shared()
        if shared is None:
            return False
        budgets = self._budgets(chat)
        prepaid = self._prepaid.pop(chat, None)
        if prepaid is not None and time.time() - prepaid.at < PREPAID_FOR:
            if prepaid.at > time.time():
                await asyncio.sleep(prepaid.at - time.time())
            budgets = budgets[prepaid.taken :]
        # Like `async with chat_limiter, overall`: the overall slot is taken only once the
        # chat's has come, so one busy chat never holds the others back.
        for budget in budgets:
            try:
                wait = await asyncio.to_thread(shared.reserve, budget, time.time())
            except StorageUnavailable as exc:
                self._shared_failed(exc)
                return False
            if wait > 0:
                await asyncio.sleep(wait)
        return True

    async def _share_pause(self, until: float) -> None:
        """Make the other replicas hold back too (best effort)."""
        shared = self._shared()
        if shared is None:
            return
        try:
            await asyncio.to_thread(shared.pause, until)
        except StorageUnavailable as exc:
            self._shared_failed(exc)

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
        given = data.get("chat_id")
        chat = None if given is None else _chat_key(given)
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
                    if await self._shared_slot(chat):
                        return await callback(*args, **kwargs)
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
                await self._share_pause(time.time() + seconds)
                try:
                    await asyncio.sleep(seconds + 0.1)
                finally:
                    self._open.set()


def _chat_key(chat_id: Any) -> Any:
    """A chat's key in the budgets: its number, or its @username."""
    with contextlib.suppress(TypeError, ValueError):
        return int(chat_id)
    return chat_id
