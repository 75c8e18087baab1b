"""A prospect in a Slack DM handed to a consultant in the sales channel's thread and back, end
to end through the app (both sides on the same Slack app)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.channels.handoff_site import (
    REP,
    REP_NAME,
    SALES,
    Site,
    catalog_with_hours,
    fakes,
    fast_loop,
    running_site,
    settings_for,
    wait_until,
)
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.slack_requests import dm, mention
from tests.fakes.telegram_api import FakeBotApi

__all__ = ["fakes", "fast_loop"]  # fixtures
PROSPECT = "U0001"
DM = "D0001"


@pytest.fixture
def site(fakes: tuple[FakeBotApi, FakeSlackApi], fast_loop: None, tmp_path: Path) -> Iterator[Site]:
    tg, sl = fakes
    catalog = catalog_with_hours(tmp_path, open_=True)
    with running_site(settings_for(tmp_path / "data", catalog, tg, sl), tg, sl) as running:
        yield running


def in_dm(site: Site) -> list[str]:
    return [str(p["text"]) for p in site.slack.sent() if p.get("channel") == DM]


def dm_wait(site: Site, words: str) -> str:
    return str(
        wait_until(lambda: next((t for t in in_dm(site) if words in t), None), what=f"DM {words!r}")
    )


def test_a_slack_dm_prospect_reaches_a_consultant_and_back(site: Site) -> None:
    site.slack_post(dm("I want to talk to a person", user=PROSPECT, channel=DM))
    dm_wait(site, "consultant")
    ts, post = site.opening()
    assert "· slack ·" in str(post["blocks"])
    site.press("handoff:take", ts)
    dm_wait(site, f"{REP_NAME} from our team has joined")
    before = len(in_dm(site))
    site.slack_post(dm("Do you help with visas?", user=PROSPECT, channel=DM))
    site.thread_wait(ts, "Do you help with visas?")
    site.rep_says(ts, "Yes, we do.")
    assert dm_wait(site, "Yes, we do.") == f"{REP_NAME}: Yes, we do."
    assert in_dm(site)[before:] == [f"{REP_NAME}: Yes, we do."], "the bot said nothing"
    site.rep_says(ts, "done")
    dm_wait(site, "has ended the chat")


def test_a_mention_of_the_bot_in_a_sales_thread_is_not_answered_as_a_prospect(site: Site) -> None:
    site.slack_post(dm("I want to talk to a person", user=PROSPECT, channel=DM))
    dm_wait(site, "consultant")
    ts, _ = site.opening()
    site.press("handoff:take", ts)
    dm_wait(site, f"{REP_NAME} from our team has joined")
    site.slack_post(mention("what do you know about Lingang?", REP, SALES, thread_ts=ts))
    site.rep_says(ts, "note: checking")
    site.rep_says(ts, "One moment please.")
    dm_wait(site, "One moment please.")
    in_thread = [str(p.get("text")) for p in site.thread_posts(ts)]
    # Only the desk's own notice is in the thread: no bot answer to the mention.
    assert in_thread == [f"<@{REP}> took it."]
