"""The inline keyboards `render` writes as Bot API JSON are exactly what python-telegram-bot's
own objects make of the same buttons (the adapter no longer builds those objects)."""

from __future__ import annotations

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, ReplyKeyboardRemove

from bot.adapters.telegram import render
from bot.core.engine import FEEDBACK
from bot.core.messages import Button, Reply

THUMBS = (Button("👍", f"{FEEDBACK}up:size"), Button("👎", f"{FEEDBACK}down:size"))
TOPICS = (Button("Taxes & <fees>", "intent:taxes"), Button("Visas", "intent:visa"))


@pytest.mark.parametrize(
    "buttons",
    [TOPICS, THUMBS, TOPICS + THUMBS, (THUMBS[0], *TOPICS, THUMBS[1])],
    ids=["topics", "thumbs", "both", "mixed"],
)
def test_inline_keyboards_are_what_python_telegram_bot_makes(buttons: tuple[Button, ...]) -> None:
    rows = [[InlineKeyboardButton(b.title, callback_data=b.payload)] for b in buttons
            if not b.payload.startswith(FEEDBACK)]  # fmt: skip
    thumbs = [
        InlineKeyboardButton(b.title, callback_data=b.payload)
        for b in buttons
        if b.payload.startswith(FEEDBACK)
    ]
    expected = InlineKeyboardMarkup([*rows, thumbs] if thumbs else rows).to_dict()
    (message,) = render(Reply("Lingang is 119.5 km².", buttons))
    assert message.markup == expected


def test_no_buttons_no_keyboard_and_a_released_field_removes_it() -> None:
    assert render(Reply("hello"))[0].markup is None
    (removed,) = render(Reply("thanks", releases="phone"))
    assert removed.markup == ReplyKeyboardRemove().to_dict()
    assert removed.markup is not render(Reply("again", releases="phone"))[0].markup
