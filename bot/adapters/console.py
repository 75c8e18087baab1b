"""The terminal channel: lines typed by a person, or JSON lines from a program.

Two pure translators, as every adapter has: `to_incoming` (a line to an `Incoming`) and
`render_text` / `render_json` (replies to what the terminal shows).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.forms import SHARE_PHONE
from bot.core.messages import Button, Incoming, Reply

CHANNEL = "console"


class BadLine(ValueError):
    """A JSON line that is an object but neither `{"text": ...}` nor `{"payload": ...}`."""


@dataclass(frozen=True, slots=True)
class Session:
    """Who is typing, and the buttons on screen that a number can press."""

    user_id: str
    language: str | None = None

    def incoming(self, text: str = "", payload: str | None = None) -> Incoming:
        """An `Incoming` from this terminal user."""
        return Incoming(
            CHANNEL,
            conversation_id=self.user_id,
            user_id=self.user_id,
            text=text,
            payload=payload,
            language_hint=self.language,
            private=True,  # one person at a terminal
        )


def to_incoming(session: Session, line: str, shown: Sequence[Button] = ()) -> Incoming:
    """A typed line: a button's number or exact title presses it; anything else is text."""
    choice = line.strip()
    if choice.isdigit() and 1 <= int(choice) <= len(shown):
        return session.incoming(payload=shown[int(choice) - 1].payload)
    for button in shown:
        if choice.casefold() == button.title.casefold():
            return session.incoming(payload=button.payload)
    return session.incoming(text=line)


def json_to_incoming(session: Session, line: str) -> Incoming:
    """A JSON-lines input: an object with `text` or `payload`, or else plain text."""
    stripped = line.strip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError:
            return session.incoming(text=line)
        if isinstance(data, dict):
            payload, text = data.get("payload"), data.get("text")
            if isinstance(payload, str):
                return session.incoming(payload=payload)
            if isinstance(text, str):
                return session.incoming(text=text)
            raise BadLine('expected {"text": "..."} or {"payload": "..."}')
    return session.incoming(text=line)


def _usable(reply: Reply) -> tuple[Button, ...]:
    """A terminal cannot share a phone number in one tap: that button is left out."""
    return tuple(b for b in reply.buttons if b.payload != SHARE_PHONE)


def render_text(replies: Sequence[Reply]) -> tuple[str, tuple[Button, ...]]:
    """What the terminal prints, and the buttons a number now presses (numbered across)."""
    lines: list[str] = []
    shown: list[Button] = []
    for reply in replies:
        lines.append(reply.text)
        for button in _usable(reply):
            shown.append(button)
            lines.append(f"  [{len(shown)}] {button.title}")
    return "\n".join(lines), tuple(shown)


def render_json(replies: Sequence[Reply], error: str | None = None) -> str:
    """One JSON line: `{"replies": [{"text", "buttons": [{"title", "payload"}]}]}`."""
    document: dict[str, object] = {
        "replies": [
            {
                "text": reply.text,
                "buttons": [{"title": b.title, "payload": b.payload} for b in _usable(reply)],
            }
            for reply in replies
        ]
    }
    if error is not None:
        document["error"] = error
    return json.dumps(document, ensure_ascii=False)
