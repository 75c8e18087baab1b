"""Security headers on every response of the app (the proxy sets the same ones: a replica
reached without it, or a proxy replaced by another, still sends them).

The pages load scripts and styles only from /static (no inline script or style, no event
attributes), post their forms to the app and are never meant to be framed, so the policy
allows the app's own origin and nothing else.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'none'"
)
SECURITY_HEADERS: dict[str, str] = {
    # Sent on plain http too, on purpose: browsers act on it only when it arrives over https
    # (RFC 6797 §8.1), so it cannot lock a development machine out, and sending it does not
    # depend on the scheme the proxy reports (a proxy whose X-Forwarded-Proto is not trusted
    # would otherwise silently turn it off).
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


class SecurityHeaders:
    """ASGI middleware: adds `SECURITY_HEADERS` to every HTTP response (other scopes pass)."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one request."""
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
            await send(message)

        await self._app(scope, receive, send_with_headers)
