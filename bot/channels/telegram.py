"""The Telegram connection: python-telegram-bot for the Bot API (polling or our own webhook),
the adapter for translation, the engine for every decision.

Guarantees: every update is kept (payload and all) under its `update_id` before it is
acknowledged or handled: in the inbox, or in the spool the replicas share while the database is
down (`bot.channels.inbox`). A redelivery is not answered twice, in any replica; an update whose
replica died before answering it is answered by another (`recover`). Chats are handled side by
side, each chat's updates in the order they came; callback queries are answered at once;
outgoing messages respect Telegram's flood limits, wait out 429s, retry network errors with
backoff, and are kept in the database for later when they still fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from telegram import (
    Bot,
    BotCommand,
    CallbackQuery,
    InlineKeyboardMarkup,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ChatAction
from telegram.error import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler

from bot.adapters.telegram import CHANNEL, Identity, render, to_incoming
from bot.channels.inbox import INBOX_LEASE, ClaimsOnly, Intake, Ticket, Unkept
from bot.channels.ordering import ChatOrder
from bot.channels.ratelimit import ChatRateLimiter
from bot.channels.spool import DeliverySpool, private_spool
from bot.channels.telegram_http import AiohttpRequest
from bot.core.engine import Engine
from bot.core.messages import Incoming, Reply
from bot.core.ports import (
    DeliveryLog,
    OutgoingQueue,
    PlatformErrors,
    StorageUnavailable,
    Transactions,
)
from bot.core.records import OutgoingMessage
from intents.knowledge import KnowledgeBase

log = logging.getLogger(__name__)

# python-telegram-bot 22 warns on every 429 unless durations are opted in to `timedelta`,
# the type its next major version uses; our code handles both.
os.environ.setdefault("PTB_TIMEDELTA", "true")

Clock = Callable[[], datetime]
NETWORK_ATTEMPTS = 4
CONCURRENT_UPDATES = 256
CONNECTIONS = 16  # to the Bot API
POOL_WAIT = 10.0  # seconds a request may wait for a free connection
FIRST_BACKOFF = 0.5  # seconds; doubled after each network failure
KEEP_RETRY = timedelta(seconds=30)
LAST_RETRY = timedelta(hours=1)
# Seconds an answer may take before the chat shows "typing...": most take milliseconds, and an
# indicator for each would double the requests to Telegram.
TYPING_AFTER = 0.3
AnyApplication = Application[Any, Any, Any, Any, Any, Any]


def markup(data: dict[str, Any] | None) -> Any:
    """A keyboard from its Bot API JSON (how messages are kept in the database)."""
    if data is None:
        return None
    if "inline_keyboard" in data:
        return InlineKeyboardMarkup.de_json(data, None)
    if "keyboard" in data:
        return ReplyKeyboardMarkup.de_json(data, None)
    return ReplyKeyboardRemove.de_json(data, None)


def failure_reason(exc: TelegramError) -> str:
    """What a failed Bot API call counts as: rate_limited, refused, network or server_error."""
    if isinstance(exc, RetryAfter):
        return "rate_limited"
    if isinstance(exc, BadRequest | Forbidden):
        return "refused"
    # python-telegram-bot raises NetworkError from the transport's exception, and without a
    # cause for an HTTP error status (5xx).
    if isinstance(exc, TimedOut) or exc.__cause__ is not None:
        return "network"
    return "server_error"


def _readable(data: dict[str, Any], bot: Bot) -> Update | None:
    """The update in a delivery, or None when it is not one: an `update_id` that is not a
    number, or a field of the wrong shape (python-telegram-bot's parser then raises whatever
    the shape makes it raise, AttributeError included)."""
    update_id = data.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        return None
    try:
        update = Update.de_json(data, bot)
    except Exception:  # any parse failure means the same: not an update
        return None
    # The parser does not check types; what the bot reads must be text.
    query, message = update.callback_query, update.effective_message
    if query is not None and not isinstance(query.data, str | None):
        return None
    if message is not None and not isinstance(message.text, str | None):
        return None
    return update


@dataclass(frozen=True, slots=True)
class Translated:
    """The adapter's reading of an update (None: nothing for the engine in it)."""

    incoming: Incoming | None


