"""Pages for sales staff: the leads table, a lead's page, CSV export and the funnel.

Query strings (shareable):
- `/leads` and `/leads/export.csv`: `status`, `channel`, `interest`, `language`, `from`, `to`
  (created, YYYY-MM-DD, inclusive), `q` (search), `sort` (created|score|status|name|company),
  `order` (desc|asc) and, for the table only, `page` (25 leads a page).
- `/funnel`: `from`, `to` (YYYY-MM-DD, inclusive; default the last 30 days): the conversations
  whose first event falls in the period; `language` (en|zh: of the conversation's first turn
  with a language) and `channel` narrow them.
"""

import asyncio
import io
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bot.adapters import console, slack, telegram
from bot.adapters import web as web_chat
from bot.core.dashboard import (
    PAGE_SIZE,
    SORTS,
    BadQuery,
    Funnel,
    FunnelQuery,
    LeadQuery,
)
from bot.core.messages import LANGUAGES
from bot.core.records import LEAD_STATUSES, ConsentRecord, Lead, LeadEvent, TranscriptEntry
from bot.core.staff import StaffSession
from bot.exports import write_csv
from bot.web.context import Web
from intents.forms import LeadFormSpec

MAX_NOTE = 2000
MAX_ID = 2**31 - 1  # the id column is a 32-bit integer
FUNNEL_DAYS = 30
CHART_WIDTH = 480
# The channels the funnel's filter offers (any other well-formed name may be typed in the URL).
CHANNELS = (telegram.CHANNEL, slack.CHANNEL, web_chat.CHANNEL, console.CHANNEL)


@dataclass(frozen=True, slots=True)
class Labels:
    """How the pages name the lead form's fields and choices (from `forms/lead.yaml`)."""

    fields: dict[str, str]
    choices: dict[str, dict[str, str]]

    @classmethod
    def of(cls, form: LeadFormSpec) -> "Labels":
        """The English labels of `form`."""
        return cls(
            {f.id: f.label.en for f in form.fields},
            {f.id: {o.value: o.title.en for o in f.options} for f in form.fields if f.options},
        )

    def value(self, field_id: str, value: str | None) -> str:
        """An answer as sales reads it: a choice by its title, anything else as typed."""
        if not value:
            return ""
        return self.choices.get(field_id, {}).get(value, value)


@dataclass(frozen=True, slots=True)
class HistoryLine:
    """One entry of a lead's history, as the page shows it."""

    event: LeadEvent
    what: str


def _history(events: list[LeadEvent]) -> list[HistoryLine]:
    """Status events that keep the status are notes; the others say what changed."""
    lines, status = [], "new"
    for event in events:
        if event.kind == "status" and event.status == status:
            what = "note"
        elif event.kind == "status":
            what = f"status {status} → {event.status}"
            status = event.status or status
        else:
            what = event.kind
        lines.append(HistoryLine(event, what))
    return lines


def _lead_id(text: str) -> int | None:
    return int(text) if text.isdigit() and 0 < int(text) <= MAX_ID else None


def _url(path: str, params: Mapping[str, object]) -> str:
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return f"{path}?{query}" if query else path


def routes(web: Web) -> APIRouter:
    """`GET /leads`, `GET /leads/export.csv`, `GET /leads/{id}`, `POST /leads/{id}/status`,
    `POST /leads/{id}/note`, `GET /funnel`."""
    router = APIRouter()
    _table_routes(web, router)
    _lead_routes(web, router)
    _funnel_routes(web, router)
    return router


def _labels(web: Web) -> Labels:
    return Labels.of(web.app.knowledge.current.catalog.lead_form)


def _refused(web: Web, request: Request, message: str, status_code: int = 400) -> HTMLResponse:
    title = "Not found" if status_code == 404 else "That did not work"
    context = {"title": title, "message": message}
    return web.page(request, "error.html", context, status_code=status_code)


def _query(request: Request, names: Labels) -> LeadQuery:
    return LeadQuery.from_params(request.query_params, tuple(names.choices.get("interest", {})))


