"""The catalog's revisions in the console: the history of the whole catalog and of one intent,
what any revision changed, the diff between any two, and rollback to one (itself a new
revision, refused with the reasons when that catalog would not load today).

Retired intents are found here too: an intent a revision retired that the catalog does not
hold now, with its last version (in the files that revision was made from) to restore.
"""

import asyncio
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from bot.catalog_edits import MAX_COMMENT
from bot.catalog_sync import CatalogRefused
from bot.core.ports import CatalogRevision, CatalogRevisions, RevisionConflict
from bot.core.staff import StaffSession
from bot.web.console import refused
from bot.web.context import Web
from intents.drafts import DiffPart, Located, diff, faq_intents
from intents.editing import EditError

PAGE = 50  # revisions on a history page
SCAN = 500  # revisions read at a time when looking through the whole history


@dataclass(frozen=True, slots=True)
class Retired:
    """An intent retired by `revision` and not in the catalog now, as it was last."""

    intent_id: str
    revision: CatalogRevision
    path: str
    data: dict[str, Any]

    @property
    def title(self) -> str:
        """Its English title as it was."""
        title = self.data.get("title")
        return str(title.get("en", "")) if isinstance(title, dict) else ""


def every_revision(revisions: CatalogRevisions) -> Iterator[CatalogRevision]:
    """The whole history, newest first, read a page at a time."""
    offset = 0
    while True:
        batch = revisions.history(SCAN, offset)
        yield from batch
        if len(batch) < SCAN:
            return
        offset += SCAN


def intent_history(revisions: CatalogRevisions, intent_id: str) -> list[CatalogRevision]:
    """The revisions that changed the intent, newest first."""
    return [r for r in every_revision(revisions) if r.touches(intent_id)]


def last_change(revisions: CatalogRevisions, intent_id: str) -> CatalogRevision | None:
    """The newest revision that changed the intent (None: none did)."""
    return next((r for r in every_revision(revisions) if r.touches(intent_id)), None)


def files_of(revisions: CatalogRevisions, number: int) -> dict[str, str]:
    """The files of revision `number` (0: before the first, no files; KeyError: no such)."""
    return {} if number == 0 else revisions.files(number)


def find_intent(files: Mapping[str, str], intent_id: str) -> Located | None:
    """The intent in `files`, reading only the files that mention its id (reading them all
    takes a while: the console asks this on every form it shows)."""
    return faq_intents({p: text for p, text in files.items() if intent_id in text}).get(intent_id)


def retired_intents(revisions: CatalogRevisions, present: Collection[str]) -> list[Retired]:
    """Intents retired by some revision that are not among the intents `present` now, each
    with its last version; the most recently retired first."""
    found: dict[str, Retired] = {}
    for revision in every_revision(revisions):
        for change in revision.changes:
            subject = change.subject
            if change.kind != "retired" or subject in present or subject in found:
                continue
            located = find_intent(files_of(revisions, revision.parent), subject)
            if located is not None:
                found[subject] = Retired(subject, revision, located.path, located.data)
    return list(found.values())


