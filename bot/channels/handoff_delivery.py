"""Sending what a handoff relays, one platform call at a time, and telling apart the failures
that pass (rate limits, 5xx, the network: `TryLater`) from those that do not (the person
blocked the bot, the chat is gone, the message is refused: `Unreachable`).

Each prospect channel has a `ProspectChannel`: Telegram (`send_message` through the bot's
flood-limited request pipeline), a Slack DM, and the web chat, where the page has no push and
the transcript itself is the delivery (the page polls it). Slack posts wait for a slot of
the channel's shared rate budget (Slack takes about one message a second per channel).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.adapters import slack as slack_adapter
from bot.adapters import telegram as telegram_adapter
from bot.adapters.slack import SlackMessage
from bot.channels.telegram import markup
from bot.core.messages import Reply
from bot.core.ports import Budget, RateBudget, StorageUnavailable
from bot.core.records import Handoff

log = logging.getLogger(__name__)

# python-telegram-bot 22: `RetryAfter.retry_after` as a `timedelta` (as in bot.channels.telegram).
os.environ.setdefault("PTB_TIMEDELTA", "true")

Reason = Literal["blocked", "gone", "refused"]
SLACK_PER_SECOND = 1.0  # chat.postMessage: about one message a second per channel
SLACK_BURST = 2
# Slack errors that mean the conversation cannot be reached (or our post is gone for good).
SLACK_GONE = frozenset(
    {"channel_not_found", "is_archived", "not_in_channel", "account_inactive", "user_not_found",
     "user_disabled", "cannot_dm_bot", "messages_tab_disabled"}
)  # fmt: skip


class TryLater(Exception):
    """The platform could not take it now; `retry_after` seconds when it said so."""

    def __init__(self, error: str, retry_after: float | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.retry_after = retry_after


class Unreachable(Exception):
    """It can never be delivered: `reason` is `blocked`, `gone` or `refused`."""

    def __init__(self, reason: Reason, error: str) -> None:
        super().__init__(error)
        self.reason: Reason = reason
        self.error = error


class ProspectChannel(Protocol):
    """Delivers a message to the prospect of a handoff on one platform."""

    async def deliver(self, handoff: Handoff, reply: Reply) -> None:
        """Send `reply` (rendered by the platform's adapter); raises `TryLater` or
        `Unreachable`."""
        ...


def slack_failure(exc: Exception) -> TryLater | Unreachable:
    """What a failed Web API call means for the relay."""
    if not isinstance(exc, SlackApiError):
        return TryLater(f"network: {type(exc).__name__}")
    status = int(getattr(exc.response, "status_code", 200))
    error = str(exc.response.get("error") or status)
    if status == 429:
        headers = getattr(exc.response, "headers", {}) or {}
        wait = headers.get("Retry-After") or headers.get("retry-after")
        return TryLater("ratelimited", float(wait) if wait else None)
    if status >= 500:
        return TryLater(f"server error {status}")
    return Unreachable("gone" if error in SLACK_GONE else "refused", error)


def relay_client(token: str, base_url: str) -> AsyncWebClient:
    """A Web API client that retries a dropped connection once and leaves 429s to the relay
    (which reschedules the item rather than hold the worker)."""
    client = AsyncWebClient(token=token, base_url=base_url)
    client.retry_handlers = [AsyncConnectionErrorRetryHandler(max_retry_count=1)]
    return client


class SlackPoster:
    """Posts and deletes the app's messages, each post after a slot of its channel's budget
    (shared by the replicas through `budget`; without one, or while it fails, it only waits
    out 429s)."""

    def __init__(self, client: AsyncWebClient, budget: RateBudget | None = None) -> None:
        self.client = client
        self._budget = budget

    async def _slot(self, channel: str) -> None:
        if self._budget is None:
            return
        budget = Budget(f"channel:{channel}", 1 / SLACK_PER_SECOND, SLACK_BURST)
        try:
            wait = await asyncio.to_thread(self._budget.reserve, budget, time.time())
        except StorageUnavailable:
            return
        if wait > 0:
            await asyncio.sleep(wait)

    async def post(self, channel: str, message: SlackMessage, thread_ts: str | None = None) -> str:
        """Post; the new message's ts. Raises `TryLater` or `Unreachable`."""
        await self._slot(channel)
        body: dict[str, Any] = {"channel": channel, **message.body()}
        if thread_ts is not None:
            body["thread_ts"] = thread_ts
        try:
            answer = await self.client.chat_postMessage(**body)
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            raise slack_failure(exc) from exc
        return str(answer.get("ts") or "")

    async def delete(self, channel: str, ts: str) -> None:
        """Delete one of our messages; one that is gone already counts as deleted."""
        try:
            await self.client.chat_delete(channel=channel, ts=ts)
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            failure = slack_failure(exc)
            if isinstance(exc, SlackApiError) and exc.response.get("error") == "message_not_found":
                return
            raise failure from exc


@dataclass(frozen=True, slots=True)
class SlackProspects:
    """Prospects on Slack: in a DM the conversation id is the DM channel; in a channel it is
    `channel/thread_ts` (`bot.adapters.slack.Place`), and the reply goes to that thread."""

    poster: SlackPoster

    async def deliver(self, handoff: Handoff, reply: Reply) -> None:
        """Post `reply` where the prospect talks to the bot."""
        channel, _, thread = handoff.conversation_id.partition("/")
        if thread.startswith("private/"):  # /lingang's private answers: nowhere to post
            raise Unreachable("refused", "a private answer has no conversation to post in")
        for message in slack_adapter.render(reply):
            await self.poster.post(channel, message, thread or None)


@dataclass(frozen=True, slots=True)
class WebProspects:
    """Prospects in the web chat: the page polls the transcript, so appending the message to
    it (which the relay does for every channel) is the delivery; nothing to send."""

    async def deliver(self, handoff: Handoff, reply: Reply) -> None:
        """Nothing to do here."""


def telegram_failure(exc: TelegramError) -> TryLater | Unreachable:
    """What a failed Bot API call means for the relay."""
    if isinstance(exc, RetryAfter):
        pause = exc.retry_after
        seconds = pause if isinstance(pause, int | float) else pause.total_seconds()
        return TryLater("RetryAfter", float(seconds))
    if isinstance(exc, Forbidden):
        return Unreachable("blocked", f"Forbidden: {exc.message}")
    if isinstance(exc, BadRequest):
        gone = "chat not found" in exc.message.lower()
        return Unreachable("gone" if gone else "refused", f"BadRequest: {exc.message}")
    if isinstance(exc, NetworkError):
        return TryLater(f"{type(exc).__name__}: {exc.message}")
    return TryLater(f"{type(exc).__name__}")


@dataclass(frozen=True, slots=True)
class TelegramProspects:
    """Prospects on Telegram: `send_message` to the chat, through the bot's flood limits
    (shared by the replicas); a 429 is not waited out here but rescheduled by the relay."""

    bot: Any  # python-telegram-bot's ExtBot (its rate limiter keeps Telegram's limits)

    async def deliver(self, handoff: Handoff, reply: Reply) -> None:
        """Send `reply` to the chat."""
        for message in telegram_adapter.render(reply):
            body = message.body()
            try:
                await self.bot.send_message(
                    handoff.conversation_id,
                    body["text"],
                    parse_mode=body.get("parse_mode"),
                    reply_markup=markup(body.get("reply_markup")),
                    rate_limit_args=0,
                )
            except TelegramError as exc:
                raise telegram_failure(exc) from exc
