"""Pages for admins: the intent catalog, unanswered questions, users and the audit log.

Every page takes `web.staff("admin")`; every change takes `web.changes("admin")` and is
audited. Changes answer with a redirect (post/redirect/get) or, when refused, with the same
page, a 400 status and the reason.
"""

import asyncio
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from bot.app import App
from bot.catalog_sync import CatalogRefused
from bot.core.messages import Language
from bot.core.questions import REASONS, CharacterGrams, InboxPage, QuestionGroup
from bot.core.staff import StaffSession
from bot.web import catalog_files, catalog_pages
from bot.web.console import language as _language
from bot.web.console import refused, try_question
from bot.web.context import Web
from intents.catalog import Catalog, Intent
from intents.editing import EditError, clean_example
from intents.matcher import Candidate
from intents.semantic import Encoder
from intents.text import guess_language, normalize

NEAREST = 3  # intents offered for each group of questions
INBOX_PAGE = 20  # groups on a page of the misses inbox (the most asked first)
# Misses filed into groups while the inbox page loads (the rest wait for the next load or a
# background step): a bounded share of the page's second.
GROUPING_LIMIT = 500
GROUPING_BUDGET = 0.3
BACKGROUND_BUDGET = 2.0  # seconds of one background filing step
MAX_LINK_TEXT = 1000  # characters of wordings put in a new-intent link
AUDIT_PAGE = 50


@dataclass(frozen=True, slots=True)
class IntentRow:
    """One line of the catalog table."""

    intent: Intent
    file: str
    examples_en: int
    examples_zh: int


@dataclass(frozen=True, slots=True)
class GroupView:
    """A group of misses with the intents it might belong to, and links that start a new
    intent from it."""

    group: QuestionGroup
    lang: Language
    nearest: tuple[Candidate, ...]
    new_intent: str
    new_intent_with_reply: str | None = None


def _file_of(catalog: Catalog, intent_id: str) -> str:
    path = catalog.origin[intent_id][0]
    return (
        str(path.relative_to(catalog.directory))
        if path.is_relative_to(catalog.directory)
        else str(path)
    )


def intent_rows(catalog: Catalog, search: str) -> list[IntentRow]:
    """The catalog's intents, those whose id, title, tags, file or examples hold `search`."""
    wanted = normalize(search)
    rows = []
    for intent in catalog.intents.values():
        file = _file_of(catalog, intent.id)
        if wanted:
            words = [intent.id, file, intent.title.en, intent.title.zh, *intent.tags]
            words.extend(text for _, text in intent.examples.items())
            if not any(wanted in normalize(word) for word in words):
                continue
        rows.append(IntentRow(intent, file, len(intent.examples.en), len(intent.examples.zh)))
    return rows


def routes(web: Web) -> APIRouter:
    """The admin console under `/admin`."""
    router = APIRouter(prefix="/admin", include_in_schema=False)
    admin = Annotated[StaffSession, Depends(web.staff("admin"))]

    @router.get("")
    async def home(_: admin) -> Response:
        return RedirectResponse("/admin/intents", status_code=303)

    catalog_pages.routes(web, router)  # before `/intents/{intent_id}` matches any path
    catalog_files.routes(web, router)
    _intent_routes(web, router)
    _question_routes(web, router)
    _user_routes(web, router)
    return router


