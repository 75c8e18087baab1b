"""What every page of the web app shares: the wired app, templates, sessions and the guards
that decide who may see a page and who may change something.

Deny by default: a page is public only if its route takes no guard. `staff("sales")` and
`staff("admin")` guard pages; `changes("sales")`/`changes("admin")` guard every request that
changes something (POST only): a live session of the right role, the session's CSRF token in
the form field `csrf` or the `X-CSRF-Token` header, and no cross-site origin.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from bot.app import App
from bot.core.staff import Role, StaffSession
from bot.web.security import COOKIE, Sessions, may, same

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


class LoginRequired(Exception):
    """No live session: pages redirect to the login page, other requests get 401."""


class Forbidden(Exception):
    """A live session without the role, or a change without a valid CSRF token or origin."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def is_local(host: str) -> bool:
    """Whether a request's host is this machine (cookies may then go without `Secure`)."""
    name = host.rsplit(":", 1)[0].strip("[]") if host.count(":") <= 1 else host.strip("[]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def client_of(request: Request) -> str:
    """The client's address (behind a proxy, uvicorn's proxy headers have set it)."""
    return request.client.host if request.client else "unknown"


@dataclass(frozen=True, slots=True)
class Web:
    """The app and the web's own services, handed to every router."""

    app: App
    templates: Jinja2Templates
    sessions: Sessions

    @classmethod
    def over(cls, app: App) -> Web:
        """The web services over a wired app."""
        settings = app.settings
        sessions = Sessions(
            app.storage.staff,
            idle=timedelta(minutes=settings.session_idle_minutes),
            lifetime=timedelta(hours=settings.session_max_hours),
        )
        return cls(app, Jinja2Templates(directory=TEMPLATES), sessions)

    def page(
        self,
        request: Request,
        template: str,
        context: Mapping[str, Any] | None = None,
        *,
        status_code: int = 200,
    ) -> HTMLResponse:
        """A page from a template, with the session (if any) and its CSRF token."""
        session: StaffSession | None = getattr(request.state, "staff", None)
        values = {
            "staff": session.user if session else None,
            "csrf": session.csrf if session else "",
            **(context or {}),
        }
        return self.templates.TemplateResponse(request, template, values, status_code=status_code)

    def session_of(self, request: Request) -> StaffSession | None:
        """The request's live session, or None."""
        session: StaffSession | None = self.sessions.current(request.cookies.get(COOKIE))
        request.state.staff = session
        return session

    def staff(self, role: Role) -> Callable[[Request], Awaitable[StaffSession]]:
        """A guard for pages: a live session whose user has `role` (or is an admin)."""

        async def guard(request: Request) -> StaffSession:
            session = self.session_of(request)
            if session is None:
                raise LoginRequired
            if not may(session.user.role, role):
                raise Forbidden("this page is for another role")
            return session

        return guard

    def changes(self, role: Role) -> Callable[[Request], Awaitable[StaffSession]]:
        """A guard for changes: the role, a same-site origin and the session's CSRF token."""
        page_guard = self.staff(role)

        async def guard(request: Request) -> StaffSession:
            session = await page_guard(request)
            if cross_site(request):
                raise Forbidden("cross-site request")
            given = request.headers.get("X-CSRF-Token")
            if given is None:
                form = await request.form()
                field = form.get("csrf")
                given = field if isinstance(field, str) else ""
            if not given or not same(given, session.csrf):
                raise Forbidden("missing or wrong CSRF token; reload the page and try again")
            return session

        return guard


def cross_site(request: Request) -> bool:
    """Whether the browser says the request comes from another site (Fetch Metadata or
    Origin); requests without either (scripts, curl) are judged by the CSRF token alone."""
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        return True
    origin = request.headers.get("Origin")
    if origin is None or origin == "null":
        return origin == "null"
    return urlsplit(origin).netloc != request.headers.get("Host", "")


def login_url(request: Request) -> str:
    """The login page, coming back to this page after."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"/login?next={quote(target, safe='')}"
