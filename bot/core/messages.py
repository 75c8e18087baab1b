"""The types that cross the adapter boundary: one inbound message, the replies to it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

ReplyKind = Literal["answer", "fallback", "clarify", "notice", "form", "error"]
Language = Literal["en", "zh"]
LANGUAGES: tuple[Language, ...] = ("en", "zh")


@dataclass(frozen=True, slots=True)
class Button:
    """A choice offered with a reply; pressing it sends `payload` back to the engine."""

    title: str
    payload: str


@dataclass(frozen=True, slots=True)
class Reply:
    """One message the bot sends back."""

    text: str
    buttons: tuple[Button, ...] = ()
    kind: ReplyKind = "answer"
    field: str | None = None  # the form field this reply asks for (a channel may help, e.g. phone)
    releases: str | None = None  # the field the previous replies asked for is done with


@dataclass(frozen=True, slots=True)
class Incoming:
    """One message or button press from a person, whatever the channel it came from."""

    channel: str
    conversation_id: str
    user_id: str
    text: str = ""
    payload: str | None = None
    language_hint: str | None = None
    user_display_name: str | None = None
    event_id: str | None = None
    raw: Mapping[str, object] = field(default_factory=dict, repr=False, compare=False)
