"""The catalog API for an admin's automation: list and read the intents, write (edit or
create) and retire one, read the catalog's history. A `catalog:admin` token opens it.

A write goes through `app.editor`, as the admin console's do: a new revision, saved only if
the catalog loads with it, served here at once and followed by every replica. An edit names
the intent as the client read it (`If-Match: "<etag>"`); when someone changed the intent
meanwhile it is refused with 412, saying who, so nobody's save is lost. `If-None-Match: *`
creates an intent. Every write is in the audit log, by `token:<name>`.
"""

import asyncio
import json
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Path, Query, Request, Security
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from bot.catalog_edits import MAX_COMMENT, EditConflict, InvalidIntent
from bot.catalog_sync import CatalogRefused
from bot.core.ports import CatalogRevision, RevisionConflict
from bot.core.staff import ApiToken
from bot.web.api_auth import REFUSED, bearer_guard
from bot.web.api_catalog_schema import (
    EditConflictOut,
    FieldProblemOut,
    IntentDetail,
    IntentList,
    IntentRefused,
    IntentSaved,
    IntentSummary,
    IntentWrite,
    RevisionOut,
    RevisionPage,
)
from bot.web.api_catalog_store import Catalog, CatalogIndex, Write, as_files_hold
from bot.web.api_schema import Problem
from bot.web.context import Web
from intents.editing import EditError
from intents.intent_yaml import render_intent

SCOPE = "catalog:admin"
MAX_BODY = 256 * 1024  # an intent is a few kB; a body this size is a mistake or an attack
NO_STORE = {"Cache-Control": "no-store"}
CONDITIONS = (
    'send If-Match: "<etag>" (from GET /api/intents/{id}) to edit an intent, or '
    "If-None-Match: * to create one"
)

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "No such intent."}
}
RETIRE_RESPONSES: dict[int | str, dict[str, Any]] = {
    **REFUSED,
    **NOT_FOUND,
    409: {"model": Problem, "description": "Other saves kept landing first; try again."},
    412: {"model": EditConflictOut, "description": "The intent changed since you read it."},
    422: {
        "model": IntentRefused,
        "description": "The catalog would not load without it (e.g. a button leads to it).",
    },
    428: {"model": Problem, "description": "No If-Match."},
}
WRITE_RESPONSES: dict[int | str, dict[str, Any]] = {
    **RETIRE_RESPONSES,
    201: {"model": IntentSaved, "description": "Created (with `If-None-Match: *`)."},
    400: {"model": Problem, "description": "The body is not JSON, or the conditions clash."},
    412: {
        "model": EditConflictOut,
        "description": "The intent changed since you read it (creating: it exists).",
    },
    413: {"model": Problem, "description": "The body is over 256 kB."},
    422: {
        "model": IntentRefused,
        "description": "The intent's fields are wrong, or the catalog would not load with it.",
    },
    428: {"model": Problem, "description": "Neither If-Match nor If-None-Match."},
}
WRITE_RESPONSES.pop(404)


def problem(status: int, detail: str) -> JSONResponse:
    """A refusal with its reason."""
    return JSONResponse({"detail": detail}, status_code=status, headers=NO_STORE)


def refused(detail: str, fields: list[FieldProblemOut] | None = None) -> JSONResponse:
    """A 422 for the intent's (or the body's) fields."""
    body = IntentRefused(detail=detail, fields=fields or [], catalog=[])
    return JSONResponse(body.model_dump(), status_code=422)


def field_refused(name: str, message: str) -> JSONResponse:
    """A 422 for one field."""
    return refused("nothing was saved", [FieldProblemOut(field=name, message=message)])


def conflict(
    intent_id: str, detail: str, index: CatalogIndex, revision: CatalogRevision | None = None
) -> JSONResponse:
    """A 412: who changed the intent (when known), and its etag now."""
    body = EditConflictOut(
        detail=detail,
        intent=intent_id,
        etag=index.etags.get(intent_id, "absent"),
        revision=revision.number if revision else None,
        actor=revision.actor if revision else None,
        at=revision.at if revision else None,
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=412)


def saved_response(saved: IntentSaved) -> JSONResponse:
    """200 (201 for a new intent) with the intent's new etag as `ETag`."""
    headers = dict(NO_STORE)
    if saved.etag:
        headers["ETag"] = f'"{saved.etag}"'
    status = 201 if saved.kind == "create" and saved.changed else 200
    if status == 201:
        headers["Location"] = f"/api/intents/{saved.id}"
    return JSONResponse(saved.model_dump(), status_code=status, headers=headers)


async def read_body(request: Request) -> bytes | None:
    """The request's body, or None when it is over `MAX_BODY` (not read any further)."""
    declared = request.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return None
    return bytes(body)


def etag_in(if_match: str) -> str:
    """The etag of an `If-Match` header: quoted as `ETag` sends it, or bare; `*` for any."""
    return if_match.strip().removeprefix("W/").strip('"') or '""'


