"""Every web request has an id: the caller's `X-Request-ID` when it is a sane token (a proxy's),
else a new one. Log lines written while the request is handled carry it (`bot.logs`), work it
starts in threads or tasks inherits it, and the response returns it in `X-Request-ID`."""

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.logs import accepted_request_id, bind_request_id, unbind_request_id

HEADER = "X-Request-ID"


class RequestIds:
    """ASGI middleware: binds the request id for the request's duration and returns it."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one request (other scopes pass through)."""
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        request_id = accepted_request_id(Headers(scope=scope).get(HEADER))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        token = bind_request_id(request_id)
        try:
            await self._app(scope, receive, send_with_id)
        finally:
            unbind_request_id(token)
