"""The API: the leads for a CRM (`GET /api/leads` with filters and an incremental cursor,
`GET /api/leads/{id}`) and the catalog for an admin's automation (`bot.web.api_catalog`),
with bearer tokens made by `lingang-bot tokens create NAME [--scope SCOPE]`.

Only a bearer token of the area's scope opens the data (`bot.web.api_auth`): a staff session
cookie does not, so no other site can make a logged-in browser fetch leads. The OpenAPI
document (`/api/openapi.json`) describes only these routes; staff may read it and the
`/api/docs` page with their session, and any live token may read the document.
"""

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from importlib.metadata import version
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, Security
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.routing import iter_route_contexts

from bot.core.feed import BadCursor, FeedCursor, FeedQuery
from bot.core.records import LeadStatus
from bot.core.staff import ApiToken
from bot.web import api_catalog, api_catalog_schema
from bot.web.api_auth import REFUSED, UNAUTHORIZED, bearer_guard
from bot.web.api_schema import LeadDetail, LeadOut, LeadPage, Problem
from bot.web.context import Web, login_url

PREFIX = "/api/"
# A change appears in the feed this long after it was made: a transaction that took its
# timestamp earlier but commits later must not land behind a cursor that moved past it.
SETTLE = timedelta(seconds=10)
NO_STORE = {"Cache-Control": "no-store"}


def _day(value: date | None, days: int = 0) -> datetime | None:
    return datetime.combine(value, time(), tzinfo=UTC) + timedelta(days=days) if value else None


def _type(schema: dict[str, Any]) -> str:
    """A parameter's type as a reader wants it: `integer`, `date`, `new | contacted | ...`."""
    if "anyOf" in schema:
        return " or ".join(_type(s) for s in schema["anyOf"] if s.get("type") != "null")
    if "allOf" in schema or "$ref" in schema:
        refs = [s.get("$ref", "") for s in schema.get("allOf", [schema])]
        return " and ".join(ref.rsplit("/", 1)[-1] for ref in refs)
    if "enum" in schema:
        return " | ".join(str(value) for value in schema["enum"])
    kind = str(schema.get("format") or schema.get("type") or "string")
    bounds = [
        f"{word} {schema[key]}"
        for key, word in (("minimum", "min"), ("maximum", "max"))
        if key in schema
    ]
    bounds += [f"max {schema['maxLength']} chars"] if "maxLength" in schema else []
    return f"{kind} ({', '.join(bounds)})" if bounds else kind


