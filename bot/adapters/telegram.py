"""Telegram: an `Update` to an `Incoming`, a `Reply` to Bot API messages. Translation only.

Rules from the Bot API: messages are at most 4096 characters (split here at paragraph
boundaries, after HTML escaping); `callback_data` is at most 64 bytes (our payloads are short
ASCII keys by construction, checked here); only `<`, `>` and `&` need escaping in HTML mode.
"""

from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from telegram import (
    KeyboardButton,
    Message,
    MessageEntity,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ChatType, MessageLimit, ParseMode

from bot.adapters.splitting import chunks
from bot.core.engine import FEEDBACK
from bot.core.forms import CONTACT_PREFIX, SHARE_PHONE
from bot.core.messages import Incoming, Reply

log = logging.getLogger(__name__)

CHANNEL = "telegram"
MAX_TEXT = MessageLimit.MAX_TEXT_LENGTH
MAX_CALLBACK_BYTES = 64
UNSUPPORTED = "unsupported:"
REMOVE_KEYBOARD: dict[str, Any] = ReplyKeyboardRemove().to_dict()
USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{4,31}$")  # Telegram's rule for usernames


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the bot is, to tell when a group message is meant for it."""

    id: int
    username: str

    @property
    def link(self) -> str | None:
        """The t.me link that opens a private chat with the bot (None before getMe)."""
        return f"https://t.me/{self.username}" if USERNAME.match(self.username) else None


@dataclass(frozen=True, slots=True)
class OutgoingText:
    """One `sendMessage` call: HTML text and an optional keyboard (as Bot API JSON)."""

    text: str
    markup: dict[str, Any] | None = field(default=None)

    def body(self) -> dict[str, Any]:
        """The parameters of the call, without the chat."""
        body: dict[str, Any] = {"text": self.text, "parse_mode": ParseMode.HTML}
        if self.markup is not None:
            body["reply_markup"] = self.markup
        return body


def _addressed(message: Message, me: Identity) -> tuple[bool, str]:
    """Whether a group message is for the bot, and its text without the @mention.

    A command is, unless it names another bot (`/start@other_bot`).
    """
    text = message.text or ""
    if text.startswith("/"):
        addressee = text[1:].partition(" ")[0].partition("@")[2]
        return not addressee or addressee.casefold() == me.username.casefold(), text
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == me.id:
        return True, text
    mention = f"@{me.username}".casefold()
    for entity, value in message.parse_entities([MessageEntity.MENTION]).items():
        if value.casefold() == mention:
            start, end = entity.offset, entity.offset + entity.length
            return True, (text[:start] + text[end:]).strip()
    return False, text


def _kind(message: Message) -> str:
    """What a message without text carries, for the polite "I read text" reply."""
    for kind in ("sticker", "photo", "voice", "video", "video_note", "audio", "document"):
        if getattr(message, kind):
            return kind
    return "other"


def to_incoming(update: Update, me: Identity) -> Incoming | None:
    """The `Incoming` for an update, or None when the bot should stay silent."""
    event_id = str(update.update_id)
    query = update.callback_query
    if query is not None:
        # Without its message (too old, or inline) the press is answered in the person's own
        # chat with the bot, whose id is theirs: private.
        shown = query.message
        chat = shown.chat.id if shown is not None else query.from_user.id
        return Incoming(
            CHANNEL,
            conversation_id=str(chat),
            user_id=str(query.from_user.id),
            payload=query.data or "",
            language_hint=query.from_user.language_code,
            event_id=event_id,
            private=shown is None or shown.chat.type == ChatType.PRIVATE,
            direct_link=me.link,
        )
    message = update.message or update.edited_message
    if message is None or message.from_user is None or message.from_user.is_bot:
        return None
    private = message.chat.type == ChatType.PRIVATE
    sender = message.from_user

    def made(text: str = "", payload: str | None = None) -> Incoming:
        return Incoming(
            CHANNEL,
            conversation_id=str(message.chat.id),
            user_id=str(sender.id),
            text=text,
            payload=payload,
            language_hint=sender.language_code,
            event_id=event_id,
            private=private,
            direct_link=me.link,
        )

    if update.edited_message is not None:
        return made(payload=f"{UNSUPPORTED}edited") if private else None
    if message.contact is not None and private:
        own = message.contact.user_id == message.from_user.id
        number = message.contact.phone_number.strip()
        if own and number:
            phone = number if number.startswith("+") else f"+{number}"
            return made(payload=f"{CONTACT_PREFIX}{phone}")
    if message.text is None:
        return made(payload=f"{UNSUPPORTED}{_kind(message)}") if private else None
    if private:
        return made(text=message.text)
    addressed, text = _addressed(message, me)
    return made(text=text) if addressed else None


def _inline(reply: Reply) -> dict[str, Any] | None:
    """One button a row, but 👍/👎 side by side in the last row (the Bot API's JSON, built
    directly: python-telegram-bot's objects cost more than the rest of the rendering)."""
    rows: list[list[dict[str, str]]] = []
    thumbs: list[dict[str, str]] = []
    for button in reply.buttons:
        if len(button.payload.encode()) > MAX_CALLBACK_BYTES:
            log.error("button payload %r is over Telegram's 64 bytes; left out", button.payload)
            continue
        inline = {"callback_data": button.payload, "text": button.title}
        if button.payload.startswith(FEEDBACK):
            thumbs.append(inline)
        else:
            rows.append([inline])
    if thumbs:
        rows.append(thumbs)
    return {"inline_keyboard": rows} if rows else None


def _contact_keyboard(reply: Reply) -> dict[str, Any]:
    """The phone question: one tap shares the number; the other choices are typed buttons."""
    share = [b for b in reply.buttons if b.payload == SHARE_PHONE]
    others = [KeyboardButton(b.title) for b in reply.buttons if b.payload != SHARE_PHONE]
    rows = [[KeyboardButton(share[0].title, request_contact=True)], others]
    keyboard = ReplyKeyboardMarkup(rows, resize_keyboard=True, one_time_keyboard=True)
    return keyboard.to_dict()


def render(reply: Reply) -> list[OutgoingText]:
    """The messages that show `reply`: escaped, split, with its buttons on the last one."""
    escaped = html.escape(reply.text, quote=False)
    pieces = chunks(escaped, MAX_TEXT)
    markup: dict[str, Any] | None
    if any(b.payload == SHARE_PHONE for b in reply.buttons):
        markup = _contact_keyboard(reply)
    elif reply.releases is not None and not reply.buttons:
        markup = dict(REMOVE_KEYBOARD)
    else:
        markup = _inline(reply)
    return [
        OutgoingText(piece, markup if index == len(pieces) - 1 else None)
        for index, piece in enumerate(pieces)
    ]
