"""The `handoff:` and `feedback:` settings of `catalog.yaml`: when a person from the sales team
can join a chat (office hours, holidays, how long to wait), the words that ask for one, and
what the bot says around it; the 👍/👎 under answers and what follows a press.

Office hours are read in their own time zone (Shanghai by default), so the answer to "is
someone there now?" and "when will someone be?" does not depend on where the server runs.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from intents.content import Localized, Model, Phrases
from intents.text import normalize

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# The longest search for the next opening: a year of closed days is a mistake in the settings.
HORIZON_DAYS = 366


class OfficeHours(Model):
    """When consultants answer chats: `opens` to `closes` on `days`, except `holidays`."""

    timezone: str = "Asia/Shanghai"
    days: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri")
    opens: time = time(9, 0)
    closes: time = time(18, 0)
    holidays: tuple[date, ...] = ()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{name!r} is not a time zone name (e.g. Asia/Shanghai)") from None
        return name

    @model_validator(mode="after")
    def _opens_before_closing(self) -> OfficeHours:
        if self.opens >= self.closes:
            raise ValueError("opens must be before closes")
        if not self.days:
            raise ValueError("days: name at least one day")
        return self

    @property
    def zone(self) -> ZoneInfo:
        """The time zone the hours are in."""
        return ZoneInfo(self.timezone)

    def _working(self, day: date) -> bool:
        return WEEKDAYS[day.weekday()] in self.days and day not in self.holidays

    def is_open(self, at: datetime) -> bool:
        """Whether `at` (any aware time) falls within office hours."""
        local = at.astimezone(self.zone)
        return self._working(local.date()) and self.opens <= local.time() < self.closes

    def next_opening(self, at: datetime) -> datetime:
        """The next moment office hours begin after `at` (or `at` itself when open), in the
        hours' own time zone."""
        local = at.astimezone(self.zone)
        if self.is_open(at):
            return local
        day = local.date()
        if local.time() >= self.opens:
            day += timedelta(days=1)
        for _ in range(HORIZON_DAYS):
            if self._working(day):
                return datetime.combine(day, self.opens, tzinfo=self.zone)
            day += timedelta(days=1)
        raise ValueError("office hours never open within a year")

    def closing(self, at: datetime) -> datetime:
        """When the office hours that `at` falls in end."""
        local = at.astimezone(self.zone)
        return datetime.combine(local.date(), self.closes, tzinfo=self.zone)

    def describe(self) -> str:
        """The hours in a few words, e.g. `mon-fri 09:00-18:00 (Asia/Shanghai)`."""
        days = ",".join(self.days)
        if self.days == WEEKDAYS[: len(self.days)] and len(self.days) > 2:
            days = f"{self.days[0]}-{self.days[-1]}"
        return f"{days} {self.opens:%H:%M}-{self.closes:%H:%M} ({self.timezone})"


class HandoffTexts(Model):
    """What the bot tells the prospect about the person behind it."""

    asking: Localized  # `{minutes}`: how long a consultant usually takes to join
    already_asked: Localized  # asked again while waiting
    after_hours: Localized  # `{hours}`, `{when}`: outside office hours
    unavailable: Localized  # no sales desk is set up: the contact form instead
    joined: Localized  # `{name}`
    rep_closed: Localized  # `{name}`
    rep_silent: Localized  # `{name}`
    unclaimed: Localized  # `{when}`: nobody took it in time
    prospect_closed: Localized
    not_text: Localized  # a sticker or file during a handoff: only text reaches the person

    @field_validator("*")
    @classmethod
    def _known_placeholders(cls, text: Localized) -> Localized:
        for lang in ("en", "zh"):
            unknown = set(re.findall(r"\{(\w*)\}", text.get(lang))) - {
                "minutes",
                "hours",
                "when",
                "name",
            }
            if unknown:
                raise ValueError(f"{lang}: unknown placeholder(s) {sorted(unknown)}")
        return text


class HandoffSettings(Model):
    """When and how a conversation goes to a person on the sales team."""

    office_hours: OfficeHours = OfficeHours()
    claim_minutes: int = Field(ge=1, le=24 * 60)  # nobody took it by then: back to the bot
    silence_minutes: int = Field(ge=1, le=24 * 60)  # the consultant said nothing for so long
    # Words that ask for a live person (as opposed to "how do I contact you"): a message the
    # lead intent answers and that says one of these starts a handoff at once.
    asks_for_person: Phrases
    # A message that is exactly one of these (once normalised) ends the handoff.
    end_words: Phrases
    request_button: Localized
    end_button: Localized
    form_button: Localized  # the contact form, when no person can come
    date_format: Localized  # strftime pattern for `{when}`
    texts: HandoffTexts

    def asks(self, text: str) -> bool:
        """Whether `text` asks for a live person in so many words."""
        said = f" {normalize(text)} "
        return any(
            (f" {normalize(p)} " in said) if lang == "en" else (normalize(p) in said)
            for lang, p in self.asks_for_person.items()
        )

    def ends(self, text: str) -> bool:
        """Whether `text` says the prospect wants the bot back."""
        said = normalize(text).strip(" .!。！")
        return any(said == normalize(p) for _, p in self.end_words.items())


class FeedbackSettings(Model):
    """👍/👎 under FAQ answers and what the bot says after a press."""

    up: Localized
    down: Localized
    thanks: Localized  # after 👍
    sorry: Localized  # after 👎: asks, optionally, what the person was looking for
    noted: Localized  # their one line was kept
