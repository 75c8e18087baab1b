"""What the sales pages ask of the database and get back: a query over the leads table (filters,
sort, one page) and the funnel of a period.

`LeadQuery.from_params` turns a query string into a query, or says in words what is wrong with
it, so a shared URL reproduces the same table and a bad one gets a clear message.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, TypeVar

from bot.core.messages import LANGUAGES
from bot.core.records import LEAD_STATUSES, Lead, LeadStatus

LeadSort = Literal["created", "score", "status", "name", "company"]
SORTS: tuple[LeadSort, ...] = ("created", "score", "status", "name", "company")
ORDERS = ("desc", "asc")
PAGE_SIZE = 25
MAX_SEARCH = 200
MAX_PAGE = 1_000_000
CHANNEL = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# The query-string names of the filters, in the order they appear in a URL.
FILTER_PARAMS = ("status", "channel", "interest", "language", "from", "to", "q", "sort", "order")


class BadQuery(ValueError):
    """A query string the leads table or the funnel cannot use; the message says why."""


def parse_day(value: str, name: str) -> date:
    """A `YYYY-MM-DD` date, or `BadQuery` naming the parameter."""
    problem = BadQuery(f"{name}: {value!r} is not a date of the form YYYY-MM-DD")
    if not ISO_DATE.match(value):
        raise problem
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise problem from None


def day_start(day: date) -> datetime:
    """Midnight UTC at the start of `day`."""
    return datetime.combine(day, time.min, tzinfo=UTC)


T = TypeVar("T", bound=str)


def _choice(value: str, allowed: Collection[T], name: str) -> T:
    for item in allowed:
        if item == value:
            return item
    raise BadQuery(f"{name}: {value!r} is not one of {', '.join(allowed)}")


@dataclass(frozen=True, slots=True)
class LeadQuery:
    """Which leads to show, in which order, and which page of them (`limit` None: all)."""

    status: LeadStatus | None = None
    channel: str | None = None
    interest: str | None = None
    language: str | None = None
    created_from: date | None = None
    created_to: date | None = None  # inclusive
    search: str | None = None
    sort: LeadSort = "created"
    descending: bool = True
    page: int = 1
    limit: int | None = PAGE_SIZE

    @property
    def offset(self) -> int:
        """How many leads come before this page."""
        return (self.page - 1) * (self.limit or 0)

    @classmethod
    def from_params(cls, params: Mapping[str, str], interests: Collection[str]) -> LeadQuery:
        """The query a query string asks for; `BadQuery` names the first bad parameter.

        `interests` are the interest values the lead form offers.
        """

        def given(name: str) -> str | None:
            value = params.get(name, "").strip()
            return value or None

        status = given("status")
        channel = given("channel")
        if channel is not None and not CHANNEL.match(channel):
            raise BadQuery(f"channel: {channel!r} is not a channel name")
        interest = given("interest")
        language = given("language")
        start = given("from")
        end = given("to")
        created_from = parse_day(start, "from") if start else None
        created_to = parse_day(end, "to") if end else None
        if created_from and created_to and created_from > created_to:
            raise BadQuery("from: the start date is after the end date")
        search = given("q")
        if search is not None and len(search) > MAX_SEARCH:
            raise BadQuery(f"q: the search text is longer than {MAX_SEARCH} characters")
        page_text = given("page") or "1"
        if not page_text.isdigit() or not 1 <= int(page_text) <= MAX_PAGE:
            raise BadQuery(f"page: {page_text!r} is not a page number")
        return cls(
            status=_choice(status, LEAD_STATUSES, "status") if status else None,
            channel=channel,
            interest=_choice(interest, tuple(interests), "interest") if interest else None,
            language=_choice(language, LANGUAGES, "language") if language else None,
            created_from=created_from,
            created_to=created_to,
            search=search,
            sort=_choice(given("sort") or "created", SORTS, "sort"),
            descending=_choice(given("order") or "desc", ORDERS, "order") == "desc",
            page=int(page_text),
        )

    def params(self) -> dict[str, str]:
        """The query string's filters and sort (not the page) that ask for this query."""
        values = {
            "status": self.status,
            "channel": self.channel,
            "interest": self.interest,
            "language": self.language,
            "from": self.created_from.isoformat() if self.created_from else None,
            "to": self.created_to.isoformat() if self.created_to else None,
            "q": self.search,
            "sort": None if self.sort == "created" else self.sort,
            "order": None if self.descending else "asc",
        }
        return {name: value for name, value in values.items() if value}


@dataclass(frozen=True, slots=True)
class LeadPage:
    """One page of the leads table, and how many leads match in all."""

    leads: list[Lead]
    total: int


