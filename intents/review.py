"""Answers that know their age: which intents must be checked again, and the caveat an answer
carries once its `valid_until` date has passed.

Pure functions of a catalog and a day: the caller says what "today" is (`today()` gives the
day in Shanghai, where the figures in the answers apply), so tests and replicas agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from intents.catalog import Catalog, Intent, ReviewSettings
from intents.sourcefile import SourceFile, read_source
from intents.text import Lang

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

Status = Literal["expired", "overdue", "due_soon", "current"]
# Most urgent first: a wrong answer the bot gives now, a check missed, a check coming.
URGENCY: dict[Status, int] = {"expired": 0, "overdue": 1, "due_soon": 2, "current": 3}
LABELS: dict[Status, str] = {
    "expired": "expired",
    "overdue": "overdue",
    "due_soon": "due soon",
    "current": "current",
}


@dataclass(frozen=True, slots=True)
class ReviewState:
    """How one intent's answer stands on `today`, with the dates that decide it."""

    intent_id: str
    status: Status
    reviewed: date | None  # when someone last checked the answer (None: never)
    review_due: date | None  # `reviewed` + its review period (None: never reviewed)
    valid_until: date | None  # the answer holds until then (None: no end set)
    every_days: int  # the intent's `review_every`, or the catalog's default

    @property
    def label(self) -> str:
        """The status in words ("due soon")."""
        return LABELS[self.status]

    @property
    def deadline(self) -> date | None:
        """The date that makes the status: the end of validity once expired (or when it comes
        before the check), else the check's due date."""
        if self.status == "expired":
            return self.valid_until
        dates = [d for d in (self.review_due, self.valid_until) if d is not None]
        return min(dates) if dates else None

    @property
    def ends(self) -> bool:
        """Whether the end of validity (not the next check) makes the status."""
        return self.valid_until is not None and self.deadline == self.valid_until

    @property
    def field(self) -> str:
        """The field an admin changes to settle it: `valid_until` or `reviewed`."""
        return "valid_until" if self.ends else "reviewed"


def today(now: datetime | None = None) -> date:
    """The day in Shanghai at `now` (default: this moment)."""
    return (now or datetime.now(UTC)).astimezone(SHANGHAI).date()


def is_expired(intent: Intent, on: date) -> bool:
    """Whether the answer is past its `valid_until` on `on` (the day itself still holds)."""
    return intent.valid_until is not None and on > intent.valid_until


def state_of(intent: Intent, settings: ReviewSettings, on: date) -> ReviewState:
    """Where `intent` stands on `on`: expired, overdue, due soon or current."""
    every = intent.review_every or settings.every_days
    due = intent.reviewed + timedelta(days=every) if intent.reviewed else None
    horizon = on + timedelta(days=settings.soon_days)
    status: Status
    if is_expired(intent, on):
        status = "expired"
    elif due is None or due < on:
        status = "overdue"
    elif due <= horizon or (intent.valid_until is not None and intent.valid_until <= horizon):
        status = "due_soon"
    else:
        status = "current"
    return ReviewState(intent.id, status, intent.reviewed, due, intent.valid_until, every)


def review_states(catalog: Catalog, on: date, *, everything: bool = False) -> list[ReviewState]:
    """The intents that need a look on `on`, most urgent first (with `everything`, the
    current ones too, last)."""
    settings = catalog.settings.review
    states = (state_of(intent, settings, on) for intent in catalog.intents.values())
    wanted = [s for s in states if everything or s.status != "current"]
    return sorted(wanted, key=_urgency)


def _urgency(state: ReviewState) -> tuple[int, date, str]:
    # Within a status the oldest date first; a never-reviewed answer before any dated one.
    return URGENCY[state.status], state.deadline or date.min, state.intent_id


def locations(catalog: Catalog, states: Iterable[ReviewState]) -> dict[str, tuple[Path, int]]:
    """For each state, its file and the line of the field to change (the intent's own line
    when the field is not there yet); each file is read once, however many states it has."""
    sources: dict[Path, SourceFile] = {}
    found: dict[str, tuple[Path, int]] = {}
    for state in states:
        path, index = catalog.origin[state.intent_id]
        if path not in sources:
            sources[path] = read_source(path)
        found[state.intent_id] = (path, sources[path].line_of(("intents", index, state.field)))
    return found


def counts(states: Iterable[ReviewState]) -> dict[Status, int]:
    """How many states of each status (every status present, zero or not)."""
    tally: dict[Status, int] = dict.fromkeys(URGENCY, 0)
    for state in states:
        tally[state.status] += 1
    return tally


def format_date(day: date, lang: Lang) -> str:
    """`day` as people write it: "6 Dec 2026", "2026年12月6日"."""
    if lang == "zh":
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def caveat(catalog: Catalog, intent: Intent, lang: Lang, on: date) -> str | None:
    """The dated caveat `intent`'s answer carries on `on`, or None while it still holds.

    The date is the last check (`reviewed`) when there was one, else `valid_until`: what the
    prospect learns is how old the information is.
    """
    if not is_expired(intent, on) or intent.valid_until is None:
        return None
    as_of = intent.reviewed or intent.valid_until
    return catalog.replies.dated_caveat.get(lang).format(date=format_date(as_of, lang))


def dated_answer(catalog: Catalog, intent: Intent, lang: Lang, on: date) -> str:
    """The intent's answer in `lang`, with the dated caveat after a blank line once expired."""
    text = intent.answer.get(lang)
    note = caveat(catalog, intent, lang, on)
    return f"{text}\n\n{note}" if note else text
