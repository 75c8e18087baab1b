"""A prospect filling in the lead form, step by step, and what the database should then hold."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.core.records import Lead, LeadFilter
from storage.db import Database
from storage.leads import SqlLeadRepository
from tests.fakes.telegram_api import message, press

# What a prospect answers, and what the lead must then hold (the e-mail address varies: a
# second request with the same address updates the first lead).
ANSWERS = {
    "name": "Ann Lee",
    "company": "Acme GmbH",
    "email": "ann@acme.de",
    "country": "Germany",
    "phone": "+49301234567",
    "interest": "ic_industry",
    "timeline": "within_3_months",
    "note": "Two fabs in 2027",
}
PHONE_TYPED = "+49 30 1234567"


def answers(email: str) -> dict[str, str]:
    """The answers of a prospect with this e-mail address."""
    return {**ANSWERS, "email": email}


@dataclass(frozen=True, slots=True)
class Step:
    """One Telegram update of the form, and words the bot's last reply to it contains."""

    update: Callable[[int], dict[str, Any]]
    expect: str


def telegram_form(given: dict[str, str]) -> tuple[Step, ...]:
    """The lead form over Telegram, from asking for a quote to confirming."""
    return (
        Step(lambda chat: message("I'd like a quote", chat), "Do you agree?"),
        Step(lambda chat: press("form:agree", chat), "What is your name?"),
        Step(lambda chat: message(given["name"], chat), "Which company"),
        Step(lambda chat: message(given["company"], chat), "What email address"),
        Step(lambda chat: message(given["email"], chat), "Which country"),
        Step(lambda chat: message(given["country"], chat), "phone number"),
        Step(lambda chat: message(PHONE_TYPED, chat), "interested"),
        Step(lambda chat: press(f"form:choose:{given['interest']}", chat), "When are you"),
        Step(lambda chat: press(f"form:choose:{given['timeline']}", chat), "Anything else"),
        Step(lambda chat: message(given["note"], chat), "Please check your details"),
        Step(
            lambda chat: press("form:confirm", chat),
            f"Thank you, {given['name']}! Your request is saved",
        ),
    )


def slack_form(given: dict[str, str]) -> tuple[tuple[str, str, str], ...]:
    """The same form in a Slack DM: ("say", text) or ("press", button label), and words the
    bot's reply contains."""
    return (
        ("say", "I want to talk to a consultant", "Do you agree?"),
        ("press", "I agree", "What is your name?"),
        ("say", given["name"], "Which company"),
        ("say", given["company"], "What email address"),
        ("say", given["email"], "Which country"),
        ("say", given["country"], "phone number"),
        ("say", PHONE_TYPED, "interested"),
        ("press", "IC industry", "When are you planning"),
        ("press", "Within 3 months", "Anything else"),
        ("say", given["note"], "Please check your details"),
        ("press", "Confirm", f"Thank you, {given['name']}! Your request is saved"),
    )


def leads_in(database_url: str) -> list[Lead]:
    """Every lead in the database, read as the sales pages read them."""
    database = Database(database_url)
    try:
        return SqlLeadRepository(database).find(LeadFilter())
    finally:
        database.dispose()


def lead_of(database_url: str, email: str) -> Lead:
    """The one lead with this e-mail address."""
    [lead] = [lead for lead in leads_in(database_url) if lead.email == email]
    return lead


def assert_complete(lead: Lead, channel: str, user_id: str, given: dict[str, str]) -> None:
    """The lead holds every answer the prospect gave, for the right person."""
    assert (lead.channel, lead.user_id) == (channel, user_id)
    assert dict(lead.answers) == given
