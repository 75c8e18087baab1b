"""Messages per second and added latency of the Telegram service, against a no-op bot, in
one process, both talking to the same kind of fake Bot API on 127.0.0.1.

    python bench/telegram_throughput.py [--messages 400] [--latency-samples 200]
                                        [--database-url URL]

The baseline is python-telegram-bot built the same way (same rate limiter, same concurrency)
with a handler that only replies "ok": what any bot pays for polling and sending. Ours is
`TelegramService` with the engine, the packaged catalog (default matcher) and the database
(a fresh SQLite file unless --database-url).

  * throughput: `--messages` updates from as many people, queued at once; messages handled
    per second until the last reply is sent. Once with Telegram's flood limits lifted (what
    the process can do), once with them (what it may do: about 30 a second).
  * latency: one question at a time, from the update being available to the reply reaching
    the API; p50 and p99, and ours minus the baseline's.
Compare the ratios, not the milliseconds: the machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from statistics import quantiles

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the fake Bot API lives with the tests

from telegram import Update  # noqa: E402
from telegram.ext import ApplicationBuilder, ContextTypes, TypeHandler  # noqa: E402

from bot.app import build_app  # noqa: E402
from bot.channels.ratelimit import ChatRateLimiter  # noqa: E402
from bot.channels.telegram import CONCURRENT_UPDATES, TelegramService  # noqa: E402
from bot.config import Settings  # noqa: E402
from tests.fakes.telegram_api import TOKEN, FakeBotApi, message  # noqa: E402

QUESTIONS = ["how big is Lingang?", "what is the corporate tax rate?", "hello", "where is Lingang?"]
UNLIMITED = {"per_second": 1e6, "per_private_chat_second": 1e6, "per_group_minute": 1e6}

Start = Callable[[FakeBotApi, ChatRateLimiter], Awaitable[Callable[[], Awaitable[None]]]]


async def noop_bot(api: FakeBotApi, limiter: ChatRateLimiter) -> Callable[[], Awaitable[None]]:
    """python-telegram-bot, polling, replying "ok" to everything."""

    async def reply(update: object, _: ContextTypes.DEFAULT_TYPE) -> None:
        if isinstance(update, Update) and update.effective_chat is not None:
            await update.effective_chat.send_message("ok")

    application = (
        ApplicationBuilder().token(TOKEN).base_url(api.base_url).rate_limiter(limiter)
        .concurrent_updates(CONCURRENT_UPDATES).build()
    )  # fmt: skip
    application.add_handler(TypeHandler(Update, reply))
    await application.initialize()
    await application.start()
    updater = application.updater
    if updater is None:
        raise RuntimeError("polling needs an updater")
    await updater.start_polling(timeout=10)

    async def stop() -> None:
        await updater.stop()
        await application.stop()
        await application.shutdown()

    return stop


def our_bot(database_url: str | None) -> Start:
    async def start(api: FakeBotApi, limiter: ChatRateLimiter) -> Callable[[], Awaitable[None]]:
        folder = tempfile.mkdtemp(prefix="bench-telegram-")
        settings = Settings(
            _env_file=None,
            LINGANG_DATA_DIR=folder,
            LINGANG_MATCHER="lexical",
            LINGANG_DATABASE_URL=database_url,
        )
        app = build_app(settings)
        service = TelegramService(
            app.engine, app.knowledge, app.storage.outgoing,
            token=TOKEN, base_url=api.base_url, webhook=False, limiter=limiter,
        )  # fmt: skip
        await service.start()

        async def stop() -> None:
            await service.stop()
            app.close()

        return stop

    return start


async def throughput(start: Start, messages: int, limits: dict[str, float]) -> float:
    """Messages handled per second, `messages` people writing at once."""
    with FakeBotApi() as api:
        stop = await start(api, ChatRateLimiter(**limits))
        try:
            began = time.perf_counter()
            for n in range(messages):
                api.push(message(QUESTIONS[n % len(QUESTIONS)], chat=10_000 + n))
            await asyncio.to_thread(api.wait_for, messages, "sendMessage", 600)
            return messages / (time.perf_counter() - began)
        finally:
            await stop()


async def latency(start: Start, samples: int) -> list[float]:
    """Seconds from an update being available to its reply reaching the API, one at a time."""
    seconds: list[float] = []
    with FakeBotApi() as api:
        stop = await start(api, ChatRateLimiter(**UNLIMITED))
        try:
            for n in range(samples + 5):
                before = len(api.sent())
                pushed = time.monotonic()
                api.push(message(QUESTIONS[n % len(QUESTIONS)], chat=20_000 + n))
                await asyncio.to_thread(api.wait_for, before + 1)
                if n >= 5:  # warm-up
                    seconds.append(api.calls_of("sendMessage")[-1].at - pushed)
        finally:
            await stop()
    return seconds


def pct(values: list[float], q: int) -> float:
    return quantiles(values, n=100, method="inclusive")[q - 1] * 1000


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=400)
    parser.add_argument("--latency-samples", type=int, default=200)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # the log lines of kept messages are not the point here
    ours = our_bot(args.database_url)
    print(f"throughput, {args.messages} people writing at once (messages/s):")
    for label, limits in (("flood limits lifted", UNLIMITED), ("Telegram's flood limits", {})):
        base = await throughput(noop_bot, args.messages, limits)
        mine = await throughput(ours, args.messages, limits)
        print(f"  {label:24} no-op bot {base:7.1f}   ours {mine:7.1f}   ratio {mine / base:.2f}")
    base_lat = await latency(noop_bot, args.latency_samples)
    our_lat = await latency(ours, args.latency_samples)
    print(f"latency, one question at a time ({args.latency_samples} samples, ms):")
    for q in (50, 99):
        b, o = pct(base_lat, q), pct(our_lat, q)
        added = o - b
        print(f"  p{q}: no-op bot {b:6.1f}   ours {o:6.1f}   added {added:6.1f}", end="")
        print(f"   ratio {o / b:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
