"""`lingang-bot serve` and `lingang-bot telegram ...`: the long-running bot and its webhook."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
import uvicorn

from bot.app import build_slack, build_telegram
from bot.channels.telegram import TelegramService
from bot.commandline import fail, running, settings_or_exit
from bot.config import Settings
from bot.staff_cli import first_admin
from bot.web.app import create_app

telegram_cli = typer.Typer(help="Manage the Telegram webhook.", no_args_is_help=True)
serve_cli = typer.Typer()  # `lingang-bot serve`, imported when used (bot.lazy_commands)
T = TypeVar("T")
log = logging.getLogger(__name__)


def _tell(settings: Settings, line: str, level: int = logging.INFO) -> None:
    """A line for the operator: printed for a terminal, a log record among the JSON lines."""
    if settings.log_format == "json":
        log.log(level, "%s", line)
    else:
        typer.echo(line, err=True)


@serve_cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address; default LINGANG_HOST.")] = None,
    port: Annotated[int | None, typer.Option(help="Port; default LINGANG_PORT.")] = None,
) -> None:
    """Run the bot: the web app, Telegram (polling, or webhook with TELEGRAM_WEBHOOK_URL) and
    Slack (Socket Mode with SLACK_APP_TOKEN, or HTTP at /slack/events)."""
    settings = settings_or_exit()
    with running(settings) as app:
        telegram, slack = build_telegram(app), build_slack(app)
        web = create_app(app, telegram, slack)
        modes = [
            f"telegram {telegram.mode}" if telegram else "no telegram token",
            ("slack socket mode" if slack.socket_mode else "slack http")
            if slack
            else "no slack token",
        ]
        mode = ", ".join(modes)
        bind = host or settings.host
        _tell(settings, f"serving on http://{bind}:{port or settings.port} ({mode})")
        created = first_admin(app)
        if created:
            _tell(
                settings,
                f"first run: log in at http://{bind}:{port or settings.port}/login as "
                f"{created[0]} with the password {created[1]} (shown once; change it with "
                f"`lingang-bot users password {created[0]}`)",
                logging.WARNING,
            )
        config = uvicorn.Config(
            web,
            host=bind,
            port=port or settings.port,
            log_level=settings.log_level.lower(),
            # uvicorn's loggers go through ours (bot.logs): the same format, the request id,
            # and access lines without query strings or client addresses.
            log_config=None,
            timeout_graceful_shutdown=settings.grace_seconds,
            proxy_headers=True,
            # Only the proxy's X-Forwarded-* headers are believed (a client's would let it
            # choose its address for the rate limits); uvicorn's own FORWARDED_ALLOW_IPS
            # variable is not read once this is given.
            forwarded_allow_ips=settings.forwarded_allow_ips,
            server_header=False,  # no "server: uvicorn" (the proxy drops its own too)
        )
        uvicorn.Server(config).run()


def _with_bot(work: Callable[[TelegramService], Awaitable[T]]) -> T:
    settings = settings_or_exit()
    if settings.telegram_bot_token is None:
        fail("TELEGRAM_BOT_TOKEN: not set", code=2)
    with running(settings) as app:
        telegram = build_telegram(app)
        if telegram is None:
            fail("TELEGRAM_BOT_TOKEN: not set", code=2)

        async def call() -> T:
            await telegram.application.initialize()
            try:
                return await work(telegram)
            finally:
                await telegram.application.shutdown()

        return asyncio.run(call())


@telegram_cli.command("set-webhook")
def set_webhook() -> None:
    """Tell Telegram to deliver updates to TELEGRAM_WEBHOOK_URL (with the secret)."""
    settings = settings_or_exit()
    url, secret = settings.telegram_webhook_url, settings.telegram_webhook_secret
    if url is None or secret is None:
        fail("TELEGRAM_WEBHOOK_URL and TELEGRAM_WEBHOOK_SECRET: both must be set", code=2)
    done = _with_bot(lambda t: t.set_webhook(url, secret.get_secret_value()))
    typer.echo(f"webhook {'set to ' + url if done else 'not set'}")


@telegram_cli.command("delete-webhook")
def delete_webhook() -> None:
    """Stop webhook delivery (updates wait for polling; none is dropped)."""
    done = _with_bot(lambda t: t.delete_webhook())
    typer.echo("webhook deleted" if done else "webhook not deleted")


@telegram_cli.command("info")
def info() -> None:
    """What Telegram reports about the webhook: URL, pending updates, last error."""
    typer.echo(json.dumps(_with_bot(lambda t: t.webhook_info()), indent=1))
