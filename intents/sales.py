"""The sales desk's content (`sales.yaml`): lead notifications and the /leads and /lead texts."""

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


class SalesDeskSpec(Model):
    """The layout of `sales.yaml`."""

    version: Literal[1]
    texts: DeskTexts
    buttons: DeskButtons

    @model_validator(mode="after")
    def _known_placeholders(self) -> SalesDeskSpec:
        for name, text in self._texts():
            allowed = PLACEHOLDERS.get(name, set())
            used = {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}
            if used - allowed:
                raise ValueError(f"texts.{name}: unknown placeholder(s) {sorted(used - allowed)}")
        return self

    def _texts(self) -> Iterator[tuple[str, str]]:
        for name in type(self.texts).model_fields:
            yield name, getattr(self.texts, name)