def _table_routes(web: Web, router: APIRouter) -> None:
    """The leads table and its CSV export."""
    storage = web.app.storage

    @router.get("/leads", include_in_schema=False)
    async def leads_page(
        request: Request, _: Annotated[StaffSession, Depends(web.staff("sales"))]
    ) -> Response:
        names = _labels(web)
        try:
            query = _query(request, names)
        except BadQuery as exc:
            return _refused(web, request, f"Cannot show these leads: {exc}.")
        page, channels = await asyncio.to_thread(
            lambda: (storage.dashboard.leads(query), storage.dashboard.channels())
        )
        params = query.params()
        last = max(1, -(-page.total // PAGE_SIZE))

        def sort_url(column: str) -> str:
            ascending = column in ("name", "company", "status")
            if query.sort == column:
                ascending = query.descending
            order = "asc" if ascending else "desc"
            return _url("/leads", {**params, "sort": column, "order": order})

        def page_url(number: int) -> str | None:
            return _url("/leads", {**params, "page": number}) if 1 <= number <= last else None

        context = {
            "query": query,
            "leads": page.leads,
            "total": page.total,
            "page": query.page,
            "last": last,
            "first_row": query.offset + 1,
            "prev_url": page_url(min(query.page - 1, last)),
            "next_url": page_url(query.page + 1),
            "export_url": _url("/leads/export.csv", params),
            "sort_urls": {column: sort_url(column) for column in SORTS},
            "statuses": LEAD_STATUSES,
            "channels": sorted({*channels, *([query.channel] if query.channel else [])}),
            "interests": names.choices.get("interest", {}),
            "languages": LANGUAGES,
            "labels": names,
        }
        return web.page(request, "leads.html", context)

    @router.get("/leads/export.csv", include_in_schema=False)
    async def export(
        request: Request, session: Annotated[StaffSession, Depends(web.staff("sales"))]
    ) -> Response:
        try:
            query = replace(_query(request, _labels(web)), page=1, limit=None)
        except BadQuery as exc:
            return _refused(web, request, f"Cannot export these leads: {exc}.")

        def write() -> str:
            buffer = io.StringIO(newline="")
            count = write_csv(storage.dashboard.leads(query).leads, buffer)
            details = {"filters": query.params(), "rows": count}
            storage.staff.audit(f"web:{session.user.email}", "leads.export", "leads", details)
            return buffer.getvalue()

        body = await asyncio.to_thread(write)
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        return Response(
            body,
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="leads-{stamp}.csv"',
                "Cache-Control": "no-store",
            },
        )


def _lead_routes(web: Web, router: APIRouter) -> None:
    """A lead's page, and the changes made from it."""
    storage = web.app.storage

    @router.get("/leads/{lead_id}", include_in_schema=False)
    async def lead_page(
        request: Request,
        lead_id: str,
        _: Annotated[StaffSession, Depends(web.staff("sales"))],
    ) -> Response:
        number = _lead_id(lead_id)

        def read() -> (
            tuple[Lead, ConsentRecord | None, list[LeadEvent], list[TranscriptEntry]] | None
        ):
            lead = storage.leads.get(number) if number else None
            if lead is None:
                return None
            return (
                lead,
                storage.leads.consent(lead.consent_id),
                storage.leads.history(lead.id),
                storage.transcripts.conversation(lead.channel, lead.conversation_id),
            )

        found = await asyncio.to_thread(read)
        if found is None:
            return _refused(web, request, f"There is no lead {lead_id}.", 404)
        lead, consent, history, transcript = found
        names = _labels(web)
        known = [(names.fields[f], f, lead.answer(f)) for f in names.fields]
        extra = [(k, k, v) for k, v in lead.answers.items() if k not in names.fields]
        context: dict[str, Any] = {
            "lead": lead,
            "fields": [(label, names.value(f, v), v) for label, f, v in [*known, *extra]],
            "consent": consent,
            "history": _history(history),
            "transcript": transcript,
            "statuses": LEAD_STATUSES,
            "max_note": MAX_NOTE,
        }
        return web.page(request, "lead.html", context)

    async def change(
        request: Request, lead_id: str, session: StaffSession, status: str | None, note: str
    ) -> Response:
        """Change a lead's status (`status` given) or add a note; 303 back to its page."""
        number = _lead_id(lead_id)
        if number is None:
            return _refused(web, request, f"There is no lead {lead_id}.", 404)
        text = note.strip()
        if status is not None and status not in LEAD_STATUSES:
            allowed = ", ".join(LEAD_STATUSES)
            return _refused(web, request, f"{status!r} is not a status: use {allowed}.")
        if status is None and not text:
            return _refused(web, request, "The note is empty: write something to add.")
        if len(text) > MAX_NOTE:
            return _refused(web, request, f"The note is longer than {MAX_NOTE} characters.")
        actor = f"web:{session.user.email}"[:128]

        def apply() -> Lead | None:
            before = storage.leads.get(number)
            if before is None:
                return None
            if status is None:
                lead = storage.dashboard.add_note(number, actor, text)
                storage.staff.audit(actor, "lead.note", f"lead {number}", {})
                return lead
            new = next(s for s in LEAD_STATUSES if s == status)
            lead = storage.leads.set_status(number, new, actor, text or None)
            details = {"from": before.status, "to": new, "note": bool(text)}
            storage.staff.audit(actor, "lead.status", f"lead {number}", details)
            return lead

        try:
            done = await asyncio.to_thread(apply)
        except KeyError:  # deleted meanwhile
            done = None
        if done is None:
            return _refused(web, request, f"There is no lead {lead_id}.", 404)
        return RedirectResponse(f"/leads/{number}", status_code=303)

    @router.post("/leads/{lead_id}/status", include_in_schema=False)
    async def set_status(
        request: Request,
        lead_id: str,
        session: Annotated[StaffSession, Depends(web.changes("sales"))],
        status: Annotated[str, Form()] = "",
        note: Annotated[str, Form()] = "",
    ) -> Response:
        return await change(request, lead_id, session, status, note)

    @router.post("/leads/{lead_id}/note", include_in_schema=False)
    async def add_note(
        request: Request,
        lead_id: str,
        session: Annotated[StaffSession, Depends(web.changes("sales"))],
        note: Annotated[str, Form()] = "",
    ) -> Response:
        return await change(request, lead_id, session, None, note)


def _funnel_routes(web: Web, router: APIRouter) -> None:
    """The funnel of the conversations that started in a period."""

    @router.get("/funnel", include_in_schema=False)
    async def funnel_page(
        request: Request, _: Annotated[StaffSession, Depends(web.staff("sales"))]
    ) -> Response:
        today = datetime.now(UTC).date()
        try:
            query = FunnelQuery.from_params(request.query_params, today, FUNNEL_DAYS)
        except BadQuery as exc:
            return _refused(web, request, f"Cannot show this funnel: {exc}.")
        funnel = await asyncio.to_thread(web.app.storage.dashboard.funnel, query)
        intents = web.app.knowledge.current.catalog.intents
        titles = {i: intents[i].title.en for i, _ in funnel.top_questions if i in intents}
        context = {
            "query": query,
            "period": query.period,
            "funnel": funnel,
            "bars": _bars(funnel),
            "figures": _figures(funnel),
            "titles": titles,
            "chart_width": CHART_WIDTH,
            "languages": LANGUAGES,
            "channels": sorted({*CHANNELS, *([query.channel] if query.channel else [])}),
        }
        return web.page(request, "funnel.html", context)


@dataclass(frozen=True, slots=True)
class Bar:
    """One step of the funnel's chart: its count, its share of the step before and of the
    conversations, its bar."""

    label: str
    count: int
    conversion: str  # "42.0 %" of the step before; "" for the first, "–" after a zero
    of_all: str  # "42.0 %" of the conversations; "–" when there are none
    width: int  # pixels, relative to the first step
    y: int


def _percent(part: int | float, whole: int | float) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "–"


def _bars(funnel: Funnel) -> list[Bar]:
    steps = funnel.steps()
    largest = max(count for _, count in steps) or 1
    bars, before = [], None
    for index, (label, count) in enumerate(steps):
        conversion = "" if before is None else _percent(count, before)
        width = round(CHART_WIDTH * count / largest)
        of_all = _percent(count, funnel.conversations)
        bars.append(Bar(label, count, conversion, of_all, width, index * 36))
        before = count
    return bars


@dataclass(frozen=True, slots=True)
class Figure:
    """One number of the funnel's tables: what it counts, the count, its share and of what."""

    id: str
    label: str
    count: str
    share: str = ""
    of: str = ""


def _duration(seconds: float | None) -> str:
    """A median time as people read it: `45 s`, `12 min`, `3.5 h`; `–` without any."""
    if seconds is None:
        return "–"
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _figures(funnel: Funnel) -> dict[str, list[Figure]]:
    """The funnel's numbers by table: conversations, turns, feedback, handoffs."""
    n, turns, handoffs = funnel.conversations, funnel.question_turns, funnel.handoffs

    def part(id_: str, label: str, count: int, whole: int, of: str) -> Figure:
        return Figure(id_, label, str(count), _percent(count, whole), of)

    return {
        "conversations": [
            Figure("conversations", "Conversations", str(n)),
            part("contained", "Contained", funnel.contained, n, "of conversations"),
            part("handed-off", "Asked for a person", funnel.handed_off, n, "of conversations"),
            part("leads", "Became a lead", funnel.leads, n, "of conversations"),
        ],
        "turns": [
            Figure("questions", "Question turns", str(turns)),
            part("answered", "Answered", funnel.answered, turns, "of question turns"),
            part("clarified", "Clarified", funnel.clarified, turns, "of question turns"),
            part("fallback", "Fallback", funnel.fallback, turns, "of question turns"),
        ],
        "feedback": [
            Figure("offered", "Answers offering 👍/👎", str(funnel.offered)),
            part("rated", "Rated", funnel.rated, funnel.offered, "of those offered"),
            part("up", "👍 helpful", funnel.up, funnel.rated, "of those rated"),
            part("down", "👎 not helpful", funnel.down, funnel.rated, "of those rated"),
        ],
        "handoffs": [
            part("requested", "Handoffs requested", handoffs.requested, n, "of conversations"),
            part("claimed", "Claimed", handoffs.claimed, handoffs.requested, "of those requested"),
            Figure("to-claim", "Median time to claim", _duration(handoffs.median_to_claim)),
            Figure(
                "to-reply",
                "Median time to first human reply",
                _duration(handoffs.median_to_first_reply),
            ),
            part(
                "with-lead",
                "Ended in a lead",
                handoffs.with_lead,
                handoffs.requested,
                "of those requested",
            ),
        ],
    }
