"""slack-manifest.yml asks for exactly what the code uses: its commands, events, scopes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bot.channels.slack import COMMANDS, EVENTS

MANIFEST: dict[str, Any] = yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "slack-manifest.yml").read_text(encoding="utf-8")
)
# Why each scope is needed: the events we subscribe to and the Web API methods we call.
NEEDED = {
    "app_mentions:read": "app_mention events",
    "im:history": "message.im events",
    "chat:write": "chat.postMessage, chat.update",
    "commands": "the slash commands",
    "channels:read": "conversations.members of a public sales channel",
    "groups:read": "conversations.members of a private sales channel",
    "usergroups:read": "usergroups.users.list",
}


def test_the_manifest_declares_the_commands_and_events_the_code_handles() -> None:
    commands = MANIFEST["features"]["slash_commands"]
    assert tuple(c["command"] for c in commands) == COMMANDS
    assert tuple(MANIFEST["settings"]["event_subscriptions"]["bot_events"]) == EVENTS
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
