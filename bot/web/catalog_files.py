"""The catalog's other files in the console: the bot's own replies and settings
(`catalog.yaml`), the sales desk, the lead form, the scope rule and the lead-request cues, so
an admin keeps all of the catalog from the browser, not only its intents.

A file is edited as its YAML text: Check shows whether the catalog still loads with it (the
problems by `file:line`) and the diff; Save makes a revision, refused when someone changed the
file since it was opened (its etag), and audited.
"""

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from bot.catalog_edits import MAX_COMMENT, EditConflict, file_etag
from bot.catalog_sync import CatalogRefused
from bot.core.staff import StaffSession
from bot.web.console import refused
from bot.web.context import Web
from intents.editing import EditError
from intents.snapshot import MAX_FILE_BYTES, SnapshotError, check_path


def routes(web: Web, router: APIRouter) -> None:
    """`/admin/catalog/files` and one page per file."""
    admin = Annotated[StaffSession, Depends(web.staff("admin"))]
    change = Annotated[StaffSession, Depends(web.changes("admin"))]
    app = web.app

    def page(request: Request, path: str, extra: dict[str, Any], status: int = 200) -> Response:
        files = app.catalog.files()
        context = {
            "path": path,
            "text": files.get(path, ""),
            "etag": file_etag(files.get(path)),
            "comment": "",
            "problems": [],
            "parts": None,
            "error": None,
            "saved": None,
            **extra,
        }
        return web.page(request, "admin_catalog_file.html", context, status_code=status)

    @router.get("/catalog/files")
    async def listing(request: Request, _: admin) -> Response:
        files = app.catalog.files()
        rows = [(path, len(text.encode())) for path, text in files.items()]
        context = {"rows": rows, "version": app.catalog.version}
        return web.page(request, "admin_catalog_files.html", context)

    @router.get("/catalog/files/{path:path}")
    async def show(request: Request, path: str, _: admin, saved: int | None = None) -> Response:
        if path not in app.catalog.files():
            return refused(web, request, f"The catalog has no file {path!r}.", 404)
        return page(request, path, {"saved": saved})

    @router.post("/catalog/files/{path:path}")
    async def edit(
        request: Request,
        path: str,
        session: change,
        *,
        text: Annotated[str, Form(max_length=MAX_FILE_BYTES)] = "",
        seen: Annotated[str, Form(alias="etag", max_length=40)] = "",
        comment: Annotated[str, Form(max_length=4 * MAX_COMMENT)] = "",
        action: Annotated[str, Form(max_length=16)] = "check",
    ) -> Response:
        try:
            check_path(path)
        except SnapshotError:
            return refused(web, request, f"The catalog has no file {path!r}.", 404)
        text = text.replace("\r\n", "\n")  # browsers send a textarea's lines with CR LF
        kept = {"text": text, "etag": seen, "comment": comment}
        if action != "save":
            draft = await asyncio.to_thread(app.editor.draft_file, path, text)
            extra = {**kept, "problems": draft.refused, "parts": draft.parts}
            return page(request, path, extra, 400 if draft.refused else 200)
        actor = session.user.email
        try:
            revision = await asyncio.to_thread(
                app.editor.save_file, path, text, seen, actor, comment
            )
        except CatalogRefused as exc:
            error = "Not saved: the catalog would not load with this file; nothing changed."
            return page(request, path, {**kept, "problems": exc.problems, "error": error}, 400)
        except EditConflict as exc:
            return page(request, path, {**kept, "error": str(exc)}, 409)
        except EditError as exc:
            return page(request, path, {**kept, "error": f"Not saved: {exc}."}, 400)
        details = {"revision": revision.number, "comment": revision.comment}
        await asyncio.to_thread(app.storage.staff.audit, actor, "catalog.file_edit", path, details)
        return RedirectResponse(
            f"/admin/catalog/files/{path}?saved={revision.number}", status_code=303
        )