def condition(if_match: str | None, if_none_match: str | None) -> str | JSONResponse:
    """The etag the client read (`*`: any), "absent" to create, or why neither was asked."""
    if if_match is None and if_none_match is None:
        return problem(428, CONDITIONS)
    if if_match is not None and if_none_match is not None:
        return problem(400, f"send only one condition: {CONDITIONS}")
    if if_match is not None:
        return etag_in(if_match)
    if if_none_match is not None and if_none_match.strip() != "*":
        return problem(400, f"If-None-Match: only * (create); {CONDITIONS}")
    return "absent"


async def read_write(request: Request, intent_id: str) -> tuple[IntentWrite, dict[str, Any]]:
    """The body as an `IntentWrite` and its intent as the files hold it; `Refusal` when it is
    too large, not JSON, or not the right shape."""
    body = await read_body(request)
    if body is None:
        raise Refusal(problem(413, f"the body is over {MAX_BODY // 1024} kB"))
    try:
        raw = json.loads(body)
    except ValueError:
        raise Refusal(
            problem(400, 'the body is not JSON: send {"intent": {...}, "comment": "..."}')
        ) from None
    try:
        write = IntentWrite.model_validate(raw)
    except ValidationError as exc:
        fields = [
            FieldProblemOut(field=".".join(str(p) for p in e["loc"]) or "body", message=e["msg"])
            for e in exc.errors(include_url=False)
        ]
        raise Refusal(refused("the body is not valid; nothing was saved", fields)) from None
    data = as_files_hold(write.intent, intent_id)
    if data["id"] != intent_id:
        raise Refusal(
            field_refused("id", f"an intent's id cannot change (the path says {intent_id})")
        )
    return write, data


class Refusal(Exception):
    """A request refused before anything is saved, with its response."""

    def __init__(self, response: JSONResponse) -> None:
        super().__init__(response.status_code)
        self.response = response


def planned(index: CatalogIndex, write: Write) -> Write | IntentSaved:
    """The write checked against the intent as it is now: a `Refusal` for a new intent that
    exists or has no file, or an intent moved to another file; an `IntentSaved` (unchanged)
    for an edit that changes nothing; otherwise the write, `If-Match: *` resolved."""
    intent_id = write.intent_id
    located = index.intents.get(intent_id)
    current = index.etags.get(intent_id, "")
    if write.seen == "absent":
        if located is not None:
            detail = f"{intent_id} exists already (in {located.path}); edit it with If-Match"
            raise Refusal(conflict(intent_id, detail, index))
        if write.new_path is None:
            raise Refusal(field_refused("file", "a new intent needs its file: faq/<name>.yaml"))
        return write
    seen = current if write.seen == "*" else write.seen
    if located is None or write.data is None:
        return Write(intent_id, write.data, seen, write.comment)
    if write.new_path not in (None, located.path):
        raise Refusal(field_refused("file", f"the intent is in {located.path}; it cannot move"))
    if seen == current and render_intent(write.data) == render_intent(located.data):
        return IntentSaved(
            id=intent_id,
            kind="edit",
            changed=False,
            revision=index.revision or 0,
            etag=current,
            file=located.path,
            warnings=[],
        )
    return Write(intent_id, write.data, seen, write.comment)


async def attempt(catalog: Catalog, write: Write, token: ApiToken) -> JSONResponse:
    """Check the write against the newest revision and save it through the editor; its
    response, a refusal's included."""
    try:
        index = await asyncio.to_thread(catalog.current)
        plan = planned(index, write)
        if isinstance(plan, IntentSaved):
            return saved_response(plan)
        return saved_response(await asyncio.to_thread(catalog.save, plan, token))
    except Refusal as exc:
        return exc.response
    except InvalidIntent as exc:
        fields = [FieldProblemOut(field=p.field, message=p.message) for p in exc.problems]
        return refused("the intent's fields are not valid; nothing was saved", fields)
    except CatalogRefused as exc:
        detail = "with this change the catalog would not load; nothing was saved"
        body = IntentRefused(detail=detail, fields=[], catalog=exc.problems)
        return JSONResponse(body.model_dump(), status_code=422)
    except EditConflict as exc:
        index = await asyncio.to_thread(catalog.current)
        return conflict(write.intent_id, str(exc), index, exc.revision)
    except RevisionConflict:
        return problem(409, "other saves kept landing first; send it again")
    except EditError as exc:
        return refused(f"{exc}; nothing was saved")


IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", description='To edit: the intent\'s etag as you read it, `"<etag>"`.'),
]
IfNoneMatch = Annotated[
    str | None, Header(alias="If-None-Match", description="To create an intent: `*`.")
]
IntentId = Annotated[str, Path(description="The intent's id, e.g. `company_registration`.")]
PUT_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IntentWrite"}}},
    }
}