def _number(value: str | None) -> int | None:
    """A revision number given in a query ("" or None: not given; -1: not a number)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    return int(text) if text.isdigit() else -1


def routes(web: Web, router: APIRouter) -> None:
    """History, one revision, diffs and rollback."""
    _history_routes(web, router)
    _rollback_routes(web, router)


def _history_routes(web: Web, router: APIRouter) -> None:
    """The history of the catalog and of one intent, one revision, the diff of two."""
    admin = Annotated[StaffSession, Depends(web.staff("admin"))]
    app = web.app
    revisions = app.catalog.revisions

    @router.get("/catalog/history")
    async def history(request: Request, _: admin, page: int = 1) -> Response:
        page = max(page, 1)
        found = await asyncio.to_thread(revisions.history, PAGE + 1, (page - 1) * PAGE)
        context = {
            "revisions": found[:PAGE],
            "page": page,
            "more": len(found) > PAGE,
            "intent_id": None,
            "current": app.catalog.version,
            "present": set(app.knowledge.current.catalog.intents),
        }
        return web.page(request, "admin_catalog_history.html", context)

    @router.get("/intents/{intent_id}/history")
    async def history_of_intent(
        request: Request, intent_id: str, _: admin, page: int = 1
    ) -> Response:
        page = max(page, 1)
        found = await asyncio.to_thread(intent_history, revisions, intent_id)
        if not found:
            message = f"No revision of the catalog has changed an intent {intent_id!r}."
            return refused(web, request, message, 404)
        start = (page - 1) * PAGE
        context = {
            "revisions": found[start : start + PAGE],
            "page": page,
            "more": len(found) > start + PAGE,
            "intent_id": intent_id,
            "current": app.catalog.version,
            "present": set(app.knowledge.current.catalog.intents),
        }
        return web.page(request, "admin_catalog_history.html", context)

    @router.get("/catalog/revisions/{number}")
    async def revision_page(request: Request, number: int, _: admin) -> Response:
        revision = await asyncio.to_thread(revisions.get, number)
        if revision is None:
            return refused(web, request, f"There is no revision {number}.", 404)
        parts = await asyncio.to_thread(_diff, revisions, revision.parent, number, None)
        context = {
            "revision": revision,
            "parts": parts,
            "current": app.catalog.version,
            "present": set(app.knowledge.current.catalog.intents),
        }
        return web.page(request, "admin_catalog_revision.html", context)

    @router.get("/catalog/diff")
    async def diff_page(
        request: Request,
        _: admin,
        start: Annotated[str | None, Query(alias="from")] = None,
        to: str | None = None,
        intent: str = "",
    ) -> Response:
        newest = app.catalog.version or 0
        target = _number(to)
        target = newest if target is None else target
        revision = await asyncio.to_thread(revisions.get, target) if target > 0 else None
        if revision is None:
            return refused(web, request, f"There is no revision {to}.", 404)
        base = _number(start)
        base = revision.parent if base is None else base
        if base < 0:
            return refused(web, request, f"There is no revision {start}.", 404)
        only = intent.strip()[:200] or None
        try:
            parts = await asyncio.to_thread(_diff, revisions, base, target, only)
        except KeyError:
            return refused(web, request, f"There is no revision {base}.", 404)
        context = {
            "base": base,
            "target": target,
            "newest": newest,
            "intent": only or "",
            "parts": parts,
        }
        return web.page(request, "admin_catalog_diff.html", context)


def _rollback_routes(web: Web, router: APIRouter) -> None:
    """Roll back to a revision: confirm, then a new revision with its files."""
    admin = Annotated[StaffSession, Depends(web.staff("admin"))]
    change = Annotated[StaffSession, Depends(web.changes("admin"))]
    app = web.app
    revisions = app.catalog.revisions

    async def rollback_page(
        request: Request, revision: CatalogRevision, extra: dict[str, Any], status: int = 200
    ) -> Response:
        current = app.catalog.version or 0
        parts = await asyncio.to_thread(_diff, revisions, current, revision.number, None)
        context = {
            "revision": revision,
            "parts": parts,
            "current": current,
            "problems": [],
            "error": None,
            "comment": "",
            **extra,
        }
        return web.page(request, "admin_catalog_rollback.html", context, status_code=status)

    @router.get("/catalog/revisions/{number}/rollback")
    async def rollback_confirm(request: Request, number: int, _: admin) -> Response:
        revision = await asyncio.to_thread(revisions.get, number)
        if revision is None:
            return refused(web, request, f"There is no revision {number}.", 404)
        return await rollback_page(request, revision, {})

    @router.post("/catalog/revisions/{number}/rollback")
    async def rollback(
        request: Request,
        number: int,
        session: change,
        comment: Annotated[str, Form(max_length=4 * MAX_COMMENT)] = "",
    ) -> Response:
        revision = await asyncio.to_thread(revisions.get, number)
        if revision is None:
            return refused(web, request, f"There is no revision {number}.", 404)
        actor = session.user.email
        try:
            made = await asyncio.to_thread(app.editor.rollback, number, actor, comment)
        except CatalogRefused as exc:
            message = (
                f"Not rolled back: the catalog of revision {number} does not load today; "
                "nothing was changed."
            )
            extra = {"error": message, "problems": exc.problems, "comment": comment}
            return await rollback_page(request, revision, extra, 400)
        except (EditError, RevisionConflict) as exc:
            reason = str(exc) or "another admin saved at the same moment; try again"
            extra = {"error": f"Not rolled back: {reason}.", "comment": comment}
            return await rollback_page(request, revision, extra, 400)
        details = {"revision": made.number, "to": number, "comment": made.comment}
        await asyncio.to_thread(
            app.storage.staff.audit, actor, "catalog.rollback", f"revision {number}", details
        )
        return RedirectResponse(f"/admin/catalog/revisions/{made.number}", status_code=303)


def _diff(revisions: CatalogRevisions, base: int, target: int, only: str | None) -> list[DiffPart]:
    """The diff from revision `base` to `target` (of one intent or file, with `only`)."""
    return diff(files_of(revisions, base), files_of(revisions, target), only)
