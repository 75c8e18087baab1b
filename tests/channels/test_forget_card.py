"""/forget also removes the prospect's lead card from the Slack sales channel: the whole site
(webhook in, the outbox posting the card, the relay deleting it) against the fake APIs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.core.records import LeadFilter
from bot.web import app as web_app
from tests.channels.handoff_site import (
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
from tests.fakes.telegram_api import FakeBotApi

__all__ = ["fakes", "fast_loop"]  # fixtures


@pytest.fixture
def site(
    fakes: tuple[FakeBotApi, FakeSlackApi],
    fast_loop: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Site]:
    monkeypatch.setattr(web_app, "OUTBOX_INTERVAL", 0.1)  # the card goes out at once
    tg, sl = fakes
    catalog = catalog_with_hours(tmp_path, open_=True)
    with running_site(settings_for(tmp_path / "data", catalog, tg, sl), tg, sl) as running:
        yield running


def leave_a_lead(site: Site) -> None:
    """The prospect fills in and confirms the lead form on Telegram."""
    site.prospect_says("I'd like a quote")
    site.prospect_presses("form:agree")
    for answer in ("Ann Lee", "Acme GmbH", "ann@acme.de", "Germany", "+49 30 12345678"):
        site.prospect_says(answer)
    site.prospect_presses("form:choose:company_setup")
    site.prospect_presses("form:choose:within_3_months")
    site.prospect_says("no")
    site.prospect_presses("form:confirm")
    site.telegram_wait("Thank you, Ann Lee")


def test_forget_deletes_the_lead_card_in_the_sales_channel(site: Site) -> None:
    leave_a_lead(site)
    [lead] = site.app.leads.find(LeadFilter())
    channel, ts = wait_until(lambda: site.app.storage.leads.card(lead.id), what="the card")
    assert channel == SALES
    assert "ann@acme.de" in str(site.slack.message(SALES, ts))
    site.prospect_says("/forget")
    site.telegram_wait("cannot be undone")
    site.prospect_presses("privacy:erase")
    site.telegram_wait("Done: erased")
    wait_until(
        lambda: any(str(p["ts"]) == ts for p in site.slack.sent("chat.delete")),
        what="chat.delete of the card",
    )
    left = [m for (c, _), m in site.slack.messages.items() if c == SALES]
    assert not any("ann@acme.de" in str(m) for m in left), "no copy of the card is left"


def test_a_press_keeps_its_place_before_the_next_message_while_telegram_is_slow(
    site: Site,
) -> None:
    # Each press's spinner is stopped by a slow answerCallbackQuery: the message typed right
    # after a press must still be handled after it (the form's answers arrive in order).
    site.telegram.fail_next("answerCallbackQuery", "slow", times=10)
    leave_a_lead(site)
    [lead] = site.app.leads.find(LeadFilter())
    assert (lead.answer("name"), lead.answer("company")) == ("Ann Lee", "Acme GmbH")
