"""👍/👎 under an answer on every channel's translator: shown compactly, and a press comes back
as the button's payload."""

from __future__ import annotations

from typing import Any

from telegram import Update

from bot.adapters import slack, telegram, web
from bot.core.messages import Button, Reply
from tests.fakes.slack_requests import block_action_payload
from tests.fakes.telegram_api import press

UP, DOWN = "fb:up:Ab3_x-", "fb:down:Ab3_x-"
ANSWER = Reply(
    "Lingang is in Pudong.",
    (
        Button("How big is it?", "intent:lingang_size"),
        Button("Talk to a consultant", "form:lead"),
        Button("👍", UP),
        Button("👎", DOWN),
    ),
)


def test_telegram_puts_the_thumbs_side_by_side_in_the_last_row() -> None:
    [sent] = telegram.render(ANSWER)
    keyboard: list[list[dict[str, Any]]] = sent.body()["reply_markup"]["inline_keyboard"]
    assert [[key["callback_data"] for key in row] for row in keyboard] == [
        ["intent:lingang_size"],
        ["form:lead"],
        [UP, DOWN],
    ]
    assert [key["text"] for key in keyboard[-1]] == ["👍", "👎"]


def test_telegram_thumbs_alone_are_one_row() -> None:
    [sent] = telegram.render(Reply("Yes.", (Button("👍", UP), Button("👎", DOWN))))
    assert sent.body()["reply_markup"]["inline_keyboard"] == [
        [{"text": "👍", "callback_data": UP}, {"text": "👎", "callback_data": DOWN}]
    ]


def test_telegram_thumbs_go_under_the_last_piece_of_a_long_answer() -> None:
    long = Reply("\n\n".join("word " * 300 for _ in range(6)), ANSWER.buttons)
    pieces = telegram.render(long)
    assert len(pieces) > 1
    assert [p.markup is not None for p in pieces] == [False] * (len(pieces) - 1) + [True]


def test_a_telegram_press_of_a_thumb_comes_back_as_its_payload() -> None:
    me = telegram.Identity(42, "lingang_test_bot")
    got = telegram.to_incoming(Update.de_json({"update_id": 9, **press(DOWN)}, None), me)
    assert got is not None
    assert (got.payload, got.text, got.event_id) == (DOWN, "", "9")


def test_slack_shows_the_thumbs_in_a_row_of_their_own_under_the_choices() -> None:
    [message] = slack.render(ANSWER)
    assert [b["type"] for b in message.blocks] == ["section", "actions", "actions"]
    choices, thumbs = message.blocks[1], message.blocks[2]
    assert [e["value"] for e in choices["elements"]] == ["intent:lingang_size", "form:lead"]
    assert [(e["text"]["text"], e["value"]) for e in thumbs["elements"]] == [
        ("👍", UP),
        ("👎", DOWN),
    ]
    ids = [e["action_id"] for b in message.blocks[1:] for e in b["elements"]]
    assert len(set(ids)) == 4
    assert all(i.startswith(slack.BUTTON_PREFIX) for i in ids)
    assert choices["block_id"] != thumbs["block_id"]


def test_a_slack_press_of_a_thumb_comes_back_as_its_payload_and_leaves_no_buttons() -> None:
    [message] = slack.render(ANSWER)
    thumb = message.blocks[2]["elements"][0]
    translated = slack.action_to_incoming(
        block_action_payload(thumb["action_id"], thumb["value"], channel="D0001", label="👍")
    )
    assert translated is not None
    incoming, place = translated
    assert (incoming.payload, place.conversation_id) == (UP, "D0001")
    after = slack.pressed(message.blocks, "<@U0001> chose: 👍")
    assert [b["type"] for b in after] == ["section", "context"]


def test_the_web_marks_the_thumbs_and_keeps_the_other_buttons_as_they_were() -> None:
    assert web.render(ANSWER)["buttons"] == [
        {"title": "How big is it?", "payload": "intent:lingang_size"},
        {"title": "Talk to a consultant", "payload": "form:lead"},
        {"title": "👍", "payload": UP, "feedback": True},
        {"title": "👎", "payload": DOWN, "feedback": True},
    ]


def test_a_web_press_of_a_thumb_comes_back_as_its_payload() -> None:
    message = web.parse({"payload": UP, "id": "m1"})
    incoming = web.to_incoming(message, "conv-1")
    assert incoming.payload == UP
    assert (
        incoming.event_id
        == web.to_incoming(web.parse({"text": "x", "id": "m1"}), "conv-1").event_id
    )
    assert incoming.event_id != web.to_incoming(message, "conv-2").event_id
