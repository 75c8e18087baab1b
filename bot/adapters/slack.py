"""Slack: events, button presses and slash commands to `Incoming`, a `Reply` to Block Kit.
Translation only.

Rules from Slack: text in mrkdwn escapes `&`, `<` and `>` (so user text can never become a
link or an @channel); a section block holds at most 3000 characters and an actions block at
most 25 elements; a button's `value` is returned on a press. In a channel the bot answers in a
thread, so each thread is its own conversation; in a direct message the whole DM is one.

Private (`Incoming.private`) is a conversation in a direct message only: an IM event, a press
or a `/lingang` command in a DM. A `/lingang` answer in a channel is ephemeral, but its
"Post to the channel" button carries what was typed, and ephemeral messages vanish on reload:
the form and the data export stay in the DM, where the refusal's link leads
(`https://slack.com/app_redirect?app=...&team=...`, from the request's `api_app_id`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from bot.adapters.splitting import chunks
from bot.core.engine import FEEDBACK
from bot.core.forms import SHARE_PHONE
from bot.core.messages import Incoming, Reply

CHANNEL = "slack"
MAX_SECTION = 3000
MAX_ACTIONS = 25
MAX_BUTTON_TEXT = 75
BUTTON_PREFIX = "lingang:"  # action_id of every prospect-side button
UNSUPPORTED = "unsupported:"
# Message subtypes written by a person; every other subtype (edits, deletions, joins, bots)
# is not a message to answer.
PERSON_SUBTYPES = frozenset({None, "file_share", "thread_broadcast", "me_message"})
MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
SLACK_ID = re.compile(r"^[A-Z][A-Z0-9]{1,31}$")  # A0123ABCD (an app), T0123ABCD (a workspace)
DIRECT = "D"  # the first letter of a direct message's channel id

Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the bot is on this workspace (from `auth.test`)."""

    user_id: str
    bot_id: str


@dataclass(frozen=True, slots=True)
class Place:
    """Where a conversation happens: a DM, a channel thread, or a person's private answers."""

    channel: str
    thread_ts: str | None = None
    private_to: str | None = None  # ephemeral: only this user sees the replies

    @property
    def conversation_id(self) -> str:
        """The conversation's key in the database."""
        if self.private_to is not None:
            return f"{self.channel}/private/{self.private_to}"
        return f"{self.channel}/{self.thread_ts}" if self.thread_ts else self.channel


@dataclass(frozen=True, slots=True)
class SlackMessage:
    """One `chat.postMessage` (or ephemeral answer): fallback text and blocks."""

    text: str
    blocks: tuple[Json, ...]

    def body(self) -> Json:
        """The message's fields, without the channel."""
        return {"text": self.text, "blocks": list(self.blocks)}


