"""The Telegram translator on its own: updates in, Bot API messages out."""

from __future__ import annotations

import html
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from telegram import Update

from bot.adapters.splitting import chunks
from bot.adapters.telegram import MAX_TEXT, Identity, render, to_incoming
from bot.core.forms import SHARE_PHONE
from bot.core.messages import Button, Reply
from tests.fakes.telegram_api import BOT, message, press, sticker, user

ME = Identity(BOT["id"], BOT["username"])
GROUP = -100123


def incoming(data: dict[str, Any]) -> Any:
    return to_incoming(Update.de_json({"update_id": 7, **data}, None), ME)


def test_private_text_carries_the_update_id_and_the_language() -> None:
    got = incoming(message("你好", sender=user(language="zh-hans")))
    assert (got.text, got.event_id, got.language_hint, got.conversation_id) == (
        "你好",
        "7",
        "zh-hans",
        "777",
    )


def test_a_button_press_carries_its_payload() -> None:
    got = incoming(press("form:agree"))
    assert (got.payload, got.text, got.user_id) == ("form:agree", "", "777")


@pytest.mark.parametrize(
    ("text", "entities", "heard"),
    [
        ("how big is Lingang?", None, None),
        ("/help", [{"type": "bot_command", "offset": 0, "length": 5}], "/help"),
        (
            "@lingang_test_bot how big?",
            [{"type": "mention", "offset": 0, "length": 17}],
            "how big?",
        ),
        (
            "ask @Lingang_Test_Bot please",
            [{"type": "mention", "offset": 4, "length": 17}],
            "ask  please",
        ),
        ("@someone_else how big?", [{"type": "mention", "offset": 0, "length": 13}], None),
    ],
)
def test_in_groups_only_commands_mentions_and_replies_are_heard(
    text: str, entities: list[dict[str, Any]] | None, heard: str | None
) -> None:
    extra = {"entities": entities} if entities else {}
    got = incoming(message(text, chat=GROUP, **extra))
    assert (got.text if got else None) == heard
    if got:
        assert (got.conversation_id, got.user_id) == (str(GROUP), "777")


def test_a_reply_to_the_bot_in_a_group_is_heard() -> None:
    original = {
        "message_id": 9,
        "date": 0,
        "chat": {"id": GROUP, "type": "supergroup"},
        "from": BOT,
        "text": "hi",
    }
    got = incoming(message("and the tax rate?", chat=GROUP, reply_to_message=original))
    assert got is not None
    assert got.text == "and the tax rate?"


def test_stickers_and_edits_get_the_polite_reply_payload_and_bots_are_ignored() -> None:
    assert incoming(sticker()).payload == "unsupported:sticker"
    edited = {"edited_message": message("typo fixed")["message"]}
    assert incoming(edited).payload == "unsupported:edited"
    assert incoming(message("beep", sender={**BOT, "id": 99})) is None
    group_sticker = sticker()
    group_sticker["message"]["chat"] = {"id": GROUP, "type": "supergroup"}
    assert incoming(group_sticker) is None, "in a group, only what is addressed to the bot"


def test_only_the_senders_own_contact_is_taken_as_their_phone() -> None:
    own = message("", contact={"phone_number": "8613800138000", "first_name": "A", "user_id": 777})
    del own["message"]["text"]
    assert incoming(own).payload == "contact:+8613800138000"
    other = message("", contact={"phone_number": "4930123456", "first_name": "B", "user_id": 555})
    del other["message"]["text"]
    assert incoming(other).payload == "unsupported:other"


def test_text_is_escaped_for_html() -> None:
    [sent] = render(Reply('<b>Acme</b> & "Co"'))
    assert sent.text == '&lt;b&gt;Acme&lt;/b&gt; &amp; "Co"'
    assert sent.body()["parse_mode"] == "HTML"


def test_buttons_become_inline_keys_of_at_most_64_bytes_whatever_the_label() -> None:
    reply = Reply("?", (Button("和顾问谈谈" * 20, "form:start"), Button("x", "intent:" + "a" * 60)))
    [sent] = render(reply)
    keyboard = sent.body()["reply_markup"]["inline_keyboard"]
    assert keyboard == [[{"text": "和顾问谈谈" * 20, "callback_data": "form:start"}]]


def test_the_phone_question_offers_a_one_tap_share_then_removes_it() -> None:
    [ask] = render(
        Reply(
            "Your phone?",
            (Button("Share my phone number", SHARE_PHONE), Button("Skip", "form:skip")),
        )
    )
    keyboard = ask.body()["reply_markup"]
    assert keyboard["keyboard"][0] == [{"text": "Share my phone number", "request_contact": True}]
    assert keyboard["one_time_keyboard"] is True
    [noted] = render(Reply("Noted.", releases="keyboard"))
    assert noted.body()["reply_markup"] == {"remove_keyboard": True}


def test_a_long_reply_is_split_at_paragraphs_with_the_buttons_on_the_last_piece() -> None:
    paragraphs = [f"Paragraph {n}. " + "word " * 300 for n in range(8)]
    pieces = render(Reply("\n\n".join(paragraphs), (Button("More", "intent:x"),)))
    assert len(pieces) > 1
    assert all(len(p.text) <= MAX_TEXT for p in pieces)
    assert all(p.text.startswith("Paragraph") for p in pieces)
    assert [p.markup is not None for p in pieces] == [False] * (len(pieces) - 1) + [True]


def test_an_escape_is_never_cut_in_two() -> None:
    pieces = render(Reply("&" * 5000))
    assert all(len(p.text) <= MAX_TEXT for p in pieces)
    assert "".join(html.unescape(p.text) for p in pieces) == "&" * 5000


@given(st.text(alphabet=st.sampled_from("ab &<\n"), max_size=3000), st.integers(10, 200))
def test_chunks_keep_every_character_but_the_whitespace_at_cuts(text: str, limit: int) -> None:
    pieces = chunks(html.escape(text, quote=False), limit)
    assert all(len(p) <= limit for p in pieces)
    joined = "".join(html.unescape(p) for p in pieces)
    assert "".join(joined.split()) == "".join(text.split())
