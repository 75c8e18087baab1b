"""The catalog's editor in the console: edit, create, retire and restore intents.

One form serves three buttons: "Check" shows the field problems next to their fields, why
the catalog would not load, the quality warnings of the intent and its neighbours and the
diff; "Test" answers a question from that draft; "Save" makes it a revision. Whatever happens,
the form comes back with everything the admin typed, and with the etag of the intent as they
opened it: if someone else saved it meanwhile, the save is refused and the page says who.
"""

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from bot.catalog_edits import MAX_COMMENT, EditConflict, FieldProblem, InvalidIntent, validate
from bot.catalog_sync import CatalogRefused
from bot.core.ports import CatalogRevision, RevisionConflict
from bot.core.staff import StaffSession
from bot.web import catalog_history
from bot.web.catalog_history import Retired, find_intent, last_change, retired_intents
from bot.web.console import language, refused, try_question
from bot.web.context import Web
from bot.web.intent_form import FIELDS, form_values, intent_data, problems_by_field, read_values
from intents.drafts import FAQ_FILE, DiffPart, etag
from intents.editing import EditError
from intents.intent_yaml import render_intent

NEW_FILE = "new"  # the file choice "a new file", named in `new_file`
MAX_QUESTION = 2000
# Fields a link may fill in on the new-intent form (the misses inbox), and how much of each.
PREFILLED = ("examples_en", "examples_zh", "answer_en", "answer_zh")
MAX_PREFILL = 4000


@dataclass(slots=True)
class Editor:
    """The editor page as shown: the form as typed, and what checking or saving it said."""

    intent_id: str
    creating: bool
    values: dict[str, str]
    etag: str
    comment: str = ""
    file: str = ""
    new_file: str = ""
    question: str = ""
    test_lang: str = ""
    problems: list[FieldProblem] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    warnings: list[str] | None = None  # None: not checked yet
    parts: list[DiffPart] | None = None
    test: dict[str, Any] | None = None
    conflict: bool = False
    changed_by: CatalogRevision | None = None

    def context(self, files: Mapping[str, str]) -> dict[str, Any]:
        """The template's values."""
        return {
            "editor": self,
            "by_field": problems_by_field(self.problems),
            "faq_files": sorted(path for path in files if FAQ_FILE.match(path)),
        }

    @property
    def path(self) -> str:
        """The file chosen for a new intent, as a path inside the catalog."""
        if self.file and self.file != NEW_FILE:
            return self.file
        name = self.new_file.strip().removeprefix("faq/").removesuffix(".yaml")
        return f"faq/{name}.yaml"


def _text(form: Mapping[str, Any], name: str, limit: int) -> str:
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


def routes(web: Web, router: APIRouter) -> None:
    """The editor's pages, and the history's (`catalog_history`)."""
    _editor_routes(web, router)
    _retire_routes(web, router)
    _retired_routes(web, router)
    catalog_history.routes(web, router)


def _editor_routes(web: Web, router: APIRouter) -> None:
    """Edit an intent, create one."""
    admin = Annotated[StaffSession, Depends(web.staff("admin"))]
    change = Annotated[StaffSession, Depends(web.changes("admin"))]

    @router.get("/catalog/new")
    async def new_intent(request: Request, _: admin) -> Response:
        # The misses inbox starts an intent with the questions as examples and, from a
        # handoff, the consultant's reply as the draft answer: a draft to check, not saved.
        values = dict.fromkeys(FIELDS, "")
        for name in PREFILLED:
            values[name] = request.query_params.get(name, "")[:MAX_PREFILL]
        editor = Editor("", True, values, "absent")
        return _show(web, request, editor)

    @router.get("/intents/{intent_id}/edit")
    async def edit(request: Request, intent_id: str, _: admin) -> Response:
        files = await asyncio.to_thread(_newest_files, web)
        located = find_intent(files, intent_id)
        if located is None:
            message = f"There is no intent {intent_id!r} in the catalog (retired ones are listed "
            return refused(web, request, message + "under Intents → Retired).", 404)
        values = form_values(located.data)
        seen = etag({located.path: files[located.path]}, intent_id)
        editor = Editor(intent_id, False, values, seen, file=located.path)
        return _show(web, request, editor)

    @router.post("/catalog/new")
    async def create(request: Request, session: change) -> Response:
        return await _submit(web, request, session, None)

    @router.post("/intents/{intent_id}/edit")
    async def update(request: Request, intent_id: str, session: change) -> Response:
        return await _submit(web, request, session, intent_id)


def _newest_files(web: Web) -> dict[str, str]:
    """The newest revision's files (what the other replicas saved too)."""
    web.app.catalog.follow()
    return web.app.catalog.files()


def _show(web: Web, request: Request, editor: Editor, status: int = 200) -> Response:
    context = editor.context(web.app.catalog.files())
    return web.page(request, "admin_intent_edit.html", context, status_code=status)


