"""The review page for admins: answers past their `valid_until`, overdue for a check or due
soon, most urgent first, each linked to its intent."""

import asyncio
from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from bot.core.staff import StaffSession
from bot.web.context import Web
from intents.catalog import Catalog, Intent
from intents.review import ReviewState, counts, locations, review_states, today


@dataclass(frozen=True, slots=True)
class ReviewRow:
    """One line of the table: the state and what an admin needs to find the intent."""

    state: ReviewState
    intent: Intent
    location: str


def review_rows(catalog: Catalog, on: date) -> list[ReviewRow]:
    """The intents that need a look on `on`, most urgent first, with the `file:line` of the
    date to change."""
    states = review_states(catalog, on)
    where = locations(catalog, states)
    rows = []
    for state in states:
        path, line = where[state.intent_id]
        name = (
            path.relative_to(catalog.directory) if path.is_relative_to(catalog.directory) else path
        )
        rows.append(ReviewRow(state, catalog.intent(state.intent_id), f"{name}:{line}"))
    return rows


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def routes(web: Web) -> APIRouter:
    """`/admin/review`."""
    router = APIRouter(prefix="/admin", include_in_schema=False)
    admin = Annotated[StaffSession, Depends(web.staff("admin"))]
    app = web.app

    @router.get("/review")
    async def review(request: Request, _: admin, on: str = "") -> Response:
        """What is due on `on` (YYYY-MM-DD; default: today in Shanghai)."""
        catalog = app.knowledge.current.catalog
        day = _day(on[:10]) if on else None
        shown = day or today()
        rows = await asyncio.to_thread(review_rows, catalog, shown)
        context = {
            "rows": rows,
            "counts": counts(row.state for row in rows),
            "on": shown,
            "today": day is None,
            "bad_day": bool(on) and day is None,
            "settings": catalog.settings.review,
            "total": len(catalog.intents),
        }
        return web.page(request, "admin_review.html", context)

    return router
