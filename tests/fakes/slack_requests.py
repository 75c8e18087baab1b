"""What Slack sends to the app, as Slack sends it: Events API envelopes, interactivity and
slash-command bodies, and the signature headers that go with them.

Event builders return the envelope dict (post `encode(envelope)`; a Socket Mode "events_api"
payload is the same dict). Interactivity and slash-command builders return the raw
form-encoded body; their `*_payload` twins return the dict a Socket Mode envelope carries.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from tests.fakes.slack_api import APP_ID, BOT_ID, BOT_USER, SIGNING_SECRET, TEAM

VERIFICATION_TOKEN = "x"  # the deprecated verification token Slack still sends
DOMAIN = "test"
FORM = "application/x-www-form-urlencoded"
NOWHERE = "http://127.0.0.1:9/respond/none"  # a response_url nobody answers (connection refused)

_counter = itertools.count(1)


def signed_headers(
    body: bytes,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
    content_type: str = "application/json",
) -> dict[str, str]:
    """The headers Slack signs a request with (`content_type=FORM` for form bodies)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    assert signature is not None
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature,
        "Content-Type": content_type,
    }


def encode(envelope: dict[str, Any]) -> bytes:
    """A JSON body as Slack posts it."""
    return json.dumps(envelope).encode()


def fresh_ts() -> str:
    """A message timestamp ("seconds.micro"), unique in this process."""
    return f"{int(time.time())}.{next(_counter) % 1_000_000:06d}"


# -- Events API -----------------------------------------------------------------------------


def envelope(event: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    """An `event_callback` envelope around `event`."""
    number = next(_counter)
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM,
        "context_team_id": TEAM,
        "context_enterprise_id": None,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{number:010d}",
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": TEAM,
                "user_id": BOT_USER,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-fake-{number}",
    }


def channel_type(channel: str) -> str:
    """The `channel_type` Slack gives a channel id."""
    return {"D": "im", "G": "group"}.get(channel[:1], "channel")


def _rich_text(text: str) -> list[dict[str, Any]]:
    section = {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}
    return [{"type": "rich_text", "block_id": "rt1", "elements": [section]}]