async def _submit(
    web: Web, request: Request, session: StaffSession, editing: str | None
) -> Response:
    """Check, test or save the form: of the intent `editing`, or of a new one (None)."""
    form = await request.form()
    creating = editing is None
    intent_id = _text(form, "id", 64).strip() if editing is None else editing
    editor = Editor(
        intent_id,
        creating,
        read_values(form),
        _text(form, "etag", 40) or ("absent" if creating else ""),
        comment=_text(form, "comment", 4 * MAX_COMMENT),
        file=_text(form, "file", 100),
        new_file=_text(form, "new_file", 100),
        question=_text(form, "question", MAX_QUESTION),
        test_lang=language(_text(form, "test_lang", 8)) or "",
    )
    action = _text(form, "action", 10)
    files = await asyncio.to_thread(_newest_files, web)
    opened = find_intent(files, intent_id)
    if opened is not None and not creating:
        editor.file = opened.path
    data, editor.problems = intent_data(
        intent_id, editor.values, opened.data if opened and not creating else None
    )
    editor.problems += validate(data)
    new_path = _file_problems(editor, files, opened is not None) if creating else None
    now = etag({opened.path: files[opened.path]}, intent_id) if opened else "absent"
    if not creating and now != editor.etag:
        editor.conflict = True
        revisions = web.app.catalog.revisions
        editor.changed_by = await asyncio.to_thread(last_change, revisions, intent_id)
    if editor.problems or (editor.conflict and opened is None and action != "save"):
        # (an intent retired since it was opened has no draft to check: the page says so)
        return _show(web, request, editor, 400 if action == "save" else 200)
    if action == "save" and opened and render_intent(opened.data) == render_intent(data):
        # the files would only be laid out anew: no revision for that
        editor.errors.append("Not saved: nothing changed.")
        return _show(web, request, editor, 400)
    if action == "save":
        return await _save(web, request, session, editor, data=data, new_path=new_path)
    await _check(web, editor, data, new_path, test=action == "test")
    return _show(web, request, editor)


async def _check(
    web: Web, editor: Editor, data: dict[str, Any], new_path: str | None, *, test: bool
) -> None:
    """What the draft does to the catalog, and (with `test`) its answer to the question."""
    try:
        draft = await asyncio.to_thread(web.app.editor.draft, editor.intent_id, data, new_path)
    except InvalidIntent as exc:
        editor.problems = exc.problems
        return
    except EditError as exc:
        editor.errors.append(f"{exc}.")
        return
    editor.refused, editor.warnings, editor.parts = draft.refused, draft.warnings, draft.parts
    if not test:
        return
    if not editor.question.strip():
        editor.errors.append("Type a question to test against this draft.")
    elif draft.knowledge is not None:
        lang = language(editor.test_lang)
        editor.test = await asyncio.to_thread(try_question, draft.knowledge, editor.question, lang)


async def _save(
    web: Web,
    request: Request,
    session: StaffSession,
    editor: Editor,
    *,
    data: dict[str, Any],
    new_path: str | None,
) -> Response:
    """Save the draft as a revision and audit it; or the form again, with why not."""
    app = web.app
    actor = session.user.email
    intent_id = editor.intent_id
    try:
        revision = await asyncio.to_thread(
            app.editor.save,
            intent_id,
            data,
            editor.etag,
            actor,
            comment=editor.comment,
            new_path=new_path,
        )
    except InvalidIntent as exc:
        editor.problems = exc.problems
        return _show(web, request, editor, 400)
    except CatalogRefused as exc:
        editor.refused = exc.problems
        editor.errors.append("Not saved: with this change the catalog does not load.")
        return _show(web, request, editor, 400)
    except EditConflict as exc:
        editor.conflict, editor.changed_by = True, exc.revision
        return _show(web, request, editor, 409)
    except RevisionConflict:
        editor.errors.append("Not saved: others saved at the same moment; save again.")
        return _show(web, request, editor, 409)
    except EditError as exc:
        editor.errors.append(f"Not saved: {exc}.")
        return _show(web, request, editor, 400)
    located = find_intent(app.catalog.files(), intent_id)
    details = {
        "revision": revision.number,
        "file": located.path if located else new_path,
        "comment": revision.comment,
    }
    action = "intent.create" if editor.creating else "intent.edit"
    await asyncio.to_thread(app.storage.staff.audit, actor, action, intent_id, details)
    target = f"/admin/intents/{quote(intent_id)}?saved={revision.number}"
    return RedirectResponse(target, status_code=303)


