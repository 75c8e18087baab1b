"""Fuzzing the platforms' webhooks through the app: Telegram updates with the webhook secret,
Slack events, button presses, slash commands and view submissions, signed (and not)."""

from __future__ import annotations

from tests.fuzz.checks import check_target
from tests.fuzz.site import FuzzSite
from tests.fuzz.targets import Target


def test_telegram_updates_get_no_500_and_log_no_error(
    site: FuzzSite, by_name: dict[str, Target]
) -> None:
    check_target(site, by_name["telegram"], examples=60)


def test_slack_requests_get_no_500_and_log_no_error(
    site: FuzzSite, by_name: dict[str, Target]
) -> None:
    check_target(site, by_name["slack"], examples=60)


def test_unsigned_junk_to_slack_is_refused_with_a_4xx(
    site: FuzzSite, by_name: dict[str, Target]
) -> None:
    check_target(site, by_name["slack junk"], examples=30)
