"""Requests per second one process acknowledges on `POST /slack/events`, and the latency of
the acknowledgement, against a no-op slack-bolt app, in one process.

    python bench/slack_throughput.py [--requests 400] [--concurrency 20] [--latency-samples 200]

Both apps are served by the project's ASGI app code path (FastAPI + slack-bolt's async
handler, signature verification on) through httpx's in-process ASGI transport, and post to the
same kind of fake Web API on 127.0.0.1. The baseline's listener does nothing; ours claims each
event in the database (a fresh SQLite file), acknowledges, then answers with the engine and
`chat.postMessage`. Reported: acknowledgements per second for `--requests` signed DMs from as
many people, `--concurrency` at a time; replies posted per second in the same run (ours only);
acknowledgement latency p50/p99 one request at a time, and ours minus the baseline's.
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
sys.path.insert(0, str(ROOT))  # the fakes live with the tests

import httpx  # noqa: E402
from fastapi import FastAPI, Request, Response  # noqa: E402
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler  # noqa: E402
from slack_bolt.async_app import AsyncApp  # noqa: E402

from bot.app import build_app, build_slack  # noqa: E402
from bot.channels.slack import retrying_client  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.web.app import create_app  # noqa: E402
from tests.fakes.slack_api import BOT_TOKEN, SIGNING_SECRET, FakeSlackApi  # noqa: E402
from tests.fakes.slack_requests import dm, encode, signed_headers  # noqa: E402

QUESTIONS = ["how big is Lingang?", "what is the corporate tax rate?", "hello", "where is Lingang?"]
Built = tuple[FastAPI, Callable[[], Awaitable[None]]]


async def noop_app(api: FakeSlackApi) -> Built:
    """slack-bolt with a listener that does nothing, behind the same kind of FastAPI route."""
    bolt = AsyncApp(client=retrying_client(BOT_TOKEN, api.base_url), signing_secret=SIGNING_SECRET)

    @bolt.event("message")
    async def nothing() -> None:
        return None

    handler = AsyncSlackRequestHandler(bolt)
    web = FastAPI()

    @web.post("/slack/events")
    async def events(request: Request) -> Response:
        response: Response = await handler.handle(request)
        return response

    async def stop() -> None:
        return None

    return web, stop


async def our_app(api: FakeSlackApi) -> Built:
    settings = Settings(
        _env_file=None,
        LINGANG_DATA_DIR=tempfile.mkdtemp(prefix="bench-slack-"),
        LINGANG_MATCHER="lexical",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=api.base_url,
    )
    app = build_app(settings)
    slack = build_slack(app)
    if slack is None:
        raise RuntimeError("slack is not configured")
    await slack.start()

    async def stop() -> None:
        await slack.stop()
        app.close()

    return create_app(app, None, slack), stop


def request(n: int) -> tuple[bytes, dict[str, str]]:
    body = encode(dm(QUESTIONS[n % len(QUESTIONS)], user=f"U{n:06d}", channel=f"D{n:06d}"))
    return body, signed_headers(body)


async def throughput(
    build: Callable[[FakeSlackApi], Awaitable[Built]], count: int, width: int
) -> tuple[float, float]:
    """Acknowledgements per second, and replies posted per second (0 for the baseline)."""
    with FakeSlackApi() as api:
        web, stop = await build(api)
        signed = [request(n) for n in range(count)]
        gate = asyncio.Semaphore(width)
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

            async def one(body: bytes, headers: dict[str, str]) -> None:
                async with gate:
                    answer = await client.post("/slack/events", content=body, headers=headers)
                    if answer.status_code != 200:
                        raise RuntimeError(f"status {answer.status_code}")

            began = time.perf_counter()
            await asyncio.gather(*(one(body, headers) for body, headers in signed))
            acked = count / (time.perf_counter() - began)
            replies = 0.0
            if build is our_app:
                await asyncio.to_thread(api.wait_for, count, "chat.postMessage", 600)
                replies = count / (time.perf_counter() - began)
        await stop()
    return acked, replies


async def latency(build: Callable[[FakeSlackApi], Awaitable[Built]], samples: int) -> list[float]:
    """Seconds to the acknowledgement, one request at a time."""
    seconds: list[float] = []
    with FakeSlackApi() as api:
        web, stop = await build(api)
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for n in range(samples + 5):
                body, headers = request(100_000 + n)
                began = time.perf_counter()
                answer = await client.post("/slack/events", content=body, headers=headers)
                if answer.status_code != 200:
                    raise RuntimeError(f"status {answer.status_code}")
                if n >= 5:
                    seconds.append(time.perf_counter() - began)
                if build is our_app:  # let the reply go out before the next request
                    await asyncio.to_thread(api.wait_for, n + 1, "chat.postMessage", 60)
        await stop()
    return seconds


def pct(values: list[float], q: int) -> float:
    return quantiles(values, n=100, method="inclusive")[q - 1] * 1000


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--latency-samples", type=int, default=200)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    base, _ = await throughput(noop_app, args.requests, args.concurrency)
    mine, replies = await throughput(our_app, args.requests, args.concurrency)
    print(f"{args.requests} signed DMs, {args.concurrency} at a time (per second):")
    print(f"  acknowledged: no-op app {base:7.1f}   ours {mine:7.1f}   ratio {mine / base:.2f}")
    print(f"  answered (ours, chat.postMessage at the fake): {replies:7.1f}")
    base_lat = await latency(noop_app, args.latency_samples)
    our_lat = await latency(our_app, args.latency_samples)
    print(f"acknowledgement latency, one request at a time ({args.latency_samples} samples, ms):")
    for q in (50, 99):
        b, o = pct(base_lat, q), pct(our_lat, q)
        added = o - b
        print(f"  p{q}: no-op app {b:6.1f}   ours {o:6.1f}   added {added:6.1f}", end="")
        print(f"   ratio {o / b:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
