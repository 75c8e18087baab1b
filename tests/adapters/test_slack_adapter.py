"""The Slack translators on their own: events in, Block Kit out, and the sales desk cards."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bot.adapters.slack import (
    MAX_ACTIONS,
    Identity,
    action_to_incoming,
    command_to_incoming,
    escape,
    event_to_incoming,
    pressed,
    render,
)
from bot.adapters.slack_desk import after_action, gone, lead_list, notification
from bot.core.forms import SHARE_PHONE
from bot.core.messages import Button, Reply
from bot.core.records import Lead
from intents.catalog import load_catalog
from tests.fakes.slack_requests import (
    block_action_payload,
    deleted,
    dm,
    edited,
    mention,
    slash_payload,
)

ME = Identity("UBOT", "BBOT")
CATALOG = load_catalog()
T = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)


def test_escape_leaves_no_link_mention_or_markup_syntax() -> None:
    assert (
        escape("<!channel> <https://x|y> & co") == "&lt;!channel&gt; &lt;https://x|y&gt; &amp; co"
    )


def test_a_mention_is_answered_in_its_thread_without_the_mention() -> None:
    translated = event_to_incoming(mention("how big?", ts="17.1")["event"], ME)
    assert translated is not None
    incoming, place = translated
    assert (incoming.text, place.channel, place.thread_ts) == ("how big?", "C0001", "17.1")
    reply_in_thread = mention("and tax?", ts="17.5", thread_ts="17.1")["event"]
    again = event_to_incoming(reply_in_thread, ME)
    assert again is not None
    assert again[0].conversation_id == incoming.conversation_id == "C0001/17.1"


def test_edits_deletions_and_channel_chatter_are_not_for_the_bot() -> None:
    assert event_to_incoming(edited("x")["event"], ME) is None
    assert event_to_incoming(deleted()["event"], ME) is None
    chatter = dm("hello", channel="C0002")["event"] | {"channel_type": "channel"}
    assert event_to_incoming(chatter, ME) is None


def test_the_bots_commands_are_typed_without_the_slash() -> None:
    commands = frozenset({"mydata", "lang", "help"})

    def text_of(said: str) -> str:
        translated = event_to_incoming(dm(said)["event"], ME, commands)
        assert translated is not None
        return translated[0].text

    assert text_of("mydata") == "/mydata"
    assert text_of("Lang zh") == "/lang zh"
    assert text_of("help me find the tax rate for chips") == "help me find the tax rate for chips"
    assert text_of("what is mydata") == "what is mydata"


def test_a_file_without_text_gets_the_polite_reply() -> None:
    event = dm("")["event"] | {"subtype": "file_share", "files": [{"id": "F1"}]}
    translated = event_to_incoming(event, ME)
    assert translated is not None
    assert translated[0].payload == "unsupported:file"


def test_presses_on_private_answers_stay_private() -> None:
    payload = block_action_payload("lingang:0", "intent:help", ephemeral=True)
    translated = action_to_incoming(payload)
    assert translated is not None
    incoming, place = translated
    assert (incoming.payload, place.private_to) == ("intent:help", "U0001")
    asked, where = command_to_incoming(slash_payload("/lingang", "how big?"))
    assert asked.conversation_id == incoming.conversation_id == where.conversation_id


def test_buttons_over_slacks_limit_are_split_across_blocks_and_phone_sharing_is_dropped() -> None:
    buttons = tuple(Button(f"Option {n}", f"intent:o{n}") for n in range(30))
    [message] = render(Reply("Pick one", (*buttons, Button("Share my phone", SHARE_PHONE))))
    actions = [b for b in message.blocks if b["type"] == "actions"]
    assert [len(b["elements"]) for b in actions] == [MAX_ACTIONS, 5]
    ids = [e["action_id"] for b in actions for e in b["elements"]]
    assert len(set(ids)) == 30
    assert SHARE_PHONE not in json.dumps(message.blocks, ensure_ascii=False)


def test_a_pressed_message_keeps_its_text_and_loses_its_buttons() -> None:
    [message] = render(Reply("Where?", (Button("Size", "intent:size"),)))
    after = pressed(message.blocks, "<@U1> chose: Size")
    assert [b["type"] for b in after] == ["section", "context"]


def lead(**changes: object) -> Lead:
    answers = {
        "name": "Ann <b>",
        "company": "Acme",
        "email": "ann@acme.de",
        "interest": "ic_industry",
    }
    base = Lead(7, "telegram", "777", "777", "en", 1, "new", 80, T, T, answers, "quote?", "expo")
    return Lead(**{**{f: getattr(base, f) for f in Lead.__dataclass_fields__}, **changes})  # type: ignore[arg-type]


def test_a_lead_card_shows_the_answers_escaped_and_four_buttons() -> None:
    card = notification(lead(), CATALOG.sales, CATALOG.lead_form, "lead_created")
    shown = json.dumps(card.blocks, ensure_ascii=False)
    assert "New lead #7 · score 80" in card.text
    assert "Ann &lt;b&gt;" in shown
    assert "IC" in shown  # the interest's label, not its key
    assert "Asked: quote?" in shown
    assert [e["action_id"] for e in card.blocks[-1]["elements"]] == [
        "sales:claim", "sales:contacted", "sales:qualified", "sales:lost",
    ]  # fmt: skip


def test_after_a_press_the_card_says_who_did_what_and_keeps_its_buttons() -> None:
    card = notification(lead(), CATALOG.sales, CATALOG.lead_form, "lead_created")
    claimed = after_action(card.blocks, lead(owner="slack:U9"), CATALOG.sales, "claim", "U9")
    moved = after_action(claimed, lead(owner="slack:U9", status="qualified"), CATALOG.sales,
                         "qualified", "U8")  # fmt: skip
    text = json.dumps(moved, ensure_ascii=False)
    assert "<@U9> claimed this lead" in text
    assert "<@U8> marked it qualified" in text
    assert "Status: *qualified* · owner: <@U9>" in text
    assert moved[-1]["type"] == "actions"
    assert gone(moved, 7, CATALOG.sales)[-1]["elements"][0]["text"].startswith("Lead #7 no longer")


def test_the_lead_list_has_a_line_per_lead() -> None:
    listing = lead_list([lead(), lead(id=8, status="lost")], CATALOG.sales)
    text = json.dumps(listing.blocks, ensure_ascii=False)
    assert "Latest leads (2)" in listing.text
    assert "*#7* · new · score 80 · Ann &lt;b&gt;, Acme" in text
    assert "*#8* · lost" in text
    assert "No leads match" in lead_list([], CATALOG.sales).text
