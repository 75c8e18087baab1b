"""The ASGI app: health checks, the Telegram webhook, Slack's request URL, the web chat, the
sales and admin pages and the leads API.

Background work runs in the app's lifespan: the Telegram bot (polling or webhook), the Slack
app (HTTP, or Socket Mode), the delivery of sales notifications from the outbox, the retry
of kept messages, and the relay and timers of conversations handed to a person.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp

from bot.app import App, build_handoff_relay
from bot.channels.slack import SlackService
from bot.channels.telegram import TelegramService
from bot.core.ports import StorageUnavailable
from bot.metrics import EXPOSITION_TYPE
from bot.retention import DailyPurge
from bot.review_digest import slack_digest
from bot.web import admin, api, chat, leads, login, review, slack_events, telegram_webhook
from bot.web.context import STATIC, Web
from bot.web.errors import handle_errors
from bot.web.fast_paths import Site
from bot.web.headers import SecurityHeaders
from bot.web.limits import BodyLimits
from bot.web.request_ids import RequestIds

log = logging.getLogger(__name__)

SECRET_HEADER = telegram_webhook.SECRET_HEADER

OUTBOX_INTERVAL = 5.0
RESEND_INTERVAL = 10.0
REPLAY_INTERVAL = 5.0  # deliveries kept but not answered (their replica died), and the spool
HANDOFF_INTERVAL = 2.0  # relaying handed-off conversations, and their claim/silence timers
INBOX_INTERVAL = 30.0  # filing new misses into the inbox's groups


async def _every(seconds: float, work: Callable[[], Awaitable[object]], name: str) -> None:
    """Run `work` every `seconds` until cancelled; a failure is logged, not fatal."""
    while True:
        try:
            await work()
        except StorageUnavailable:
            log.warning("%s skipped: database unavailable", name)
        except Exception:
            log.exception("%s failed", name)
        await asyncio.sleep(seconds)


def _lifespan(
    app: App, telegram: TelegramService | None, slack: SlackService | None
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Start and stop the background work: platforms, outbox delivery, resending,
    following catalog reloads made on other replicas, the weekly review digest."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        follow = app.settings.catalog_poll_seconds
        tasks = [
            asyncio.create_task(
                _every(OUTBOX_INTERVAL, lambda: asyncio.to_thread(app.relay.run_once), "outbox")
            ),
            # Another replica's catalog reload is followed here (the files are shared).
            asyncio.create_task(
                _every(follow, lambda: asyncio.to_thread(app.catalog.follow), "catalog follow")
            ),
        ]
        if telegram is not None:
            await telegram.start()
            tasks.append(
                asyncio.create_task(
                    _every(RESEND_INTERVAL, telegram.resend_kept, "telegram resend")
                )
            )
            tasks.append(
                asyncio.create_task(_every(REPLAY_INTERVAL, telegram.recover, "telegram replay"))
            )
        if slack is not None:
            await slack.start()
            tasks.append(
                asyncio.create_task(_every(RESEND_INTERVAL, slack.resend_kept, "slack resend"))
            )
            tasks.append(
                asyncio.create_task(_every(REPLAY_INTERVAL, slack.recover, "slack replay"))
            )
        # Conversations handed to a person: relay both ways, and close those nobody took or
        # whose consultant went quiet (every replica; each item and each close happens once).
        handoffs = build_handoff_relay(app, telegram, slack)
        desk = app.desk
        if handoffs is not None and desk is not None:
            relay = handoffs

            async def handoff_work() -> None:
                await asyncio.to_thread(desk.sweep, app.knowledge.current.catalog)
                await relay.run_once()

            tasks.append(asyncio.create_task(_every(HANDOFF_INTERVAL, handoff_work, "handoffs")))
        # Misses are filed into groups in small steps, so a flood is grouped before an admin
        # opens the inbox (the page itself files only a bounded share).
        tasks.append(
            asyncio.create_task(
                _every(INBOX_INTERVAL, lambda: asyncio.to_thread(admin.file_misses, app), "inbox")
            )
        )
        # The weekly list of answers to review, to the sales channel (one replica posts it).
        digest = slack_digest(app.settings, app.knowledge, app.storage.periodic, slack)
        if digest is not None:
            tasks.append(asyncio.create_task(digest.keep_posting()))
        # What is past LINGANG_RETENTION_DAYS goes, once a day (one replica does it).
        purge = DailyPurge(app.storage.retention, app.storage.periodic)
        tasks.append(asyncio.create_task(purge.keep_purging()))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if handoffs is not None:  # a message being relayed is settled, not sent again
                await handoffs.finish(app.settings.grace_seconds)
            if slack is not None:
                await slack.stop(app.settings.grace_seconds)
            if telegram is not None:
                await telegram.stop(app.settings.grace_seconds)

    return lifespan


def create_app(
    app: App, telegram: TelegramService | None = None, slack: SlackService | None = None
) -> FastAPI:
    """The web app over a wired `App`, with the Telegram and Slack services that are set up."""

    lifespan = _lifespan(app, telegram, slack)
    # Each platform message comes by one of these; they are served ahead of FastAPI's routing
    # (bot.web.fast_paths), through the same edge.
    fast: dict[str, ASGIApp] = {}
    if telegram is not None and telegram.webhook:
        secret = app.settings.telegram_webhook_secret
        fast[telegram_webhook.PATH] = telegram_webhook.TelegramWebhook(
            telegram.receive_webhook, secret.get_secret_value() if secret else None
        )
    signing_secret = app.settings.slack_signing_secret
    if slack is not None and not slack.socket_mode and signing_secret is not None:
        fast[slack_events.PATH] = slack_events.SlackEvents(
            slack.app, signing_secret.get_secret_value()
        )

    web = Site(
        fast=fast,
        title="Lingang bot",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    pages = Web.over(app)

    handle_errors(web, pages)
    # The last added runs first: the request id, then the headers (on refusals too), then the
    # body limits, before any route reads a byte.
    web.add_middleware(BodyLimits)
    web.add_middleware(SecurityHeaders)
    web.add_middleware(RequestIds)
    web.mount("/static", StaticFiles(directory=STATIC), name="static")
    for part in (login, chat, leads, admin, review, api):
        web.include_router(part.routes(pages))

    @web.get("/healthz")
    async def healthz() -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok"}

    @web.get("/metrics")
    async def metrics() -> Response:
        """Prometheus' scrape (for the internal network: the proxy does not pass it on)."""
        body = await asyncio.to_thread(app.metrics.exposition)
        return Response(body, media_type=EXPOSITION_TYPE)

    @web.get("/readyz")
    async def readyz() -> Response:
        """The database answers (the proxy's check; public, so it tells nothing more: which
        catalog is loaded is `lingang-bot intents history` or the admin pages' business)."""
        try:
            await asyncio.to_thread(app.storage.database.ping)
        except StorageUnavailable:
            return JSONResponse({"status": "database unavailable"}, status_code=503)
        return JSONResponse({"status": "ready"})

    return web
