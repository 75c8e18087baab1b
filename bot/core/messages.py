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
    """One message or button press from a person, whatever the channel it came from.

    `private`: only this person and the bot see the conversation (a Telegram private chat, a
    Slack direct message, the web chat, the terminal). It is False unless the adapter knows
    better, so an adapter that forgets to say gets no data export, no form and no handoff
    rather than posting them to a group. `direct_link`: where the person can message the bot
    one to one (shown when something is refused for not being private), when the platform has
    such a link.
    """

    channel: str
    conversation_id: str
    user_id: str
    text: str = ""
    payload: str | None = None
    language_hint: str | None = None
    user_display_name: str | None = None
    event_id: str | None = None
    private: bool = False
    direct_link: str | None = None
    raw: Mapping[str, object] = field(default_factory=dict, repr=False, compare=False)
