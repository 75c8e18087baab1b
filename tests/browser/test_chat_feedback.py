"""👍/👎 under answers in the chat page, in Chromium: small, side by side under the answer; a
press keeps the choice shown, sends the payload and is kept as feedback."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from sqlalchemy import select

from storage.models import ConversationEventRow
from tests.browser.conftest import LiveSite
from tests.browser.test_chat_page import conversation, send


def ratings(live_site: LiveSite, answer_key: str) -> list[str | None]:
    """The feedback kept for the answer `answer_key`, oldest first."""
    query = (
        select(ConversationEventRow.outcome)
        .where(
            ConversationEventRow.kind == "feedback", ConversationEventRow.answer_key == answer_key
        )
        .order_by(ConversationEventRow.id)
    )
    with live_site.app.storage.database.transaction() as session:
        return list(session.scalars(query))


def test_an_answer_offers_thumbs_side_by_side_and_a_thumb_up_is_kept(
    page: Page, live_site: LiveSite
) -> None:
    page.goto("/")
    log = conversation(page)
    send(page, "how big is Lingang?")
    expect(log.locator("li.bot").last).to_contain_text("119.5 km²")
    answer = log.locator("li.bot").nth(log.locator("li.bot").count() - 1)  # stays this one
    rating = answer.get_by_role("group", name="Rate this answer")
    up, down = rating.get_by_role("button", name="👍"), rating.get_by_role("button", name="👎")
    expect(up).to_be_visible()
    expect(down).to_be_visible()
    up_box, down_box = up.bounding_box(), down.bounding_box()
    assert up_box is not None
    assert down_box is not None
    assert abs(up_box["y"] - down_box["y"]) < 2  # one row
    assert up_box["x"] < down_box["x"]
    assert up_box["height"] < 36  # compact
    assert answer.locator(".choices").get_by_role("button", name="👍").count() == 0
    users = log.locator("li.user").count()
    key = str(up.get_attribute("data-payload")).removeprefix("fb:up:")

    up.click()
    expect(log.locator("li.bot").last).to_have_text("Thanks for letting us know!")
    expect(up).to_be_disabled()
    expect(up).to_have_class("secondary chosen")
    expect(down).to_be_hidden()
    expect(log.locator("li.user")).to_have_count(users)  # no bubble of its own
    expect(page.locator("#chat-error")).to_be_hidden()
    assert ratings(live_site, key) == ["up"]


def test_a_thumb_down_asks_what_was_missing_and_offers_a_person(
    page: Page, live_site: LiveSite
) -> None:
    page.goto("/")
    log = conversation(page)
    send(page, "where is Lingang?")
    expect(log.locator("li.bot").last).to_contain_text("Pudong")
    answer = log.locator("li.bot").nth(log.locator("li.bot").count() - 1)
    down = answer.get_by_role("group", name="Rate this answer").get_by_role("button", name="👎")
    key = str(down.get_attribute("data-payload")).removeprefix("fb:down:")
    down.click()
    expect(log.locator("li.bot").last).to_contain_text("Sorry that didn't help.")
    expect(answer.get_by_role("button", name="👍")).to_be_hidden()
    expect(down).to_be_disabled()
    assert ratings(live_site, key) == ["down"]
