"""What the web layer costs per platform message, in-process: CPU time per request from the
ASGI app's call to its answer for a Telegram webhook update and a signed Slack DM event, with
the services' own work stubbed out (the update handed on, bolt's dispatch answered at once),
beside a bare ASGI app that reads the body and answers 200 (the floor), in the same run.

    python bench/web_overhead.py [--requests 3000] [--source DIR]

`--source DIR` measures the tree in DIR instead (e.g. `git worktree add /tmp/before <commit>`),
so two versions are compared run against run: the ratios to the bare app are what to compare
(the machine is shared). The bolt section times slack-bolt's dispatch of a DM event with a
no-op listener, configured as the bot's app is now and as it was before (its own signature
check and the assistant's kwargs on).
Needs nothing beyond the project's environment (the database is a SQLite file in a temporary
folder, and no request leaves the process).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _source() -> Path:
    """The tree to measure: --source, else this one (read before the imports below)."""
    if "--source" in sys.argv:
        return Path(sys.argv[sys.argv.index("--source") + 1]).resolve()
    return ROOT


sys.path.insert(0, str(_source()))

from slack_bolt.async_app import AsyncApp  # noqa: E402
from slack_bolt.authorization import AuthorizeResult  # noqa: E402
from slack_bolt.request.async_request import AsyncBoltRequest  # noqa: E402
from slack_bolt.response import BoltResponse  # noqa: E402
from starlette.types import Message, Receive, Scope, Send  # noqa: E402

from bot.app import build_app, build_slack, build_telegram  # noqa: E402
from bot.config import Settings  # noqa: E402
from tests.fakes.slack_api import BOT_TOKEN, SIGNING_SECRET  # noqa: E402
from tests.fakes.slack_requests import dm, encode, signed_headers  # noqa: E402
from tests.fakes.telegram_api import SECRET, TOKEN, message  # noqa: E402

ASGI = Callable[[Scope, Receive, Send], Awaitable[None]]
TELEGRAM_SECRET_HEADER = b"x-telegram-bot-api-secret-token"


async def bare(scope: Scope, receive: Receive, send: Send) -> None:
    """The floor: read the body, answer 200 with no body."""
    more = True
    while more:
        got = await receive()
        more = bool(got.get("more_body", False))
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"0")]}
    )
    await send({"type": "http.response.body", "body": b""})


def scope_of(path: str, headers: dict[str, str]) -> dict[str, Any]:
    """A POST as uvicorn hands it to the app."""
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "scheme": "http",
        "method": "POST",
        "root_path": "",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1:8000"), *raw],
        "state": {},
    }


async def timed(app: ASGI, requests: list[tuple[dict[str, Any], bytes]]) -> float:
    """CPU seconds per request for `requests` through `app` (each must be answered 2xx)."""
    begin = time.process_time()
    for scope, body in requests:
        status: list[int] = []
        delivered = False

        async def receive() -> Message:
            nonlocal delivered
            if delivered:
                return {"type": "http.disconnect"}
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}  # noqa: B023

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])  # noqa: B023

        await app(scope, receive, send)
        if not status or not 200 <= status[0] < 300:
            raise SystemExit(f"{scope['path']}: answered {status}")
    return (time.process_time() - begin) / len(requests)


def telegram_requests(count: int) -> list[tuple[dict[str, Any], bytes]]:
    """Webhook updates with the secret."""
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET}
    return [
        (
            scope_of("/telegram/webhook", headers),
            json.dumps({"update_id": 10_000 + n, **message("how big is Lingang?", chat=100 + n)})
            .encode(),
        )
        for n in range(count)
    ]  # fmt: skip


def slack_requests(count: int) -> list[tuple[dict[str, Any], bytes]]:
    """Signed DM events (signed now: valid for 5 minutes)."""
    made = []
    for n in range(count):
        raw = encode(dm("how big is Lingang?", user=f"U{n:08d}", event_id=f"Ev{n:012d}"))
        made.append((scope_of("/slack/events", signed_headers(raw)), raw))
    return made


async def web_layer(requests: int, folder: Path) -> dict[str, float]:
    """CPU per request: bare app, Telegram webhook, Slack events (services stubbed)."""
    settings = Settings(
        _env_file=None,
        LINGANG_DATA_DIR=folder,
        LINGANG_MATCHER="lexical",
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL="http://127.0.0.1:9/bot",
        TELEGRAM_WEBHOOK_URL="https://bot.example.com/telegram/webhook",
        TELEGRAM_WEBHOOK_SECRET=SECRET,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL="http://127.0.0.1:9/api/",
    )
    from bot.web.app import create_app  # noqa: PLC0415  (after sys.path is set)

    app = build_app(settings)
    try:
        telegram, slack = build_telegram(app), build_slack(app)
        if telegram is None or slack is None:
            raise SystemExit("both platforms must be configured")

        async def kept(_: dict[str, Any]) -> int:
            return 200

        async def acknowledged(_: AsyncBoltRequest) -> BoltResponse:
            return BoltResponse(status=200, body="")

        telegram.receive_webhook = kept  # type: ignore[method-assign]
        slack.app.async_dispatch = acknowledged  # type: ignore[method-assign]
        web = create_app(app, telegram, slack)
        results: dict[str, float] = {}
        for _ in range(2):  # the second round counts (imports, caches and the stack warmed)
            results = {
                "bare ASGI app": await timed(bare, telegram_requests(requests)),
                "telegram webhook": await timed(web, telegram_requests(requests)),
                "slack events": await timed(web, slack_requests(requests)),
            }
        return results
    finally:
        app.close()


def _serve_fakes(pipe: Connection) -> None:
    """The fake APIs, in a process of their own (their threads would share this one's GIL)."""
    from tests.fakes.slack_api import FakeSlackApi  # noqa: PLC0415
    from tests.fakes.telegram_api import FakeBotApi  # noqa: PLC0415

    with FakeBotApi() as closing, FakeBotApi() as keeping, FakeSlackApi() as slack_api:
        closing.keep_alive = False  # as the fake did before 7e35cdd (HTTP/1.0)
        pipe.send((closing.base_url, keeping.base_url, slack_api.base_url))
        pipe.recv()  # until told to stop


async def sending(count: int) -> dict[str, float]:
    """CPU of this process per reply sent to the fake APIs (served by another process):
    Telegram's over kept-alive connections or a connection per call, Slack's through one
    session or a session per call (what slack_sdk does without one)."""
    import aiohttp  # noqa: PLC0415
    from telegram import Bot  # noqa: PLC0415

    from bot.channels.slack import retrying_client  # noqa: PLC0415

    ours, theirs = multiprocessing.Pipe()
    fakes = multiprocessing.Process(target=_serve_fakes, args=(theirs,), daemon=True)
    fakes.start()
    closing_url, keeping_url, slack_url = ours.recv()
    text = "The Lingang area is 119.5 km²."
    results = {}
    try:
        telegram = (
            ("a connection per call", closing_url, None),
            ("kept-alive", keeping_url, None),
            ("kept-alive, over aiohttp (ours)", keeping_url, "aiohttp"),
        )
        for name, url, transport in telegram:
            request = None
            if transport == "aiohttp":
                from bot.channels.telegram_http import AiohttpRequest  # noqa: PLC0415

                request = AiohttpRequest(
                    connections=16, connect_timeout=5, read_timeout=10, pool_timeout=10
                )
            async with Bot(TOKEN, base_url=url, request=request) as bot:
                await bot.send_message(chat_id=1, text="warm")
                begin = time.process_time()
                for n in range(count):
                    await bot.send_message(chat_id=100 + n, text=text)
                results[f"telegram sendMessage, {name}"] = (time.process_time() - begin) / count
        for name in ("a session per call", "one session"):
            client = retrying_client(BOT_TOKEN, slack_url)
            session = aiohttp.ClientSession() if name == "one session" else None
            client.session = session
            await client.chat_postMessage(channel="D1", text="warm")
            begin = time.process_time()
            for n in range(count):
                await client.chat_postMessage(channel=f"D{n}", text=text)
            results[f"slack chat.postMessage, {name}"] = (time.process_time() - begin) / count
            if session is not None:
                await session.close()
    finally:
        ours.send("stop")
        fakes.join(10)
    return results


async def bolt_dispatch(requests: int) -> dict[str, float]:
    """CPU per DM event through slack-bolt (configured as the bot's app, a no-op listener)."""

    async def authorize(**_: Any) -> AuthorizeResult:
        return AuthorizeResult(
            enterprise_id=None, team_id="T1", bot_user_id="UBOT", bot_id="BBOT",
            bot_token=BOT_TOKEN, user_id=None,
        )  # fmt: skip

    results = {}
    for before in (True, False):
        bolt = AsyncApp(
            authorize=authorize,
            signing_secret=SIGNING_SECRET,
            # Before 3d4c770: bolt checked the signature again, and built the assistant's
            # kwargs for every direct message.
            request_verification_enabled=before,
            attaching_conversation_kwargs_enabled=before,
            ignoring_self_events_enabled=True,
        )

        async def once(next: Callable[[], Awaitable[None]]) -> None:
            await next()

        async def on_event(event: dict[str, Any]) -> None:
            return None

        bolt.middleware(once)
        bolt.event("message")(on_event)
        events = []
        for n in range(requests):
            raw = encode(dm("how big is Lingang?", user=f"U{n:08d}", event_id=f"Ev{n:012d}"))
            headers: dict[str, Any] = dict(signed_headers(raw))
            events.append(AsyncBoltRequest(body=raw.decode(), headers=headers))
        begin = time.process_time()
        for request in events:
            answer = await bolt.async_dispatch(request)
            if answer.status != 200:
                raise SystemExit(f"bolt answered {answer.status}: {answer.body}")
        await asyncio.sleep(0.5)  # the listeners run after the acknowledgement
        spent = (time.process_time() - begin) / requests
        results[f"bolt dispatch, configured as {'before' if before else 'now'}"] = spent
    return results


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--source", default=str(ROOT), help="the tree to measure")
    args = parser.parse_args()
    os.environ.setdefault("LINGANG_LOG_LEVEL", "WARNING")
    with tempfile.TemporaryDirectory(prefix="bench-web-") as folder:
        layer = asyncio.run(web_layer(args.requests, Path(folder)))
    bolt = asyncio.run(bolt_dispatch(args.requests))
    sent = asyncio.run(sending(max(args.requests // 5, 50)))
    floor = layer["bare ASGI app"]
    print(f"tree: {_source()}; {args.requests} requests each; CPU per request")
    print("| path | CPU µs/request | / bare app |")
    print("|---|---:|---:|")
    for name, seconds in {**layer, **bolt, **sent}.items():
        print(f"| {name} | {seconds * 1e6:.0f} | {seconds / floor:.1f} |")


if __name__ == "__main__":
    main()
