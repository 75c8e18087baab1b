"""The sales desk's content (`sales.yaml`): lead notifications, the /leads and /lead texts, and
the threads of conversations handed to a person (`handoff:`)."""

from __future__ import annotations

import string
from collections.abc import Iterator
from typing import Literal

from pydantic import model_validator

from intents.content import Model, Text

SalesAction = Literal["claim", "contacted", "qualified", "lost"]
SALES_ACTIONS: tuple[SalesAction, ...] = ("claim", "contacted", "qualified", "lost")

PLACEHOLDERS: dict[str, set[str]] = {
    "new_lead": {"id", "score"},
    "updated_lead": {"id", "score"},
    "question": {"question"},
    "origin": {"channel", "language", "source"},
    "status": {"status", "owner"},
    "claimed": {"user"},
    "moved": {"user", "status"},
    "gone": {"id"},
    "refused": {"command"},
    "list_title": {"count"},
    "list_line": {"id", "status", "score", "name", "company", "created"},
    "review_heading": {"on", "expired", "overdue", "due_soon", "page"},
    "review_expired": {"name", "valid_until"},
    "review_never": {"name"},
    "review_overdue": {"name", "review_due"},
    "review_ends_soon": {"name", "valid_until"},
    "review_due_soon": {"name", "review_due"},
    "review_more": {"count"},
}
# The handoff threads' texts (`handoff.texts` and `handoff.notices`) and their placeholders.
HANDOFF_PLACEHOLDERS: dict[str, set[str]] = {
    "opening": {"who", "channel", "language"},
    "asked": {"question"},
    "lead": {"id", "score"},
    "prospect_says": {"text"},
    "rep_says": {"name", "text"},
    "taken": {"rep"},
    "taken_already": {"rep"},
    "closed_by": {"rep"},
    "undeliverable": {"reason"},
    "after_hours": {"when"},
    "claimed": {"rep"},
    "unclaimed": {"when"},
}


class DeskTexts(Model):
    """Every text of the sales desk (English: the sales team's language)."""

    new_lead: Text
    updated_lead: Text
    question: Text
    origin: Text
    status: Text
    nobody: Text
    claimed: Text
    moved: Text
    gone: Text
    refused: Text
    not_configured: Text
    leads_usage: Text
    lead_usage: Text
    none_found: Text
    list_title: Text
    list_line: Text
    transcript: Text
    history: Text
    # The weekly list of answers to review (bot/review_digest.py), for the admins.
    review_heading: Text
    review_expired: Text
    review_never: Text
    review_overdue: Text
    review_ends_soon: Text
    review_due_soon: Text
    review_more: Text


class DeskButtons(Model):
    """The buttons under each lead notification."""

    claim: Text
    contacted: Text
    qualified: Text
    lost: Text

    def title(self, action: SalesAction) -> str:
        """The label of one button."""
        label: str = getattr(self, action)
        return label


class HandoffThreadTexts(Model):
    """The words of a handoff's Slack thread (English: the sales team's language)."""

    opening: Text  # the first post's title: who asks for a person, from where, in what language
    anonymous: Text  # `who` when the platform gave no name
    asked: Text
    lead: Text
    no_lead: Text
    transcript: Text
    prospect_says: Text  # what the prospect wrote, in the thread
    rep_says: Text  # what the consultant wrote, as the prospect sees it
    taken: Text
    taken_already: Text
    closed_by: Text
    ended: Text  # a button pressed on a thread whose conversation is over
    take_first: Text  # to someone writing in a thread they have not taken (only they see it)
    not_open: Text  # to someone writing in a thread whose conversation is over
    blocked: Text  # why a message could not reach the prospect (the `undeliverable` notice)
    gone: Text
    refused: Text


class HandoffThreadNotices(Model):
    """What the bot says in the thread about the handoff (names from `bot.core.handoff`)."""

    after_hours: Text
    claimed: Text
    closed: Text
    unclaimed: Text
    rep_silent: Text
    prospect_closed: Text
    erased: Text
    undeliverable: Text  # `{reason}`: a message the prospect could not be sent

    def text(self, notice: str) -> str | None:
        """The notice's words, or None for a name this file does not know."""
        if notice not in type(self).model_fields:
            return None
        words: str = getattr(self, notice)
        return words


class HandoffThreadButtons(Model):
    """The buttons on a handoff thread's first post."""

    take: Text
    close: Text


class HandoffThread(Model):
    """Everything the sales team sees of a conversation handed to them."""

    texts: HandoffThreadTexts
    notices: HandoffThreadNotices
    buttons: HandoffThreadButtons
    # A consultant's message in the thread that is one of these (any case) ends the handoff;
    # one that starts with `note_marker` stays in Slack.
    close_words: tuple[Text, ...]
    note_marker: Text


class SalesDeskSpec(Model):
    """The layout of `sales.yaml`."""

    version: Literal[1]
    texts: DeskTexts
    buttons: DeskButtons
    handoff: HandoffThread

    @model_validator(mode="after")
    def _known_placeholders(self) -> SalesDeskSpec:
        for name, text in self._texts():
            if name.startswith("handoff."):
                allowed = HANDOFF_PLACEHOLDERS.get(name.removeprefix("handoff."), set())
            else:
                allowed = PLACEHOLDERS.get(name, set())
            used = {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}
            if used - allowed:
                raise ValueError(f"texts.{name}: unknown placeholder(s) {sorted(used - allowed)}")
        return self

    def _texts(self) -> Iterator[tuple[str, str]]:
        for name in type(self.texts).model_fields:
            yield name, getattr(self.texts, name)
        for part in (self.handoff.texts, self.handoff.notices):
            for name in type(part).model_fields:
                yield f"handoff.{name}", getattr(part, name)