def _intent_routes(web: Web, router: APIRouter) -> None:
    """Browse the catalog, test a question, reload from disk."""
    admin = Annotated[StaffSession, Depends(web.staff("admin"))]
    change = Annotated[StaffSession, Depends(web.changes("admin"))]
    app = web.app

    def intents_page(
        request: Request, extra: dict[str, Any], search: str = "", status: int = 200
    ) -> Response:
        catalog = app.knowledge.current.catalog
        context = {
            "catalog": catalog,
            "rows": intent_rows(catalog, search),
            "search": search,
            "test": None,
            "problems": [],
            **extra,
        }
        return web.page(request, "admin_intents.html", context, status_code=status)

    @router.get("/intents")
    async def intents(
        request: Request, _: admin, q: str = "", reloaded: str | None = None
    ) -> Response:
        return intents_page(request, {"reloaded": reloaded is not None}, q[:200])

    @router.get("/intents/test")
    async def try_page(request: Request, _: admin, q: str = "", lang: str = "") -> Response:
        question = q[:2000]
        result = None
        if question.strip():
            knowledge = app.knowledge.current
            result = await asyncio.to_thread(try_question, knowledge, question, _language(lang))
        return intents_page(request, {"test": result, "test_lang": _language(lang) or ""})

    @router.post("/intents/reload")
    async def reload(request: Request, session: change) -> Response:
        """The server's intents folder as a new revision (for a team that edits the files)."""
        actor = session.user.email
        folder = app.settings.intents_dir
        try:
            made = await asyncio.to_thread(app.editor.import_folder, folder, actor)
        except CatalogRefused as exc:
            details = {"problems": exc.problems[:20]}
            failed = "intents.reload_failed"
            await asyncio.to_thread(app.storage.staff.audit, actor, failed, "catalog", details)
            return intents_page(request, {"problems": exc.problems}, status=400)
        catalog = app.knowledge.current.catalog
        done = {
            "intents": len(catalog.intents),
            "fingerprint": catalog.fingerprint,
            "version": made.number if made else app.catalog.version,
        }
        await asyncio.to_thread(app.storage.staff.audit, actor, "intents.reload", "catalog", done)
        return RedirectResponse("/admin/intents?reloaded=1", status_code=303)

    @router.get("/intents/{intent_id}")
    async def intent_page(
        request: Request, intent_id: str, _: admin, saved: int | None = None
    ) -> Response:
        catalog = app.knowledge.current.catalog
        if intent_id not in catalog.intents:
            return refused(web, request, f"There is no intent {intent_id!r} in the catalog.", 404)
        location = await asyncio.to_thread(catalog.locate, intent_id)
        intent = catalog.intent(intent_id)
        sources = [(s, s.startswith(("https://", "http://"))) for s in intent.sources]
        context = {
            "intent": intent,
            "location": location,
            "sources": sources,
            "saved": saved,
            "version": app.catalog.version,
        }
        return web.page(request, "admin_intent.html", context)


