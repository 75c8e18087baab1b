"""Which conversations the adapters call private, and the link to the bot's own chat they give
with every message (the engine refuses a person's data and the form elsewhere)."""

from __future__ import annotations

from typing import Any

import pytest
from telegram import Update

from bot.adapters import console, slack, telegram, web
from tests.fakes.slack_api import APP_ID, TEAM
from tests.fakes.slack_requests import block_action_payload, dm, mention, slash_payload
from tests.fakes.telegram_api import message, press

ME = telegram.Identity(4242, "lingang_test_bot")  # the fake Bot API's getMe
SLACK_ME = slack.Identity("UBOT", "BBOT")
GROUP = -100123
SLACK_LINK = f"https://slack.com/app_redirect?app={APP_ID}&team={TEAM}"


def from_slack(event_body: dict[str, Any], *, envelope: bool = True) -> tuple[Any, Any]:
    """The `Incoming` and place of an Events API body (`envelope`: given the body around the
    event, as the listener does)."""
    around = event_body if envelope else None
    translated = slack.event_to_incoming(
        event_body["event"], SLACK_ME, frozenset({"mydata"}), around
    )
    assert translated is not None
    return translated


def from_telegram(data: dict[str, Any], me: telegram.Identity = ME) -> Any:
    return telegram.to_incoming(Update.de_json({"update_id": 7, **data}, None), me)


def in_group(update: dict[str, Any], kind: str = "supergroup") -> dict[str, Any]:
    """`update` (a message or a press) as it comes from a group chat."""
    shown = update["callback_query"]["message"] if "callback_query" in update else update["message"]
    shown["chat"] = {"id": GROUP, "type": kind}
    return update


# -- Telegram -------------------------------------------------------------------------------


def test_a_private_chat_is_private_and_links_to_the_bot() -> None:
    got = from_telegram(message("/mydata"))
    assert (got.private, got.direct_link) == (True, "https://t.me/lingang_test_bot")


@pytest.mark.parametrize("kind", ["group", "supergroup"])
def test_a_group_message_or_press_is_not_private(kind: str) -> None:
    typed = from_telegram(in_group(message("/mydata"), kind))
    pressed = from_telegram(in_group(press("form:agree"), kind))
    assert (typed.private, pressed.private) == (False, False)
    assert typed.direct_link == pressed.direct_link == "https://t.me/lingang_test_bot"
    assert typed.conversation_id == pressed.conversation_id == str(GROUP)


def test_a_press_whose_message_is_gone_is_answered_in_the_persons_own_chat() -> None:
    update = press("form:agree")
    del update["callback_query"]["message"]
    got = from_telegram(update)
    assert (got.private, got.conversation_id, got.user_id) == (True, "777", "777")


def test_a_group_command_for_another_bot_is_not_ours() -> None:
    assert from_telegram(in_group(message("/mydata@some_other_bot"))) is None
    ours = from_telegram(in_group(message("/mydata@Lingang_Test_Bot")))
    assert ours is not None
    assert ours.text == "/mydata@Lingang_Test_Bot"


def test_no_link_before_the_bot_knows_its_username() -> None:
    got = from_telegram(message("/mydata"), telegram.Identity(0, ""))
    assert got.direct_link is None


# -- Slack ----------------------------------------------------------------------------------


def test_a_direct_message_is_private_and_links_to_the_app() -> None:
    incoming, _ = from_slack(dm("mydata"))
    assert (incoming.text, incoming.private, incoming.direct_link) == ("/mydata", True, SLACK_LINK)


def test_a_mention_in_a_channel_is_not_private() -> None:
    incoming, place = from_slack(mention("mydata"))
    assert (incoming.text, incoming.private, incoming.direct_link) == ("/mydata", False, SLACK_LINK)
    assert place.thread_ts is not None


def test_without_the_events_body_there_is_no_link() -> None:
    incoming, _ = from_slack(mention("mydata"), envelope=False)
    assert (incoming.private, incoming.direct_link) == (False, None)


@pytest.mark.parametrize(
    ("channel", "ephemeral", "private"),
    [
        ("D0001", False, True),
        ("D0001", True, True),
        ("C0001", False, False),
        ("C0001", True, False),  # under a /lingang answer in a channel
        ("G0001", False, False),
    ],
)
def test_a_press_is_private_in_a_direct_message_only(
    channel: str, ephemeral: bool, private: bool
) -> None:
    body = block_action_payload("lingang:0", "form:agree", channel=channel, ephemeral=ephemeral)
    translated = slack.action_to_incoming(body)
    assert translated is not None
    incoming, _ = translated
    assert (incoming.private, incoming.direct_link) == (private, SLACK_LINK)


@pytest.mark.parametrize(("channel", "private"), [("D0001", True), ("C0001", False)])
def test_lingang_is_private_in_a_direct_message_only(channel: str, private: bool) -> None:
    incoming, place = slack.command_to_incoming(
        slash_payload("/lingang", "mydata", channel=channel)
    )
    assert (incoming.private, incoming.direct_link) == (private, SLACK_LINK)
    assert place.private_to == "U0001", "answered ephemerally either way"


@pytest.mark.parametrize(
    ("app", "team", "link"),
    [
        (APP_ID, TEAM, SLACK_LINK),
        (APP_ID, None, f"https://slack.com/app_redirect?app={APP_ID}"),
        (None, TEAM, None),
        ("A1&team=T666", TEAM, None),
        (APP_ID, "T1 x", f"https://slack.com/app_redirect?app={APP_ID}"),
    ],
)
def test_the_slack_link_takes_only_slack_ids(app: str | None, team: str | None, link: str) -> None:
    assert slack.direct_link(app, team) == link


# -- the web chat and the terminal: one person each -------------------------------------------


def test_the_web_chat_and_the_terminal_are_private() -> None:
    assert web.to_incoming(web.parse({"text": "/mydata"}), "conv-1").private
    assert console.to_incoming(console.Session("me"), "/mydata").private
