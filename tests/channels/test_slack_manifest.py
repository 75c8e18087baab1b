"""slack-manifest.yml asks for exactly what the code uses: its commands, events, scopes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bot.channels.slack import COMMANDS, EVENTS
from bot.channels.slack_handoff import EVENTS as THREAD_EVENTS

MANIFEST: dict[str, Any] = yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "slack-manifest.yml").read_text(encoding="utf-8")
)
# Why each scope is needed: the events we subscribe to and the Web API methods we call.
NEEDED = {
    "app_mentions:read": "app_mention events",
    "im:history": "message.im events",
    "chat:write": "chat.postMessage, chat.update, chat.delete, chat.postEphemeral",
    "commands": "the slash commands",
    "channels:read": "conversations.members of a public sales channel",
    "groups:read": "conversations.members of a private sales channel",
    "usergroups:read": "usergroups.users.list",
    "channels:history": "message.channels events (handoff threads)",
    "groups:history": "message.groups events (handoff threads, private channel)",
    "users:read": "users.info (the consultant's display name)",
}


def test_the_manifest_declares_the_commands_and_events_the_code_handles() -> None:
    commands = MANIFEST["features"]["slash_commands"]
    assert tuple(c["command"] for c in commands) == COMMANDS
    events = tuple(MANIFEST["settings"]["event_subscriptions"]["bot_events"])
    assert events == EVENTS + THREAD_EVENTS
    assert MANIFEST["settings"]["interactivity"]["is_enabled"] is True


def test_every_request_url_is_the_one_route_of_the_app() -> None:
    urls = [c["url"] for c in MANIFEST["features"]["slash_commands"]]
    urls += [
        MANIFEST["settings"]["event_subscriptions"]["request_url"],
        MANIFEST["settings"]["interactivity"]["request_url"],
    ]
    assert all(url.startswith("https://") and url.endswith("/slack/events") for url in urls)


def test_the_manifest_asks_for_exactly_the_scopes_used() -> None:
    assert sorted(MANIFEST["oauth_config"]["scopes"]["bot"]) == sorted(NEEDED)
    assert "user" not in MANIFEST["oauth_config"]["scopes"], "no user token is used"
