"""The web chat: a JSON message from the chat page to `Incoming`, a `Reply` to JSON.
Translation only.

A message is `{"text": "..."}` (typed) or `{"payload": "..."}` (a button pressed), with an
optional client-chosen `"id"` that a retried POST repeats, so that it is answered once. The
conversation is the browser's: its id (a pseudonym, never the cookie) comes from the route.
A reply is `{"text", "buttons": [{"title", "payload"}, ...], "kind"}`; the 👍/👎 under an
answer are among its buttons, marked `"feedback": true`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError, model_validator

from bot.core.engine import FEEDBACK
from bot.core.forms import CONTACT_PREFIX, SHARE_PHONE
from bot.core.messages import Button, Incoming, Reply

CHANNEL = "web"
MAX_TEXT = 2000
MAX_PAYLOAD = 256
LANGUAGES = ("en", "zh")

Json = dict[str, Any]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT)]
Payload = Annotated[str, StringConstraints(min_length=1, max_length=MAX_PAYLOAD)]
ClientId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class BadMessage(ValueError):
    """A body that is not one chat message; the text says what is wrong, for the person."""


class _Body(BaseModel):
    """The JSON body of `POST /chat/messages`."""

    model_config = ConfigDict(extra="forbid", strict=True)

    text: Text | None = None
    payload: Payload | None = None
    id: ClientId | None = None

    @model_validator(mode="after")
    def _one_of(self) -> _Body:
        if (self.text is None) == (self.payload is None):
            raise ValueError('send exactly one of "text" and "payload"')
        return self


@dataclass(frozen=True, slots=True)
class WebMessage:
    """One valid chat message: typed text or a pressed button's payload."""

    text: str = ""
    payload: str | None = None
    client_id: str | None = None


def _explain(error: ValidationError) -> str:
    """Pydantic's complaints, one short sentence each, naming the field."""
    parts = []
    for problem in error.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in problem["loc"])
        message = str(problem["msg"]).removeprefix("Value error, ")
        if problem["type"] == "extra_forbidden":
            message = "unknown field"
        elif problem["type"] == "string_pattern_mismatch":
            message = "use 1 to 64 letters, digits, '_' or '-'"
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def parse(body: object) -> WebMessage:
    """The message in a decoded JSON body; `BadMessage` says what is wrong with it.

    Text is 1 to 2000 characters once stripped; a payload at most 256; exactly one of them.
    The web page cannot share a phone contact, so a contact payload is refused, not trusted.
    """
    if not isinstance(body, dict):
        raise BadMessage('expected a JSON object: {"text": "..."} or {"payload": "..."}')
    try:
        parsed = _Body.model_validate(body)
    except ValidationError as error:
        raise BadMessage(_explain(error)) from None
    if parsed.payload is not None and parsed.payload.startswith(CONTACT_PREFIX):
        raise BadMessage("payload: the web chat cannot share a contact; type the number")
    return WebMessage(parsed.text or "", parsed.payload, parsed.id)


def language_hint(accept_language: str | None) -> str | None:
    """The browser's most preferred language tag that the bot speaks (`Accept-Language`)."""
    preferred: list[tuple[float, int, str]] = []
    for position, item in enumerate((accept_language or "").split(",")):
        tag, _, parameters = item.strip().partition(";")
        quality = 1.0
        name, _, value = parameters.strip().partition("=")
        if name.strip() == "q":
            try:
                quality = float(value)
            except ValueError:
                continue
        tag = tag.strip()
        if quality > 0 and tag.lower().replace("_", "-").split("-")[0] in LANGUAGES:
            preferred.append((-quality, position, tag))
    return min(preferred)[2] if preferred else None


def to_incoming(
    message: WebMessage, conversation_id: str, accept_language: str | None = None
) -> Incoming:
    """A browser's message; the client's id, scoped to the conversation, de-duplicates it
    (hashed together: a delivery id is at most 128 characters, these two up to 64 each)."""
    event_id = None
    if message.client_id:
        scoped = f"{conversation_id}/{message.client_id}".encode()
        event_id = hashlib.sha256(scoped).hexdigest()
    return Incoming(
        CHANNEL,
        conversation_id=conversation_id,
        user_id=conversation_id,
        text=message.text,
        payload=message.payload,
        language_hint=language_hint(accept_language),
        event_id=event_id,
        private=True,  # a browser's own conversation
    )


def _button(button: Button) -> Json:
    """A button as JSON; 👍/👎 say so (`"feedback": true`), for the page to show them small."""
    shown: Json = {"title": button.title, "payload": button.payload}
    if button.payload.startswith(FEEDBACK):
        shown["feedback"] = True
    return shown


def render(reply: Reply) -> Json:
    """One reply as the page shows it; a browser cannot share a phone number in one tap, so
    that button is left out."""
    return {
        "text": reply.text,
        "buttons": [_button(b) for b in reply.buttons if b.payload != SHARE_PHONE],
        "kind": reply.kind,
    }


def render_all(replies: Sequence[Reply]) -> Json:
    """The response to one message: `{"replies": [...]}` (empty for a retried message)."""
    return {"replies": [render(reply) for reply in replies]}
