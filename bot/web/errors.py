"""How the web app answers a request it refuses: log in, not allowed, database down."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from bot.core.ports import OutOfRange, StorageUnavailable
from bot.web.context import Forbidden, LoginRequired, Web, login_url

log = logging.getLogger(__name__)


def out_of_range(method: str, path: str) -> Response:
    """A number past the database's integer (an id of 20 digits) or a value its column cannot
    hold: the request is wrong, not the server (400, one warning)."""
    log.warning("%s %s: a value out of range", method, path)
    return JSONResponse({"detail": "a value in the request is out of range"}, status_code=400)


def database_down(method: str, path: str) -> Response:
    """The database cannot be reached: 503, try again later (one warning)."""
    log.warning("%s %s: database unavailable", method, path)
    return JSONResponse(
        {"detail": "the database is unavailable; try again in a minute"},
        status_code=503,
        headers={"Retry-After": "30"},
    )


def handle_errors(web: FastAPI, pages: Web) -> None:
    """Pages redirect to the login page; the API and scripts get 401/403/503 as JSON."""

    @web.exception_handler(LoginRequired)
    async def login_required(request: Request, _: LoginRequired) -> Response:
        if request.method == "GET" and not request.url.path.startswith("/api/"):
            return RedirectResponse(login_url(request), status_code=303)
        return JSONResponse({"detail": "log in first"}, status_code=401)

    @web.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": exc.reason}, status_code=403)
        return pages.page(request, "error.html", {"message": exc.reason}, status_code=403)

    @web.exception_handler(OutOfRange)
    async def out_of_range_handler(request: Request, _: OutOfRange) -> Response:
        return out_of_range(request.method, request.url.path)

    @web.exception_handler(StorageUnavailable)
    async def database_down_handler(request: Request, _: StorageUnavailable) -> Response:
        return database_down(request.method, request.url.path)