def endpoints(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The operations of an OpenAPI document, flattened for the docs page."""
    found = []
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            parameters = [
                {
                    "name": p["name"],
                    "where": p["in"],
                    "required": p.get("required", False),
                    "type": _type(p.get("schema", {})),
                    "default": p.get("schema", {}).get("default"),
                    "description": p.get("description", ""),
                }
                for p in operation.get("parameters", [])
            ]
            responses = [
                (code, answer.get("description", ""))
                for code, answer in sorted(operation.get("responses", {}).items())
            ]
            found.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": operation.get("summary", ""),
                    "description": operation.get("description", ""),
                    "parameters": parameters,
                    "body": _body(document, operation),
                    "responses": responses,
                }
            )
    return found


def _body(document: dict[str, Any], operation: dict[str, Any]) -> list[dict[str, Any]]:
    """The fields of an operation's JSON body, for the docs page (none without a body)."""
    content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    ref = content.get("schema", {}).get("$ref", "")
    return fields_of(document, ref.rsplit("/", 1)[-1]) if ref else []


def fields_of(document: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """The fields of the document's schema `name`, for the docs page."""
    schema = document.get("components", {}).get("schemas", {}).get(name, {})
    required = set(schema.get("required", []))
    return [
        {
            "name": name,
            "required": name in required,
            "type": _type(field),
            "description": field.get("description", ""),
        }
        for name, field in schema.get("properties", {}).items()
    ]


def routes(web: Web) -> APIRouter:
    """`GET /api/leads`, `GET /api/leads/{id}`, the catalog's routes, `GET /api/openapi.json`,
    `GET /api/docs`."""
    router = APIRouter()
    schema: dict[str, Any] = {}

    async def token_of(request: Request) -> ApiToken | None:
        header = request.headers.get("Authorization")
        return await asyncio.to_thread(web.sessions.api_token, header)

    Token = Annotated[ApiToken, Security(bearer_guard(web), scopes=["leads:read"])]  # noqa: N806

    @router.get(
        "/api/leads",
        response_model=LeadPage,
        responses={**REFUSED, 400: {"model": Problem, "description": "A bad cursor or range."}},
        summary="Leads, in the order they last changed",
        tags=["leads"],
    )
    async def list_leads(
        *,
        response: Response,
        _: Token,
        status: Annotated[LeadStatus | None, Query(description="Only this status.")] = None,
        channel: Annotated[
            str | None, Query(max_length=32, description="Only this channel, e.g. `telegram`.")
        ] = None,
        interest: Annotated[
            str | None, Query(max_length=64, description="Only this interest (option id).")
        ] = None,
        language: Annotated[
            str | None, Query(max_length=8, description="Only this language, e.g. `en`.")
        ] = None,
        created_from: Annotated[
            date | None, Query(description="Created on or after this day (UTC), YYYY-MM-DD.")
        ] = None,
        created_to: Annotated[
            date | None, Query(description="Created on or before this day (UTC), YYYY-MM-DD.")
        ] = None,
        since: Annotated[
            str | None,
            Query(
                max_length=200,
                description="The `next` of a previous page: only leads changed after it.",
            ),
        ] = None,
        limit: Annotated[int, Query(ge=1, le=500, description="At most this many.")] = 100,
    ) -> LeadPage:
        """Leads ordered by (`updated_at`, `id`). Pass each page's `next` as `since` to get
        only what changed after it: new leads, and leads whose status or answers changed
        (they come again). A change appears here 10 seconds after it is made."""
        if created_from and created_to and created_from > created_to:
            raise HTTPException(400, "created_from: after created_to")
        try:
            after = FeedCursor.decode(since) if since is not None else None
        except BadCursor:
            raise HTTPException(
                400, "since: not a cursor of this API; pass the `next` of a previous page"
            ) from None
        query = FeedQuery(
            status=status,
            channel=channel,
            interest=interest,
            language=language,
            created_from=_day(created_from),
            created_to=_day(created_to, days=1),
            after=after,
            settled_before=datetime.now(UTC) - SETTLE,
            limit=limit,
        )
        page = await asyncio.to_thread(web.app.storage.feed.changed, query)
        response.headers.update(NO_STORE)
        cursor = page.next
        return LeadPage(
            leads=[LeadOut.of(lead) for lead in page.leads],
            next=cursor.encode() if cursor else None,
            more=page.more,
        )

    @router.get(
        "/api/leads/{lead_id}",
        response_model=LeadDetail,
        responses={**REFUSED, 404: {"model": Problem, "description": "No such lead."}},
        summary="One lead in full",
        tags=["leads"],
    )
    async def show_lead(
        *,
        response: Response,
        _: Token,
        lead_id: Annotated[int, Path(ge=1, description="The lead's id.")],
    ) -> LeadDetail:
        """Every field, the consent record, the status history with notes, and the
        conversation transcript."""
        dossier = await asyncio.to_thread(web.app.storage.feed.dossier, lead_id)
        if dossier is None:
            raise HTTPException(404, f"no lead {lead_id}")
        response.headers.update(NO_STORE)
        return LeadDetail.of_dossier(dossier)

    def openapi(request: Request) -> dict[str, Any]:
        if not schema:
            # FastAPI keeps included routers as such; it flattens them into route contexts
            # (with their full paths) to build its own document.
            api_routes = [
                context
                for context in iter_route_contexts(request.app.routes)
                if (context.path or "").startswith(PREFIX)
            ]
            document = get_openapi(
                title="Lingang bot API",
                version=version("lingang-bot"),
                description="Pull leads into a CRM; read and edit the intent catalog from an "
                "admin's automation. Authenticate every request with `Authorization: Bearer "
                "<token>`. A token's scope opens one area only: `leads:read` (`lingang-bot "
                "tokens create NAME`) the leads, `catalog:admin` (`lingang-bot tokens create "
                "NAME --scope catalog:admin`) the intents and the catalog's revisions; another "
                "area answers 403.",
                routes=api_routes,
            )
            components = document.setdefault("components", {}).setdefault("schemas", {})
            components.update(api_catalog_schema.components())
            schema.update(document)
        return schema

    async def staff_or_token(request: Request) -> bool:
        if await asyncio.to_thread(web.session_of, request) is not None:
            return True
        return await token_of(request) is not None

    @router.get("/api/openapi.json", include_in_schema=False)
    async def openapi_document(request: Request) -> Response:
        if not await staff_or_token(request):
            return JSONResponse(
                {"detail": "log in, or send 'Authorization: Bearer <token>'"},
                status_code=401,
                headers=UNAUTHORIZED,
            )
        return JSONResponse(openapi(request))

    @router.get("/api/docs", include_in_schema=False)
    async def docs_page(request: Request) -> Response:
        # A page: staff who are not logged in go to the login page (not a 401 in JSON).
        if await asyncio.to_thread(web.session_of, request) is None:
            return RedirectResponse(login_url(request), status_code=303)
        document = openapi(request)
        base = str(request.base_url).rstrip("/")
        context = {
            "endpoints": endpoints(document),
            "intent_fields": fields_of(document, "Intent"),
            "base": base,
            "settle": int(SETTLE.total_seconds()),
            "title": document["info"]["title"],
            "version": document["info"]["version"],
        }
        return web.page(request, "api_docs.html", context)

    router.include_router(api_catalog.routes(web))
    return router