def _user_message(
    text: str, user: str, channel: str, ts: str | None, thread_ts: str | None
) -> dict[str, Any]:
    stamp = ts or fresh_ts()
    event: dict[str, Any] = {
        "type": "message",
        "user": user,
        "text": text,
        "blocks": _rich_text(text),
        "client_msg_id": str(uuid.uuid4()),
        "team": TEAM,
        "channel": channel,
        "event_ts": stamp,
        "ts": stamp,
        "channel_type": channel_type(channel),
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def dm(
    text: str,
    user: str = "U0001",
    channel: str = "D0001",
    ts: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """A direct message to the bot."""
    return envelope(_user_message(text, user, channel, ts, None), event_id)


def channel_message(
    text: str,
    user: str = "U0001",
    channel: str = "C0001",
    *,
    ts: str | None = None,
    thread_ts: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """A message in a channel the bot is in, not mentioning it."""
    return envelope(_user_message(text, user, channel, ts, thread_ts), event_id)


def mention(
    text: str,
    user: str = "U0001",
    channel: str = "C0001",
    *,
    ts: str | None = None,
    thread_ts: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """An `app_mention`: "<@UBOT> text" in a channel."""
    event = _user_message(f"<@{BOT_USER}> {text}", user, channel, ts, thread_ts)
    del event["channel_type"]  # app_mention events have none
    event["type"] = "app_mention"
    return envelope(event, event_id)


def bot_message(
    text: str, bot_id: str = "BOTHER", channel: str = "D0001", event_id: str | None = None
) -> dict[str, Any]:
    """A message posted by another bot."""
    stamp = fresh_ts()
    event = {
        "type": "message",
        "subtype": "bot_message",
        "text": text,
        "username": "other bot",
        "bot_id": bot_id,
        "channel": channel,
        "event_ts": stamp,
        "ts": stamp,
        "channel_type": channel_type(channel),
    }
    return envelope(event, event_id)


def own_message(text: str, channel: str = "D0001", event_id: str | None = None) -> dict[str, Any]:
    """The echo of a message this bot posted."""
    stamp = fresh_ts()
    event = {
        "type": "message",
        "user": BOT_USER,
        "bot_id": BOT_ID,
        "app_id": APP_ID,
        "text": text,
        "team": TEAM,
        "channel": channel,
        "event_ts": stamp,
        "ts": stamp,
        "channel_type": channel_type(channel),
    }
    return envelope(event, event_id)


def edited(
    text: str,
    previous: str = "",
    user: str = "U0001",
    channel: str = "D0001",
    *,
    ts: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """A `message_changed` event: the message `ts` (fresh unless given) now reads `text`."""
    original = ts or fresh_ts()
    stamp = fresh_ts()
    before = {"type": "message", "user": user, "text": previous, "team": TEAM, "ts": original}
    after = {
        **before,
        "text": text,
        "blocks": _rich_text(text),
        "edited": {"user": user, "ts": stamp},
    }
    event = {
        "type": "message",
        "subtype": "message_changed",
        "message": after,
        "previous_message": before,
        "channel": channel,
        "hidden": True,
        "event_ts": stamp,
        "ts": stamp,
        "channel_type": channel_type(channel),
    }
    return envelope(event, event_id)


def deleted(
    ts: str | None = None,
    text: str = "",
    user: str = "U0001",
    channel: str = "D0001",
    event_id: str | None = None,
) -> dict[str, Any]:
    """A `message_deleted` event for the message `ts` (fresh unless given)."""
    original = ts or fresh_ts()
    stamp = fresh_ts()
    event = {
        "type": "message",
        "subtype": "message_deleted",
        "previous_message": {
            "type": "message",
            "user": user,
            "text": text,
            "team": TEAM,
            "ts": original,
        },
        "channel": channel,
        "hidden": True,
        "deleted_ts": original,
        "event_ts": stamp,
        "ts": stamp,
        "channel_type": channel_type(channel),
    }
    return envelope(event, event_id)


def url_verification(challenge: str) -> dict[str, Any]:
    """The handshake Slack sends when the events URL is set."""
    return {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}


# -- interactivity and slash commands -------------------------------------------------------


def _channel_name(channel: str) -> str:
    return {"D": "directmessage", "G": "privategroup"}.get(channel[:1], "general")


def _trigger_id() -> str:
    return f"{next(_counter)}.{int(time.time())}.{uuid.uuid4().hex}"


def block_action_payload(
    action_id: str,
    value: str,
    user: str = "U0001",
    channel: str = "C0001",
    *,
    message_ts: str = "1700000000.000001",
    block_id: str = "b1",
    response_url: str = NOWHERE,
    container_type: str = "message",
    label: str | None = None,
    ephemeral: bool = False,
    message: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A `block_actions` payload: `user` pressed the button `action_id` on a bot message.

    `message` is the message the button was on (by default a bot message holding just that
    button); Slack leaves it out for an ephemeral message.
    """
    text = {"type": "plain_text", "text": label or value, "emoji": True}
    button = {"type": "button", "action_id": action_id, "text": text, "value": value}
    shown = message or {
        "type": "message",
        "user": BOT_USER,
        "bot_id": BOT_ID,
        "app_id": APP_ID,
        "team": TEAM,
        "text": "...",
        "ts": message_ts,
        "blocks": [{"type": "actions", "block_id": block_id, "elements": [button]}],
    }
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM},
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": {
            "type": container_type,
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": ephemeral,
        },
        "trigger_id": _trigger_id(),
        "team": {"id": TEAM, "domain": DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": _channel_name(channel)},
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": block_id,
                "text": text,
                "value": value,
                "type": "button",
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    if not ephemeral:
        payload["message"] = shown
    return payload


def block_action(
    action_id: str,
    value: str,
    user: str = "U0001",
    channel: str = "C0001",
    *,
    message_ts: str = "1700000000.000001",
    block_id: str = "b1",
    response_url: str = NOWHERE,
    container_type: str = "message",
    label: str | None = None,
    ephemeral: bool = False,
    message: dict[str, Any] | None = None,
) -> bytes:
    """The form body (`payload=<json>`) Slack posts for a button press; sign it with FORM."""
    payload = block_action_payload(
        action_id,
        value,
        user,
        channel,
        message_ts=message_ts,
        block_id=block_id,
        response_url=response_url,
        container_type=container_type,
        label=label,
        ephemeral=ephemeral,
        message=message,
    )
    return urlencode({"payload": json.dumps(payload)}).encode()


def slash_payload(
    command: str,
    text: str,
    user: str = "U0001",
    channel: str = "C0001",
    *,
    response_url: str = NOWHERE,
    trigger_id: str | None = None,
) -> dict[str, str]:
    """The fields of a slash command (all strings, as Slack sends them)."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM,
        "team_domain": DOMAIN,
        "channel_id": channel,
        "channel_name": _channel_name(channel),
        "user_id": user,
        "user_name": user.lower(),
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id or _trigger_id(),
    }


def slash(
    command: str,
    text: str,
    user: str = "U0001",
    channel: str = "C0001",
    *,
    response_url: str = NOWHERE,
    trigger_id: str | None = None,
) -> bytes:
    """The form body Slack posts for a slash command; sign it with FORM."""
    return urlencode(
        slash_payload(
            command, text, user, channel, response_url=response_url, trigger_id=trigger_id
        )
    ).encode()