def _retire_routes(web: Web, router: APIRouter) -> None:
    """Retire an intent: confirm (with what would break), then a revision without it."""
    admin = Annotated[StaffSession, Depends(web.staff("admin"))]
    change = Annotated[StaffSession, Depends(web.changes("admin"))]
    app = web.app

    async def retire_page(
        request: Request, intent_id: str, extra: dict[str, Any], status: int = 200
    ) -> Response:
        files = await asyncio.to_thread(_newest_files, web)
        located = find_intent(files, intent_id)
        if located is None:
            return refused(web, request, f"There is no intent {intent_id!r} in the catalog.", 404)
        draft = await asyncio.to_thread(app.editor.draft, intent_id, None)
        context = {
            "intent_id": intent_id,
            "located": located,
            "etag": etag({located.path: files[located.path]}, intent_id),
            "problems": draft.refused,
            "parts": draft.parts,
            "error": None,
            "comment": "",
            **extra,
        }
        return web.page(request, "admin_intent_retire.html", context, status_code=status)

    @router.get("/intents/{intent_id}/retire")
    async def retire_confirm(request: Request, intent_id: str, _: admin) -> Response:
        return await retire_page(request, intent_id, {})

    @router.post("/intents/{intent_id}/retire")
    async def retire(
        request: Request,
        intent_id: str,
        session: change,
        seen: Annotated[str, Form(alias="etag", max_length=40)] = "",
        comment: Annotated[str, Form(max_length=4 * MAX_COMMENT)] = "",
    ) -> Response:
        actor = session.user.email
        try:
            revision = await asyncio.to_thread(
                app.editor.save, intent_id, None, seen, actor, comment=comment
            )
        except CatalogRefused as exc:
            message = "Not retired: without it the catalog does not load."
            extra = {"error": message, "problems": exc.problems, "comment": comment}
            return await retire_page(request, intent_id, extra, 400)
        except (EditConflict, EditError, RevisionConflict) as exc:
            extra = {"error": f"Not retired: {exc}", "comment": comment}
            return await retire_page(request, intent_id, extra, 409)
        details = {"revision": revision.number, "comment": revision.comment}
        await asyncio.to_thread(app.storage.staff.audit, actor, "intent.retire", intent_id, details)
        target = f"/admin/catalog/retired?retired={quote(intent_id)}"
        return RedirectResponse(target, status_code=303)


def _file_problems(editor: Editor, files: Mapping[str, str], exists: bool) -> str:
    """The path of a new intent's file; problems with it or its id go to `editor.problems`."""
    if exists:
        message = f"there is already an intent {editor.intent_id}; choose another id"
        editor.problems.append(FieldProblem("id", message))
    path = editor.path
    if editor.file and editor.file != NEW_FILE and path not in files:
        editor.problems.append(FieldProblem("file", f"there is no file {path}"))
    elif not FAQ_FILE.match(path):
        message = "a new file's name: lower-case letters, digits, - or _ (e.g. ic_tools)"
        editor.problems.append(FieldProblem("file", message))
    return path


def _retired(web: Web) -> list[Retired]:
    """The retired intents, as this replica's catalog stands."""
    app = web.app
    return retired_intents(app.catalog.revisions, app.knowledge.current.catalog.intents)


def _retired_routes(web: Web, router: APIRouter) -> None:
    """Retired intents, and restoring one."""
    admin = Annotated[StaffSession, Depends(web.staff("admin"))]
    change = Annotated[StaffSession, Depends(web.changes("admin"))]
    app = web.app

    async def retired_page(request: Request, extra: dict[str, Any], status: int = 200) -> Response:
        found = await asyncio.to_thread(_retired, web)
        context = {"retired": found, "error": None, "problems": [], "done": None, **extra}
        return web.page(request, "admin_catalog_retired.html", context, status_code=status)

    @router.get("/catalog/retired")
    async def retired(request: Request, _: admin, retired: str = "") -> Response:
        return await retired_page(request, {"done": retired[:64] or None})

    @router.post("/catalog/retired/{intent_id}/restore")
    async def restore(
        request: Request,
        intent_id: str,
        session: change,
        comment: Annotated[str, Form(max_length=4 * MAX_COMMENT)] = "",
    ) -> Response:
        actor = session.user.email
        found = await asyncio.to_thread(_retired, web)
        last = next((r for r in found if r.intent_id == intent_id), None)
        if last is None:
            message = f"Not restored: {intent_id} is not a retired intent (restored already?)."
            return await retired_page(request, {"error": message}, 400)
        note = comment or f"restored {intent_id} as retired in revision {last.revision.number}"
        try:
            revision = await asyncio.to_thread(
                app.editor.save,
                intent_id,
                last.data,
                "absent",
                actor,
                comment=note,
                new_path=last.path,
            )
        except CatalogRefused as exc:
            message = f"Not restored: with {intent_id} back the catalog does not load."
            return await retired_page(request, {"error": message, "problems": exc.problems}, 400)
        except InvalidIntent as exc:
            message = f"Not restored: {intent_id} no longer validates: {exc}."
            return await retired_page(request, {"error": message}, 400)
        except (EditConflict, EditError, RevisionConflict) as exc:
            return await retired_page(request, {"error": f"Not restored: {exc}"}, 409)
        details = {"revision": revision.number, "file": last.path, "comment": revision.comment}
        audit = app.storage.staff.audit
        await asyncio.to_thread(audit, actor, "intent.restore", intent_id, details)
        target = f"/admin/intents/{quote(intent_id)}?saved={revision.number}"
        return RedirectResponse(target, status_code=303)