def escape(text: str) -> str:
    """Text for mrkdwn: `&`, `<`, `>` escaped, as Slack requires."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def direct_link(app_id: object, team_id: object) -> str | None:
    """Slack's link that opens the person's direct messages with the app, or None when the
    request did not name the app."""
    if not isinstance(app_id, str) or not SLACK_ID.match(app_id):
        return None
    query = {"app": app_id}
    if isinstance(team_id, str) and SLACK_ID.match(team_id):
        query["team"] = team_id
    return f"https://slack.com/app_redirect?{urlencode(query)}"


def _incoming(
    place: Place,
    user: str,
    *,
    text: str = "",
    payload: str | None = None,
    private: bool,
    link: str | None,
) -> Incoming:
    return Incoming(
        CHANNEL,
        conversation_id=place.conversation_id,
        user_id=user,
        text=text,
        payload=payload,
        private=private,
        direct_link=link,
    )


def as_command(text: str, commands: frozenset[str]) -> str:
    """Slack keeps the slash for its own commands, so the bot's are typed without it:
    `mydata`, `lang zh`, `start expo2026` (a command word and at most one more word)."""
    words = text.split()
    if 1 <= len(words) <= 2 and words[0].lower() in commands:
        return "/" + " ".join([words[0].lower(), *words[1:]])
    return text


def event_to_incoming(
    event: Mapping[str, Any],
    me: Identity,
    commands: frozenset[str] = frozenset(),
    envelope: Mapping[str, Any] | None = None,
) -> tuple[Incoming, Place] | None:
    """A direct message or an @mention, and where to answer; None when the bot stays silent
    (its own or another bot's messages, edits, deletions, other channels' chatter).
    `commands` are the bot's command words, understood without their slash; `envelope`, the
    Events API body around `event`, names the app (for the link to its direct messages)."""
    user = event.get("user")
    if not user or user == me.user_id or event.get("bot_id"):
        return None
    if event.get("subtype") not in PERSON_SUBTYPES:
        return None
    kind, text = event.get("type"), str(event.get("text") or "")
    around = envelope or {}
    link = direct_link(around.get("api_app_id"), around.get("team_id") or event.get("team"))
    private = kind == "message" and event.get("channel_type") == "im"
    if private:
        place = Place(str(event["channel"]))
    elif kind == "app_mention":
        place = Place(str(event["channel"]), str(event.get("thread_ts") or event["ts"]))
        text = MENTION.sub(" ", text).strip()
    else:
        return None
    if not text.strip() and event.get("files"):
        file = f"{UNSUPPORTED}file"
        return _incoming(place, str(user), payload=file, private=private, link=link), place
    typed = as_command(text, commands)
    return _incoming(place, str(user), text=typed, private=private, link=link), place


def action_to_incoming(body: Mapping[str, Any]) -> tuple[Incoming, Place] | None:
    """A press of one of our buttons, and where to answer."""
    actions = body.get("actions") or []
    user = (body.get("user") or {}).get("id")
    if (
        not actions
        or not user
        or not str(actions[0].get("action_id", "")).startswith(BUTTON_PREFIX)
    ):
        return None
    container = body.get("container") or {}
    channel = str((body.get("channel") or {}).get("id") or container.get("channel_id") or "")
    if container.get("is_ephemeral"):
        place = Place(channel, private_to=str(user))
    else:
        message = body.get("message") or {}
        place = Place(channel, message.get("thread_ts"))
    link = direct_link(body.get("api_app_id"), (body.get("team") or {}).get("id"))
    value = str(actions[0].get("value", ""))
    private = channel.startswith(DIRECT)
    return _incoming(place, str(user), payload=value, private=private, link=link), place


def command_to_incoming(body: Mapping[str, Any]) -> tuple[Incoming, Place]:
    """`/lingang <question>`: a question whose answers only the asker sees."""
    channel = str(body.get("channel_id", ""))
    place = Place(channel, private_to=str(body["user_id"]))
    link = direct_link(body.get("api_app_id"), body.get("team_id"))
    text = str(body.get("text") or "")
    private = channel.startswith(DIRECT)
    return _incoming(place, str(body["user_id"]), text=text, private=private, link=link), place


def _button(number: int, title: str, value: str) -> Json:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": title[:MAX_BUTTON_TEXT], "emoji": True},
        "value": value,
        "action_id": f"{BUTTON_PREFIX}{number}",
    }


def action_blocks(
    buttons: Sequence[tuple[str, str]], prefix: str = "lingang", first: int = 0
) -> list[Json]:
    """`(title, value)` buttons in actions blocks of at most 25; their action ids are
    numbered from `first` (a message's buttons in several groups keep distinct ids)."""
    blocks = []
    for start in range(0, len(buttons), MAX_ACTIONS):
        row = buttons[start : start + MAX_ACTIONS]
        elements = [
            _button(first + start + n, title, value) for n, (title, value) in enumerate(row)
        ]
        blocks.append(
            {
                "type": "actions",
                "block_id": f"{prefix}-{start // MAX_ACTIONS}",
                "elements": elements,
            }
        )
    return blocks


def section(text: str) -> Json:
    """A mrkdwn section; `text` must already be escaped."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def context(text: str) -> Json:
    """A small grey line; `text` must already be escaped."""
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def render(reply: Reply) -> list[SlackMessage]:
    """The messages that show `reply`: escaped, split, its buttons under the last one, and
    👍/👎 in a row of their own below them.

    Slack cannot share a phone number in one tap, so that button is left out.
    """
    pieces = chunks(escape(reply.text), MAX_SECTION)
    kept = [b for b in reply.buttons if b.payload != SHARE_PHONE]
    buttons = [(b.title, b.payload) for b in kept if not b.payload.startswith(FEEDBACK)]
    thumbs = [(b.title, b.payload) for b in kept if b.payload.startswith(FEEDBACK)]
    messages = []
    for index, piece in enumerate(pieces):
        blocks = [section(piece)]
        if index == len(pieces) - 1:
            blocks += action_blocks(buttons)
            blocks += action_blocks(thumbs, prefix="lingang-feedback", first=len(buttons))
        messages.append(SlackMessage(piece, tuple(blocks)))
    return messages


def pressed(blocks: Sequence[Json], note: str) -> list[Json]:
    """A message's blocks after one of its buttons was pressed: no buttons left to press
    twice, and `note` (already escaped) saying what was chosen."""
    kept = [block for block in blocks if block.get("type") != "actions"]
    return [*kept, context(note)]


def pressed_title(body: Mapping[str, Any]) -> str:
    """The label of the button that was pressed."""
    action = (body.get("actions") or [{}])[0]
    return str((action.get("text") or {}).get("text") or action.get("value") or "")
