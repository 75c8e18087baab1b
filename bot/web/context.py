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
from fastapi.responses import HTMLResponse, Response
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


HOST_ONLY = "__Host-"  # the browser keeps such a cookie only if Secure, Path=/, no Domain


@dataclass(frozen=True, slots=True)
class Cookie:
    """One of our cookies as a request must name and flag it.

    `Secure` follows `LINGANG_SECURE_COOKIES`, or else the request's scheme (behind a
    proxy, the X-Forwarded-Proto that uvicorn trusts), never the Host header. A secure
    cookie carries the `__Host-` prefix, so no sibling subdomain or plain-http page can
    plant it; over plain http (development) the name goes without the prefix, which a
    browser refuses without `Secure`, and only that name is read there.
    """

    name: str
    secure: bool

    @classmethod
    def of(cls, request: Request, name: str, secure: bool | None) -> Cookie:
        """The cookie `name` (given with its `__Host-` prefix) for this request."""
        secure = request.url.scheme == "https" if secure is None else secure
        return cls(name if secure else name.removeprefix(HOST_ONLY), secure)

    def read(self, request: Request) -> str | None:
        """The value the browser sent, if any."""
        return request.cookies.get(self.name)

    def set(self, response: Response, value: str, max_age: int | None = None) -> None:
        """Set it: HttpOnly, SameSite=Lax, host-only, the whole site."""
        response.set_cookie(
            self.name,
            value,
            max_age=max_age,
            httponly=True,
            samesite="lax",
            secure=self.secure,
            path="/",
        )

    def delete(self, response: Response) -> None:
        """Tell the browser to drop it (a `__Host-` one only goes with the same flags)."""
        response.delete_cookie(
            self.name, path="/", secure=self.secure, httponly=True, samesite="lax"
        )


def client_of(request: Request) -> str:
    """The client's address (behind a proxy, uvicorn's proxy headers have set it)."""
    return request.client.host if request.client else "unknown"


def client_key(request: Request) -> str:
    """Whom a per-client limit counts: an IPv4 address, or an IPv6 address's /64 (one
    subscriber usually holds a whole /64, so counting single addresses counts nothing)."""
    address = client_of(request)
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed)


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
        session: StaffSession | None = self.sessions.current(
            self.cookie(request, COOKIE).read(request)
        )
        request.state.staff = session
        return session

    def cookie(self, request: Request, name: str) -> Cookie:
        """Our cookie `name` (`__Host-...`) as this request must name and flag it."""
        return Cookie.of(request, name, self.app.settings.secure_cookies)

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
