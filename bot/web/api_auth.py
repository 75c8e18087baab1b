"""Who may call the API: a live bearer token whose scope is the route's.

A scope grants only its own area (`bot.core.staff.Scope`): a CRM's `leads:read` token cannot
edit the catalog, and an automation's `catalog:admin` token cannot read the leads. A staff
session cookie opens neither, so no other site can make a logged-in browser call the API.
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, SecurityScopes

from bot.core.staff import ApiToken
from bot.web.api_schema import Problem
from bot.web.context import Web

UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}

bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="bearerToken",
    description="A token made by `lingang-bot tokens create NAME [--scope SCOPE]`, sent as "
    "`Authorization: Bearer <token>`. Its scope opens one area only: `leads:read` the "
    "leads, `catalog:admin` the intents and the catalog's revisions.",
)

REFUSED: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "No bearer token, or an unknown or revoked one."},
    403: {"model": Problem, "description": "The token's scope is not this area's."},
}

Guard = Callable[..., Awaitable[ApiToken]]


def bearer_guard(web: Web) -> Guard:
    """The dependency of every data route: `Security(guard, scopes=[SCOPE])`."""

    async def guard(
        request: Request,
        needed: SecurityScopes,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    ) -> ApiToken:
        """A live bearer token of the route's scope, whatever cookies come with it."""
        if credentials is None:
            raise HTTPException(
                401,
                "send a token as 'Authorization: Bearer <token>' "
                "(make one with `lingang-bot tokens create NAME`)",
                headers=UNAUTHORIZED,
            )
        header = request.headers.get("Authorization")
        token = await asyncio.to_thread(web.sessions.api_token, header)
        if token is None:
            raise HTTPException(401, "unknown or revoked token", headers=UNAUTHORIZED)
        if needed.scopes and token.scope not in needed.scopes:
            scope = " or ".join(needed.scopes)
            raise HTTPException(
                403,
                f"this token's scope is {token.scope}; {request.url.path} needs a {scope} "
                f"token (`lingang-bot tokens create NAME --scope {needed.scopes[0]}`)",
            )
        return token

    return guard