def _question_routes(web: Web, router: APIRouter) -> None:
    """The misses inbox: add a group's question as an example of an intent, start a new
    intent from it, or dismiss it."""
    admin = Annotated[StaffSession, Depends(web.staff("admin"))]
    change = Annotated[StaffSession, Depends(web.changes("admin"))]
    app = web.app
    unanswered = app.storage.unanswered

    async def questions_page(
        request: Request,
        extra: dict[str, Any],
        status: int = 200,
        reason: str | None = None,
        page: int = 0,
    ) -> Response:
        found, views, every = await asyncio.to_thread(_inbox, app, reason, page)
        pages = max(1, -(-found.total // INBOX_PAGE))
        context = {
            "groups": views,
            "total": found.total,
            "pending": found.pending,
            "page": page,
            "pages": pages,
            "reason": reason or "",
            "reasons": REASONS,
            "intents": every,
            "error": None,
            **extra,
        }
        return web.page(request, "admin_questions.html", context, status_code=status)

    @router.get("/questions")
    async def questions(
        request: Request,
        _: admin,
        *,
        reason: str = "",
        page: int = 0,
        added: str | None = None,
        at: str | None = None,
        dismissed: int | None = None,
    ) -> Response:
        notice = {"added": added, "at": at, "dismissed": dismissed}
        wanted = reason if reason in REASONS else None
        return await questions_page(request, notice, reason=wanted, page=max(0, min(page, 10_000)))

    def question_ids(values: list[str] | None) -> list[int] | None:
        try:
            ids = sorted({int(value) for value in values or []})
        except ValueError:
            return None
        if any(not 0 < i < 2**63 for i in ids):  # no row has such an id
            return None
        return ids or None

    async def chosen_ids(
        ids: list[str] | None, group: str | None, upto: str | None
    ) -> list[int] | None:
        """The ids posted, and a group's open misses up to the newest the admin saw."""
        chosen = question_ids(ids) or []
        if group and upto:
            try:
                group_id, newest = int(group), int(upto)
            except ValueError:
                return None
            if not (0 < group_id < 2**63 and 0 < newest < 2**63):
                return None
            more = await asyncio.to_thread(
                unanswered.open_in_group, group_id, _encoder(app).name, newest
            )
            chosen = sorted({*chosen, *more})
        return chosen or None

    @router.post("/questions/add-example")
    async def add_to_intent(
        request: Request,
        session: change,
        *,
        text: Annotated[str, Form(max_length=4000)] = "",
        lang: Annotated[str, Form(max_length=8)] = "",
        intent: Annotated[str, Form(max_length=64)] = "",
        ids: Annotated[list[str] | None, Form()] = None,
        group: Annotated[str | None, Form(max_length=20)] = None,
        upto: Annotated[str | None, Form(max_length=20)] = None,
    ) -> Response:
        language = _language(lang)
        chosen = await chosen_ids(ids, group, upto)
        if language is None or chosen is None or not text.strip() or not intent:
            message = "Choose an intent and a language, and give the question's text and ids."
            return await questions_page(request, {"error": message}, 400)
        still_open = await asyncio.to_thread(unanswered.open_among, chosen)
        if not still_open:
            message = "These questions were handled already (by you or another admin)."
            return await questions_page(request, {"error": message}, 400)
        try:
            revision, where = await asyncio.to_thread(
                app.editor.add_example, intent, language, text, session.user.email
            )
        except EditError as exc:
            return await questions_page(request, {"error": f"Not added: {exc}."}, 400)
        except CatalogRefused as exc:
            message = "Not added: with it the catalog does not load; nothing was changed."
            return await questions_page(request, {"error": message, "problems": exc.problems}, 400)
        details = {
            "text": clean_example(text),
            "lang": language,
            "file": where,
            "revision": revision.number,
        }
        await asyncio.to_thread(
            unanswered.add_to_intent,
            [q.id for q in still_open],
            intent,
            session.user.email,
            details,
        )
        target = "/admin/questions?" + urlencode({"added": intent, "at": where})
        return RedirectResponse(target, status_code=303)

    @router.post("/questions/dismiss")
    async def dismiss(
        request: Request,
        session: change,
        ids: Annotated[list[str] | None, Form()] = None,
        group: Annotated[str | None, Form(max_length=20)] = None,
        upto: Annotated[str | None, Form(max_length=20)] = None,
    ) -> Response:
        chosen = await chosen_ids(ids, group, upto)
        if chosen is None:
            return await questions_page(request, {"error": "No questions were chosen."}, 400)
        count = await asyncio.to_thread(unanswered.dismiss, chosen, session.user.email)
        return RedirectResponse(f"/admin/questions?dismissed={count}", status_code=303)


def _encoder(app: App) -> Encoder:
    """How misses are grouped: by the matcher's sentence encoder (meaning, across languages)
    or, without one, by character n-grams (alike wordings)."""
    # `KnowledgeBase.encoder` is read if the catalog side offers it.
    model: Encoder | None = getattr(app.knowledge, "encoder", None)
    return model or CharacterGrams()


def file_misses(app: App, budget: float = BACKGROUND_BUDGET) -> int:
    """File waiting misses into groups for `budget` seconds at most (a background step, so
    that a flood is grouped before an admin opens the inbox); how many were filed."""
    return app.storage.unanswered.group_pending(_encoder(app), budget=budget)


def _inbox(app: App, reason: str | None, page: int) -> tuple[InboxPage, list[GroupView], list[str]]:
    """File a bounded share of the waiting misses, then read one page of groups with the
    intents nearest to each; every intent's id."""
    unanswered = app.storage.unanswered
    embedder = _encoder(app)
    unanswered.group_pending(embedder, limit=GROUPING_LIMIT, budget=GROUPING_BUDGET)
    found = unanswered.inbox(
        embedder.name, reason=reason, offset=page * INBOX_PAGE, limit=INBOX_PAGE
    )
    knowledge = app.knowledge.current
    ranked = knowledge.matcher.rank_many([group.text for group in found.groups])
    views = [
        GroupView(
            group,
            _language(guess_language(group.text) or group.language) or "en",
            tuple(nearest[:NEAREST]),
            new_intent_link(group, with_reply=False),
            new_intent_link(group, with_reply=True) if group.reply else None,
        )
        for group, nearest in zip(found.groups, ranked, strict=True)
    ]
    return found, views, sorted(knowledge.catalog.intents)


def new_intent_link(group: QuestionGroup, *, with_reply: bool) -> str:
    """The console's new-intent form, its examples filled with the group's wordings (by
    language) and, `with_reply`, its answer with the consultant's reply."""
    fields: dict[str, list[str]] = {"en": [], "zh": []}
    size = 0
    for sample in group.samples:
        if size + len(sample) > MAX_LINK_TEXT and size:
            break
        lang = guess_language(sample) or ("zh" if group.language == "zh" else "en")
        fields[lang].append(sample)
        size += len(sample)
    query = {f"examples_{lang}": "\n".join(texts) for lang, texts in fields.items() if texts}
    if with_reply and group.reply:
        lang = guess_language(group.reply) or ("zh" if group.language == "zh" else "en")
        query[f"answer_{lang}"] = group.reply
    return "/admin/catalog/new?" + urlencode(query)


def _user_routes(web: Web, router: APIRouter) -> None:
    """Users (disable, enable) and the audit log."""
    admin = Annotated[StaffSession, Depends(web.staff("admin"))]
    change = Annotated[StaffSession, Depends(web.changes("admin"))]
    staff = web.app.storage.staff

    async def users_page(request: Request, error: str | None = None, status: int = 200) -> Response:
        users = await asyncio.to_thread(staff.users)
        return web.page(
            request, "admin_users.html", {"users": users, "error": error}, status_code=status
        )

    @router.get("/users")
    async def users(request: Request, _: admin) -> Response:
        return await users_page(request)

    async def set_disabled(
        request: Request, session: StaffSession, user_id: int, disabled: bool
    ) -> Response:
        if disabled and user_id == session.user.id:
            message = "You cannot disable your own account; ask another admin to do it."
            return await users_page(request, message, 400)
        try:
            await asyncio.to_thread(staff.set_disabled, user_id, disabled, session.user.email)
        except KeyError:
            return refused(web, request, f"There is no user {user_id}.", 404)
        return RedirectResponse("/admin/users", status_code=303)

    @router.post("/users/{user_id}/disable")
    async def disable(request: Request, user_id: int, session: change) -> Response:
        return await set_disabled(request, session, user_id, True)

    @router.post("/users/{user_id}/enable")
    async def enable(request: Request, user_id: int, session: change) -> Response:
        return await set_disabled(request, session, user_id, False)

    @router.get("/audit")
    async def audit(request: Request, _: admin, page: int = 1) -> Response:
        page = max(page, 1)
        offset = (page - 1) * AUDIT_PAGE
        entries = await asyncio.to_thread(staff.audit_log, AUDIT_PAGE + 1, offset)
        context = {
            "entries": entries[:AUDIT_PAGE],
            "page": page,
            "more": len(entries) > AUDIT_PAGE,
        }
        return web.page(request, "admin_audit.html", context)
