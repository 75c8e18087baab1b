"""A Slack Socket Mode server on 127.0.0.1 for tests: slack_sdk's SocketModeClient (and so
slack-bolt's Socket Mode handlers) connect to it.

Give `url` to the fake Web API (`api.socket_url = socket.url`): apps.connections.open answers
it. On connect the server says "hello" as Slack does; `send` pushes an envelope to the
connected clients, and every `{"envelope_id": ...}` they send back is kept in `acks`.
The server runs in its own thread with its own event loop; from an async test, wait with
`await asyncio.to_thread(socket.wait_acked, envelope_id)`.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from concurrent.futures import Future
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.slack_api import APP_ID

KINDS = ("events_api", "slash_commands", "interactive")


class FakeSocketMode:
    """The fake server; use as a context manager."""

    def __init__(self) -> None:
        self.acks: list[dict[str, Any]] = []  # what came back with an envelope_id
        self.received: list[Any] = []  # every text message the clients sent
        self.connections = 0  # connections opened so far
        self._open: set[web.WebSocketResponse] = set()
        self._lock = threading.Condition()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._port = 0

    # -- running ---------------------------------------------------------------------------

    def __enter__(self) -> FakeSocketMode:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._call(self._start())
        return self

    def __exit__(self, *_: object) -> None:
        if self._loop is None or self._thread is None:
            return
        try:
            self._call(self._stop())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
            self._loop.close()

    @property
    def url(self) -> str:
        """The WebSocket URL apps.connections.open hands out."""
        return f"ws://127.0.0.1:{self._port}/link"

    @property
    def connected(self) -> int:
        """Clients connected now."""
        with self._lock:
            return len(self._open)

    # -- what tests do ----------------------------------------------------------------------

    def send(
        self,
        envelope_type: str,
        payload: dict[str, Any],
        retry_attempt: int = 0,
        retry_reason: str = "",
        accepts_response_payload: bool | None = None,
    ) -> str:
        """Push an envelope to the connected clients; returns its envelope_id.

        Slack accepts a response payload with slash commands and interactivity, not with
        events; only events carry retry_attempt and retry_reason.
        """
        assert envelope_type in KINDS, envelope_type
        envelope_id = str(uuid.uuid4())
        accepts = envelope_type != "events_api"
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "type": envelope_type,
            "payload": payload,
            "accepts_response_payload": (
                accepts if accepts_response_payload is None else accepts_response_payload
            ),
        }
        if envelope_type == "events_api":
            envelope["retry_attempt"] = retry_attempt
            envelope["retry_reason"] = retry_reason
        if self._call(self._broadcast(json.dumps(envelope))) == 0:
            raise AssertionError("no Socket Mode client is connected")
        return envelope_id

    def wait_connected(self, timeout: float = 10.0, count: int = 1) -> None:
        """Block until `count` connections have been opened in all."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self.connections < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{self.connections} of {count} connections")
                self._lock.wait(left)

    def wait_acked(self, envelope_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """Block until the envelope has been acknowledged; returns the acknowledgement."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                for ack in self.acks:
                    if ack.get("envelope_id") == envelope_id:
                        return ack
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"envelope {envelope_id} not acknowledged")
                self._lock.wait(left)

    # -- the protocol -----------------------------------------------------------------------

    def _call(self, work: Any, timeout: float = 10.0) -> Any:
        assert self._loop is not None, "use FakeSocketMode as a context manager"
        future: Future[Any] = asyncio.run_coroutine_threadsafe(work, self._loop)
        return future.result(timeout)

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/link", self._link)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = int(self._runner.addresses[0][1])

    async def _stop(self) -> None:
        with self._lock:
            left = list(self._open)
        for ws in left:
            await ws.close(code=1001, message=b"server shutting down")
        if self._runner is not None:
            await self._runner.cleanup()

    async def _broadcast(self, text: str) -> int:
        with self._lock:
            targets = [ws for ws in self._open if not ws.closed]
        for ws in targets:
            await ws.send_str(text)
        return len(targets)

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()  # answers pings with pongs (autoping)
        await ws.prepare(request)
        with self._lock:
            self._open.add(ws)
            self.connections += 1
            count = len(self._open)
            self._lock.notify_all()
        hello = {
            "type": "hello",
            "num_connections": count,
            "debug_info": {
                "host": "applink-fake-1",
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": APP_ID},
        }
        try:
            await ws.send_str(json.dumps(hello))
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self._note(message.data)
        finally:
            with self._lock:
                self._open.discard(ws)
                self._lock.notify_all()
        return ws

    def _note(self, text: str) -> None:
        try:
            data = json.loads(text)
        except ValueError:
            data = text
        with self._lock:
            self.received.append(data)
            if isinstance(data, dict) and "envelope_id" in data:
                self.acks.append(data)
            self._lock.notify_all()
