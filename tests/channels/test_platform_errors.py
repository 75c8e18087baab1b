"""What a failed Telegram or Slack API call counts as in `lingang_platform_api_errors_total`
(the calls themselves fail against the fake APIs in tests/web/test_metrics.py)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.slack_response import SlackResponse
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

from bot.channels import slack, telegram


def network_error() -> NetworkError:
    """A NetworkError as python-telegram-bot raises it for a failed connection."""
    error = NetworkError("httpx.ConnectError: refused")
    error.__cause__ = httpx.ConnectError("refused")
    return error


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (RetryAfter(timedelta(seconds=3)), "rate_limited"),
        (BadRequest("Bad Request: chat not found"), "refused"),
        (Forbidden("Forbidden: bot was blocked by the user"), "refused"),
        (NetworkError("Internal Server Error"), "server_error"),
        (TimedOut(), "network"),
        (network_error(), "network"),
    ],
)
def test_telegram_failures_are_told_apart(error: TelegramError, reason: str) -> None:
    assert telegram.failure_reason(error) == reason


def slack_error(status: int) -> SlackApiError:
    response = SlackResponse(
        client=None,
        http_verb="POST",
        api_url="https://slack.com/api/chat.postMessage",
        req_args={},
        data={"ok": False, "error": "some_error"},
        headers={},
        status_code=status,
    )
    return SlackApiError("failed", response)


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (slack_error(429), "rate_limited"),
        (slack_error(500), "server_error"),
        (slack_error(503), "server_error"),
        (slack_error(200), "refused"),  # "ok": false, e.g. channel_not_found
        (ConnectionResetError(), "network"),
    ],
)
def test_slack_failures_are_told_apart(error: Exception, reason: str) -> None:
    assert slack.failure_reason(error) == reason