def routes(web: Web) -> APIRouter:
    """`GET /api/intents`, `GET|PUT|DELETE /api/intents/{id}`, `GET /api/catalog/revisions`."""
    router = APIRouter(tags=["catalog"])
    catalog = Catalog(web.app)
    Admin = Annotated[ApiToken, Security(bearer_guard(web), scopes=[SCOPE])]  # noqa: N806

    @router.get(
        "/api/intents",
        response_model=IntentList,
        responses=REFUSED,
        summary="Every intent, with its etag",
        response_description="The intents of the revision served.",
    )
    async def list_intents(response: Response, _: Admin) -> IntentList:
        """The intents of the catalog revision served, in the order of its files: titles,
        tags, file, etag, review dates and how many examples each has."""
        index = await asyncio.to_thread(catalog.current)
        response.headers.update(NO_STORE)
        intents = [
            IntentSummary.of(located.data, located.path, index.etags[intent_id])
            for intent_id, located in index.intents.items()
        ]
        return IntentList(revision=index.revision, intents=intents)

    @router.get(
        "/api/intents/{intent_id}",
        response_model=IntentDetail,
        responses={**REFUSED, **NOT_FOUND},
        summary="One intent in full",
        response_description="The intent, its file and its etag.",
    )
    async def show_intent(response: Response, _: Admin, intent_id: IntentId) -> IntentDetail:
        """Every field of the intent as its file holds it (days as `YYYY-MM-DD`, empty
        fields left out), its file, and its etag, also sent as the `ETag` header: send it
        back as `If-Match` to edit the intent."""
        index = await asyncio.to_thread(catalog.current)
        located = index.intents.get(intent_id)
        if located is None:
            raise HTTPException(404, f"no intent {intent_id}")
        tag = index.etags[intent_id]
        response.headers.update({**NO_STORE, "ETag": f'"{tag}"'})
        return IntentDetail(
            id=intent_id, file=located.path, etag=tag, revision=index.revision, intent=located.data
        )

    @router.put(
        "/api/intents/{intent_id}",
        response_model=IntentSaved,
        responses=WRITE_RESPONSES,
        summary="Edit an intent, or create one",
        response_description="Saved (or unchanged).",
        openapi_extra=PUT_BODY,
    )
    async def put_intent(
        request: Request,
        token: Admin,
        intent_id: IntentId,
        if_match: IfMatch = None,
        if_none_match: IfNoneMatch = None,
    ) -> Response:
        """Writes the whole intent as a new catalog revision, which every replica serves
        within seconds. Edit with `If-Match: "<etag>"`: when someone changed the intent
        since you read it, 412 says who and nothing is saved; read it again and redo your
        change. Create with `If-None-Match: *` and the `file` to put it in. The catalog
        must load with the change (422 says why not); `warnings` are what
        `lingang-bot intents check` says of it. 200 with `changed: false` when the intent
        was exactly this already."""
        seen = condition(if_match, if_none_match)
        if isinstance(seen, JSONResponse):
            return seen
        try:
            body, data = await read_write(request, intent_id)
        except Refusal as exc:
            return exc.response
        return await attempt(catalog, Write(intent_id, data, seen, body.comment, body.file), token)

    @router.delete(
        "/api/intents/{intent_id}",
        response_model=IntentSaved,
        responses=RETIRE_RESPONSES,
        summary="Retire an intent",
        response_description="Retired.",
    )
    async def retire_intent(
        token: Admin,
        intent_id: IntentId,
        if_match: IfMatch = None,
        comment: Annotated[
            str,
            Query(
                description=f"Why: shown in the catalog's history (up to {MAX_COMMENT} "
                "characters are kept)."
            ),
        ] = "",
    ) -> Response:
        """Removes the intent from the catalog as a new revision (a file left without
        intents goes too). Refused with 422 while another intent's button leads to it, and
        with 412 when it changed since you read it."""
        if if_match is None:
            return problem(428, 'send If-Match: "<etag>" (from GET /api/intents/{id})')
        index = await asyncio.to_thread(catalog.current)
        if intent_id not in index.intents:
            return problem(404, f"no intent {intent_id}")
        return await attempt(catalog, Write(intent_id, None, etag_in(if_match), comment), token)

    @router.get(
        "/api/catalog/revisions",
        response_model=RevisionPage,
        responses=REFUSED,
        summary="The catalog's history",
        response_description="A page of revisions, newest first.",
    )
    async def revisions(
        response: Response,
        _: Admin,
        limit: Annotated[int, Query(ge=1, le=200, description="At most this many.")] = 50,
        offset: Annotated[
            int, Query(ge=0, le=1_000_000, description="Skip this many newer ones.")
        ] = 0,
    ) -> RevisionPage:
        """Every saved state of the catalog, newest first: who, when, what kind of change,
        the comment, and which intents (or other files) it changed."""
        found = await asyncio.to_thread(web.app.catalog.revisions.history, limit, offset)
        response.headers.update(NO_STORE)
        served = web.app.catalog.version
        return RevisionPage(served=served, revisions=[RevisionOut.of(r) for r in found])

    return router