class TelegramService:
    """One bot: receives updates (polling or webhook) and sends the engine's replies."""

    def __init__(
        self,
        engine: Engine,
        knowledge: KnowledgeBase,
        queue: OutgoingQueue,
        *,
        token: str,
        base_url: str,
        webhook: bool,
        clock: Clock = lambda: datetime.now(UTC),
        limiter: ChatRateLimiter | None = None,
        errors: PlatformErrors | None = None,
        inbox: DeliveryLog | None = None,
        spool: DeliverySpool | None = None,
        lease: timedelta = INBOX_LEASE,
        units: Transactions | None = None,
    ) -> None:
        """`inbox` and `spool` keep updates until they are answered (`bot.channels.inbox`);
        without them, updates are only claimed through the engine, and spooled in a folder of
        this process. `units` makes each update's turn one transaction."""
        self._engine = engine
        self._knowledge = knowledge
        self._queue = queue
        self._clock = clock
        self._errors = errors
        self.webhook = webhook
        self._limiter = limiter or ChatRateLimiter()
        builder = (
            ApplicationBuilder()
            .token(token)
            .base_url(base_url)
            .rate_limiter(self._limiter)
            # Chats are handled side by side, each one's updates in order (ChatOrder).
            .concurrent_updates(CONCURRENT_UPDATES)
            # Over aiohttp (a third of httpx's CPU per request), on few connections: Telegram's
            # 30 messages a second need few, and a pool of idle ones costs a check each.
            .request(
                AiohttpRequest(
                    connections=CONNECTIONS,
                    connect_timeout=5,
                    read_timeout=10,
                    pool_timeout=POOL_WAIT,
                )
            )
        )
        if webhook:
            builder = builder.updater(None)
        self.application: AnyApplication = builder.build()
        self.application.add_handler(TypeHandler(Update, self._on_polled_update))
        self._me = Identity(0, "")
        self._order = ChatOrder()
        self._intake = Intake(
            CHANNEL,
            inbox or ClaimsOnly(engine.claim),
            spool or private_spool(),
            clock=clock,
            lease=lease,
            units=units,
        )
        self._work: set[asyncio.Task[None]] = set()

    @property
    def bot(self) -> Any:
        """The python-telegram-bot `ExtBot`."""
        return self.application.bot

    # -- life cycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect (getMe), publish the command menu, and start polling unless on a webhook."""
        await self.application.initialize()
        self._me = Identity(self.bot.id, self.bot.username)
        await self.publish_commands()
        await self.application.start()
        updater = self.application.updater
        if not self.webhook and updater is not None:
            # Updates that arrived while the bot was down are leads too: never drop them.
            await updater.start_polling(
                allowed_updates=Update.ALL_TYPES, drop_pending_updates=False, timeout=10
            )
        log.info("telegram bot @%s started (%s)", self._me.username, self.mode)

    @property
    def mode(self) -> str:
        """ "webhook" or "polling"."""
        return "webhook" if self.webhook else "polling"

    async def stop(self, grace: float = 20.0) -> None:
        """Stop fetching, let the updates in hand finish (for up to `grace` seconds), then
        disconnect."""
        updater = self.application.updater
        if updater is not None and updater.running:
            await updater.stop()
        if self._work:
            _, late = await asyncio.wait(set(self._work), timeout=grace)
            for task in late:
                task.cancel()
            if late:
                log.warning(
                    "%d updates not answered before shutdown (kept: another replica, or the "
                    "next start, answers them)",
                    len(late),
                )
        await self._intake.close()
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()

    async def publish_commands(self) -> None:
        """The command menu, in English (default) and Chinese."""
        commands = self._knowledge.current.catalog.settings.commands
        for language in ("en", "zh"):
            menu = [BotCommand(c.command, c.description.get(language)) for c in commands]
            await self.bot.set_my_commands(menu, language_code=None if language == "en" else "zh")

    # -- receiving --------------------------------------------------------------------------

    async def _on_polled_update(self, update: object, _: ContextTypes.DEFAULT_TYPE) -> None:
        if isinstance(update, Update):
            await self._serve(update)

    async def _take_polled(self, update: Update) -> Ticket | None:
        """A polled update: Telegram counts it delivered once fetched, so it is kept before it
        is handled (and answered all the same when it can be kept nowhere)."""
        key = str(update.update_id)
        try:
            return await asyncio.to_thread(self._intake.take, key, update.to_dict(recursive=True))
        except Unkept:
            return Ticket(key, 0)

    async def receive_webhook(self, data: dict[str, Any]) -> int:
        """Handle one webhook delivery; the HTTP status to answer Telegram with.

        200 once the update is kept (then answered in a task: Telegram has at most a few dozen
        deliveries open at a time, so slow answers would hold up others) or known already;
        503 when it could be kept nowhere, so that Telegram sends it again.
        """
        update = _readable(data, self.bot)
        translated = self._translated(update) if update is not None else None
        if update is None or translated is None:
            log.warning("webhook delivery refused: not a readable update")
            return 400
        try:
            ticket = await asyncio.to_thread(self._intake.take, str(update.update_id), data)
        except Unkept:
            return 503
        if ticket is not None:
            self._spawn(update, ticket, translated)
        return 200

    def _translated(self, update: Update) -> Translated | None:
        """What the adapter reads in the update, or None when it cannot read it (the parser
        lets fields of other types through, e.g. a list for a language code); checked before
        it is kept and acknowledged, and handed on so that it is read once."""
        try:
            incoming = to_incoming(update, self._me)
        except (AttributeError, TypeError, ValueError):
            return None
        if incoming is None:
            return Translated(None)
        read = (incoming.conversation_id, incoming.user_id, incoming.text)
        maybe = (incoming.payload, incoming.language_hint, incoming.user_display_name)
        readable = all(isinstance(v, str) for v in read) and all(
            v is None or isinstance(v, str) for v in maybe
        )
        return Translated(incoming) if readable else None

    def _spawn(self, update: Update, ticket: Ticket, translated: Translated | None = None) -> None:
        task = asyncio.create_task(self._answer(update, ticket, translated))
        self._work.add(task)
        task.add_done_callback(self._work.discard)

    async def _answer(self, update: Update, ticket: Ticket, translated: Translated | None) -> None:
        try:
            await self._serve(update, ticket, translated)
        except Exception:
            log.exception("update %d was not answered", update.update_id)

    async def recover(self) -> int:
        """Answer the updates whose replica took them in but did not answer them (and file
        those spooled while the database was down); how many were taken up."""
        due = await asyncio.to_thread(self._intake.recover)
        for delivery in due:
            update = _readable(dict(delivery.payload), self.bot)
            if update is None:
                log.error("kept update %s unreadable; dropped", delivery.delivery_id)
                continue
            log.info("replaying update %s (attempt %d)", delivery.delivery_id, delivery.attempt)
            self._spawn(update, Ticket.of(delivery))
        return len(due)

    @staticmethod
    async def _stop_spinner(query: CallbackQuery) -> None:
        with contextlib.suppress(TelegramError):
            await query.answer()

    async def _serve(
        self,
        update: Update,
        ticket: Ticket | None = None,
        translated: Translated | None = None,
    ) -> None:
        """Translate (unless `translated` is the adapter's reading already), decide (unless
        decided before), keep the decision, reply, mark done.

        Without a `ticket` (polling), the update is kept first, in its chat's turn.
        """
        if update.callback_query is not None:
            # The client shows a spinner until the query is answered: answer at once, beside
            # the turn (awaited here, a message sent right after the press would take its
            # chat's turn first and be handled before it).
            task = asyncio.create_task(self._stop_spinner(update.callback_query))
            self._work.add(task)
            task.add_done_callback(self._work.discard)
        incoming = to_incoming(update, self._me) if translated is None else translated.incoming
        if incoming is None:
            ticket = ticket or await self._take_polled(update)
            if ticket is not None:
                await self._answered(update, ticket)
            return
        chat = incoming.conversation_id
        async with self._order.turn(chat):
            ticket = ticket or await self._take_polled(update)
            if ticket is None:
                return  # taken in before
            replies = ticket.decided
            if replies is None:
                replies = await self._decide(incoming, chat, ticket)
                if replies is None:
                    log.warning("update %s taken over by another replica", ticket.delivery_id)
                    return
            for reply in replies:
                for message in render(reply):
                    await self.send(chat, incoming.user_id, message.body())
        await self._answered(update, ticket)

    async def _answered(self, update: Update, ticket: Ticket) -> None:
        await self._intake.mark_answered(ticket, lambda: update.to_dict(recursive=True))

    async def _decide(self, incoming: Incoming, chat: str, ticket: Ticket) -> list[Reply] | None:
        """The engine's replies, kept with the update, and the first one's send slot taken,
        in one transaction; None when another replica holds the update now."""

        def decide(first: bool) -> list[Reply]:
            return self._engine.handle(incoming, claimed=True, observed=first)

        def then(replies: list[Reply]) -> None:
            if replies:
                self._limiter.prepay(chat)

        typing = asyncio.create_task(self._typing(chat))
        try:
            return await asyncio.to_thread(self._intake.decide, ticket, decide, then)
        finally:
            typing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await typing

    async def _typing(self, chat: str) -> None:
        """Show "typing..." if the answer is slow in coming."""
        await asyncio.sleep(TYPING_AFTER)
        with contextlib.suppress(TelegramError):
            await self.bot.send_chat_action(chat, ChatAction.TYPING)

    # -- sending ----------------------------------------------------------------------------

    async def _attempt(self, chat: str, body: dict[str, Any]) -> str | None:
        """Send once, retrying network errors; None when sent, else why not."""
        delay = FIRST_BACKOFF
        for attempt in range(NETWORK_ATTEMPTS):
            try:
                await self.bot.send_message(
                    chat,
                    body["text"],
                    parse_mode=body.get("parse_mode"),
                    reply_markup=markup(body.get("reply_markup")),
                )
            except (BadRequest, Forbidden) as exc:
                # The message itself is refused, or the person blocked the bot: trying again
                # cannot help.
                self._failed(exc)
                log.error("telegram refused a message to chat %s: %s", chat, exc)
                return None
            except (RetryAfter, NetworkError) as exc:
                self._failed(exc)
                if attempt == NETWORK_ATTEMPTS - 1:
                    return f"{type(exc).__name__}: {exc}"
                await asyncio.sleep(delay)
                delay *= 2
            else:
                return None
        return "not sent"

    def _failed(self, exc: TelegramError) -> None:
        """Count a failed Bot API call (the metrics)."""
        if self._errors is not None:
            self._errors.count(CHANNEL, failure_reason(exc))

    async def send(self, chat: str, user_id: str, body: dict[str, Any]) -> bool:
        """Send a message, or keep it in the database to try again later."""
        failure = await self._attempt(chat, body)
        if failure is None:
            return True
        log.warning("message to chat %s kept for retry: %s", chat, failure)
        message = OutgoingMessage(CHANNEL, chat, user_id, body, self._clock())
        try:
            await asyncio.to_thread(self._queue.keep, message, self._clock() + KEEP_RETRY)
        except StorageUnavailable:
            log.error("message to chat %s lost: neither Telegram nor the database took it", chat)
        return False

    async def resend_kept(self) -> int:
        """Claim the kept messages that are due and try each once; how many went out."""
        due = await asyncio.to_thread(self._queue.claim, CHANNEL, self._clock())
        sent = 0
        for message in due:
            failure = await self._attempt(message.chat_id, dict(message.body))
            now = self._clock()
            if failure is None:
                await asyncio.to_thread(self._queue.sent, message.id or 0, now)
                sent += 1
                continue
            wait = min(KEEP_RETRY * 2 ** (message.attempts + 1), LAST_RETRY)
            log.warning("kept message to chat %s failed again: %s", message.chat_id, failure)
            await asyncio.to_thread(self._queue.failed, message.id or 0, failure, now + wait)
        return sent

    # -- webhook management (lingang-bot telegram ...) -----------------------------------

    async def set_webhook(self, url: str, secret: str) -> bool:
        """Point Telegram at our webhook; keep the updates waiting meanwhile."""
        result: bool = await self.bot.set_webhook(
            url, secret_token=secret, allowed_updates=Update.ALL_TYPES, drop_pending_updates=False
        )
        return result

    async def delete_webhook(self) -> bool:
        """Back to polling; keep the updates waiting meanwhile."""
        result: bool = await self.bot.delete_webhook(drop_pending_updates=False)
        return result

    async def webhook_info(self) -> dict[str, Any]:
        """What Telegram knows of our webhook (URL, pending updates, last error)."""
        info = await self.bot.get_webhook_info()
        result: dict[str, Any] = info.to_dict()
        return result