@dataclass(frozen=True, slots=True)
class Period:
    """Whole days, `start` to `end` inclusive, in UTC."""

    start: date
    end: date

    @property
    def since(self) -> datetime:
        """The first moment of the period."""
        return day_start(self.start)

    @property
    def until(self) -> datetime:
        """The first moment after the period."""
        return day_start(self.end + timedelta(days=1))

    @classmethod
    def last_days(cls, days: int, today: date) -> Period:
        """The `days` days that end today."""
        return cls(today - timedelta(days=days - 1), today)

    @classmethod
    def from_params(cls, params: Mapping[str, str], today: date, days: int) -> Period:
        """The period `from`..`to` of a query string; without `to` it ends today, without
        `from` it is `days` long. `BadQuery` says what is wrong."""
        start_text = params.get("from", "").strip()
        end_text = params.get("to", "").strip()
        end = parse_day(end_text, "to") if end_text else today
        start = parse_day(start_text, "from") if start_text else cls.last_days(days, end).start
        if start > end:
            raise BadQuery("from: the start date is after the end date")
        return cls(start, end)


@dataclass(frozen=True, slots=True)
class FunnelQuery:
    """Which conversations the funnel counts: those whose first event falls in `period`,
    optionally only one language (that of the conversation's first turn with a language)
    and one channel."""

    period: Period
    language: str | None = None
    channel: str | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, str], today: date, days: int) -> FunnelQuery:
        """The query of a query string (`from`, `to`, `language`, `channel`); `BadQuery`
        names the first bad parameter."""
        period = Period.from_params(params, today, days)
        language = params.get("language", "").strip() or None
        channel = params.get("channel", "").strip() or None
        if channel is not None and not CHANNEL.match(channel):
            raise BadQuery(f"channel: {channel!r} is not a channel name")
        return cls(
            period,
            language=_choice(language, LANGUAGES, "language") if language else None,
            channel=channel,
        )

    def params(self) -> dict[str, str]:
        """The query string that asks for this query."""
        values = {
            "from": self.period.start.isoformat(),
            "to": self.period.end.isoformat(),
            "language": self.language,
            "channel": self.channel,
        }
        return {name: value for name, value in values.items() if value}


def share(part: int, whole: int) -> float | None:
    """`part` of `whole` as a fraction, or None when there is no whole to share."""
    return part / whole if whole else None


@dataclass(frozen=True, slots=True)
class HandoffFigures:
    """The handoffs of a cohort's conversations.

    requested: conversations that asked for a person; claimed: of those, the ones a
    consultant took; with_lead: of those that asked, the ones with a lead made at or after
    the first request. The medians are over the cohort's handoffs that were claimed
    (answered), in seconds, None when there is none.
    """

    requested: int = 0
    claimed: int = 0
    with_lead: int = 0
    median_to_claim: float | None = None
    median_to_first_reply: float | None = None


@dataclass(frozen=True, slots=True)
class Funnel:
    """What happened to the conversations that started in a period (the cohort), counted from
    the one event log. Every conversation count is of the cohort's conversations, so no
    share of `conversations` can be above 100 %.

    Turns: `answered`, `clarified` and `fallback` are the cohort's question turns by outcome
    (`question_turns` is their sum). Conversations: `contained` had no handoff and their last
    question turn was not a fallback; `handed_off` asked for a person; `form_started` reached
    the lead form; `leads` made a lead (always within `form_started`); `qualified` of those,
    the ones whose lead reached qualified or won. Feedback: `offered` answers carried
    👍/👎, `rated` of them were pressed, `up` and `down` split `rated` by the latest press.
    """

    conversations: int = 0
    answered: int = 0
    clarified: int = 0
    fallback: int = 0
    contained: int = 0
    handed_off: int = 0
    form_started: int = 0
    leads: int = 0
    qualified: int = 0
    offered: int = 0
    rated: int = 0
    up: int = 0
    down: int = 0
    handoffs: HandoffFigures = field(default_factory=HandoffFigures)
    top_questions: list[tuple[str, int]] = field(default_factory=list)
    top_unanswered: list[tuple[str, int]] = field(default_factory=list)

    @property
    def question_turns(self) -> int:
        """The cohort's turns that asked the bot something (answered, clarified or not)."""
        return self.answered + self.clarified + self.fallback

    @property
    def conversion(self) -> float | None:
        """Leads per conversation."""
        return share(self.leads, self.conversations)

    @property
    def thumbs_up(self) -> float | None:
        """👍 of the rated answers."""
        return share(self.up, self.rated)

    def steps(self) -> list[tuple[str, int]]:
        """The nested steps from conversations to qualified leads, in order: each a subset of
        the one before."""
        return [
            ("Conversations", self.conversations),
            ("Form started", self.form_started),
            ("Lead", self.leads),
            ("Qualified", self.qualified),
        ]
