"""The web chat translators on their own: a JSON body in, JSON replies out."""

from __future__ import annotations

import pytest

from bot.adapters.web import (
    MAX_PAYLOAD,
    MAX_TEXT,
    BadMessage,
    WebMessage,
    language_hint,
    parse,
    render,
    render_all,
    to_incoming,
)
from bot.core.forms import SHARE_PHONE
from bot.core.messages import Button, Reply

BROWSER = "b" * 32


def test_typed_text_is_stripped_and_a_press_is_kept_as_sent() -> None:
    assert parse({"text": "  where is Lingang?\n"}) == WebMessage("where is Lingang?")
    assert parse({"payload": " form:agree"}) == WebMessage(payload=" form:agree")
    assert parse({"text": "x" * MAX_TEXT, "id": "a1_-Z"}).client_id == "a1_-Z"


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("where is Lingang?", "JSON object"),
        (None, "JSON object"),
        ({}, 'exactly one of "text" and "payload"'),
        ({"text": "hi", "payload": "intent:welcome"}, "exactly one"),
        ({"text": " \n\t "}, "text: String should have at least 1 character"),
        ({"text": "x" * (MAX_TEXT + 1)}, "text: String should have at most 2000 characters"),
        ({"payload": ""}, "payload: String should have at least 1 character"),
        ({"payload": "p" * (MAX_PAYLOAD + 1)}, "payload: String should have at most 256"),
        ({"text": ["hi"]}, "text: Input should be a valid string"),
        ({"text": "hi", "user": "admin"}, "user: unknown field"),
        ({"text": "hi", "id": "../1"}, "id: use 1 to 64 letters, digits, '_' or '-'"),
        ({"text": "hi", "id": "i" * 65}, "id: use 1 to 64"),
        ({"payload": "contact:+86 138 0013 8000"}, "cannot share a contact"),
    ],
)
def test_anything_but_one_message_is_refused_with_a_reason(body: object, says: str) -> None:
    with pytest.raises(BadMessage) as refused:
        parse(body)
    assert says in str(refused.value)


def test_a_message_becomes_this_browsers_incoming() -> None:
    incoming = to_incoming(WebMessage("hi", client_id="m1"), BROWSER, "en-GB,en;q=0.9")
    assert (incoming.channel, incoming.conversation_id, incoming.user_id) == (
        "web",
        BROWSER,
        BROWSER,
    )
    assert (incoming.text, incoming.payload, incoming.language_hint) == ("hi", None, "en-GB")
    # The client's id is scoped to its browser: two browsers may pick the same one.
    assert incoming.event_id == to_incoming(WebMessage("hi", client_id="m1"), BROWSER).event_id
    assert incoming.event_id != to_incoming(WebMessage("hi", client_id="m1"), "c" * 64).event_id
    assert to_incoming(WebMessage("hi"), BROWSER).event_id is None


def test_the_delivery_id_fits_its_column_whatever_the_ids() -> None:
    longest = to_incoming(WebMessage("hi", client_id="m" * 64), "p" * 64)
    assert longest.event_id is not None
    assert len(longest.event_id) <= 128


@pytest.mark.parametrize(
    ("header", "hint"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"),
        ("de-DE,de;q=0.9,en-US;q=0.7,zh;q=0.6", "en-US"),
        ("en;q=0.4, zh-TW;q=0.8", "zh-TW"),
        ("fr-FR,fr", None),
        ("zh;q=0, en;q=0.1", "en"),
        ("en;q=bad, zh", "zh"),
        ("", None),
        (None, None),
    ],
)
def test_the_hint_is_the_browsers_most_preferred_language_the_bot_speaks(
    header: str | None, hint: str | None
) -> None:
    assert language_hint(header) == hint


def test_a_reply_renders_as_json_without_the_phone_share_button() -> None:
    reply = Reply(
        "A phone number? <b>not markup</b>",
        (Button("Share my phone number", SHARE_PHONE), Button("Skip", "form:skip")),
        kind="form",
    )
    assert render(reply) == {
        "text": "A phone number? <b>not markup</b>",
        "buttons": [{"title": "Skip", "payload": "form:skip"}],
        "kind": "form",
    }
    assert render_all([reply, Reply("ok")])["replies"][1] == {
        "text": "ok",
        "buttons": [],
        "kind": "answer",
    }
    assert render_all([]) == {"replies": []}
