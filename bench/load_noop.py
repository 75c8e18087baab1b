"""The no-op baseline of bench/load.py: a bare ASGI callable (no framework) that reads each
request's body and answers 200 to POST /telegram/webhook and /slack/events (it checks nothing),
served by uvicorn with the options of `lingang-bot serve` (uvloop, httptools, no server header,
uvicorn's logging left unconfigured). What our replicas spend beyond it is ours.

    python bench/load_noop.py --port 8000
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import uvicorn

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

ACKNOWLEDGED = {("POST", "/telegram/webhook"), ("POST", "/slack/events"), ("GET", "/readyz")}


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """Read the body; 200 and an empty body for the webhooks (and /readyz), 404 otherwise."""
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        more = bool(message.get("more_body", False))
    status = 200 if (scope["method"], scope["path"]) in ACKNOWLEDGED else 404
    await send(
        {"type": "http.response.start", "status": status, "headers": [(b"content-length", b"0")]}
    )
    await send({"type": "http.response.body", "body": b""})


def main() -> None:
    """Serve the no-op app on 127.0.0.1."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        log_config=None,
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
        server_header=False,
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
