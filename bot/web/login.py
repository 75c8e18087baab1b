"""Log in and out of the web app."""

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from bot.core.staff import StaffSession
from bot.web.context import Web, client_of, cross_site
from bot.web.password_pool import PoolFull
from bot.web.security import COOKIE, HeldBack, LoginRefused

BUSY_RETRY_SECONDS = 2  # every hashing thread is busy: a few checks finish in this time


def safe_next(target: str | None) -> str:
    """Where to go after logging in: a path on this site only, never another site."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/leads"
    return target


def _try_later(web: Web, request: Request, context: dict[str, object], seconds: int) -> Response:
    """The login page again, with 429 and when to come back."""
    page = web.page(request, "login.html", context, status_code=429)
    page.headers["Retry-After"] = str(seconds)
    return page


def routes(web: Web) -> APIRouter:
    """`GET/POST /login`, `POST /logout`."""
    router = APIRouter()

    @router.get("/login", include_in_schema=False)
    async def login_page(request: Request, next: str | None = None) -> Response:
        if await asyncio.to_thread(web.session_of, request):
            return RedirectResponse(safe_next(next), status_code=303)
        return web.page(request, "login.html", {"next": safe_next(next), "email": ""})

    @router.post("/login", include_in_schema=False)
    async def login(
        request: Request,
        email: Annotated[str, Form(max_length=320)] = "",
        password: Annotated[str, Form(max_length=1024)] = "",
        next: Annotated[str, Form(max_length=2048)] = "/leads",
    ) -> Response:
        if cross_site(request):
            return web.page(
                request, "error.html", {"message": "cross-site request"}, status_code=403
            )
        context = {"next": safe_next(next), "email": email}
        try:
            done = await web.sessions.login(email, password, client_of(request))
        except HeldBack as held:
            return _try_later(web, request, {**context, "held_back": held.seconds}, held.seconds)
        except PoolFull:
            return _try_later(web, request, {**context, "busy": True}, BUSY_RETRY_SECONDS)
        except LoginRefused:
            return web.page(request, "login.html", {**context, "refused": True}, status_code=401)
        response = RedirectResponse(safe_next(next), status_code=303)
        cookie = web.cookie(request, COOKIE)
        response.set_cookie(
            cookie.name,
            done.token,
            max_age=int(web.sessions.lifetime.total_seconds()),
            httponly=True,
            samesite="lax",
            secure=cookie.secure,
            path="/",
        )
        return response

    @router.post("/logout", include_in_schema=False)
    async def logout(
        request: Request, _: Annotated[StaffSession, Depends(web.changes("sales"))]
    ) -> Response:
        cookie = web.cookie(request, COOKIE)
        await asyncio.to_thread(web.sessions.logout, cookie.read(request))
        response = RedirectResponse("/login", status_code=303)
        cookie.delete(response)
        return response

    return router
