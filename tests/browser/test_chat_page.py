"""The chat page in Chromium: a question answered, a whole lead taken by buttons and typing."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

from bot.core.records import LeadFilter
from tests.browser.conftest import LiveSite, shot


def conversation(page: Page) -> Locator:
    return page.get_by_role("list", name="Conversation")


def send(page: Page, text: str) -> None:
    """Type a message and send it with Enter, as a person would."""
    box = page.get_by_label("Your message")
    box.fill(text)
    box.press("Enter")


def choose(page: Page, title: str) -> None:
    """Press the pressable button `title` of the latest reply that offers it."""
    conversation(page).locator(".choices button:enabled", has_text=title).last.click()


def test_a_question_typed_in_the_page_is_answered(page: Page) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", name="Ask about Lingang")).to_be_visible()
    send(page, "where is Lingang?")
    expect(conversation(page).locator("li.user").last).to_have_text("where is Lingang?")
    expect(conversation(page).locator("li.bot").last).to_contain_text("Pudong")
    expect(page.get_by_label("Your message")).to_have_value("")
    page.reload()  # the conversation so far comes back
    expect(conversation(page).locator("li.user", has_text="where is Lingang?")).to_have_count(1)


def test_a_lead_is_completed_through_the_page(page: Page, live_site: LiveSite) -> None:
    page.goto("/")
    log = conversation(page)
    send(page, "I want to talk to a consultant")
    choose(page, "I agree")
    expect(log.get_by_role("button", name="I agree")).to_be_disabled()  # buttons answer once
    expect(log.get_by_role("button", name="No, thanks")).to_be_disabled()
    expect(log).to_contain_text("What is your name?")
    for answer, next_prompt in (
        ("Bo Browser", "Which company do you work for?"),
        ("Chromium Test Ltd", "What email address should the consultant write to?"),
        ("bo@chromium-test.example", "Which country are you"),
        ("Singapore", "A phone number with country code"),
    ):
        send(page, answer)
        expect(log).to_contain_text(next_prompt)
    expect(log.get_by_role("button", name="Share my phone number")).to_have_count(0)
    choose(page, "Skip")
    expect(log).to_contain_text("What are you most interested in?")
    choose(page, "IC industry")
    expect(log).to_contain_text("When are you planning to start?")
    choose(page, "Within 3 months")
    expect(log).to_contain_text("Anything else the consultant should know?")
    send(page, "A fab visit in spring, please.")
    expect(log).to_contain_text("Please check your details")
    expect(log).to_contain_text("bo@chromium-test.example")
    choose(page, "Confirm")
    expect(log.locator("li.bot").last).to_contain_text("Thank you, Bo Browser!")
    expect(page.locator("#chat-error")).to_be_hidden()
    shot(page, "chat")

    leads = [
        lead
        for lead in live_site.app.storage.leads.find(LeadFilter())
        if lead.answer("email") == "bo@chromium-test.example"
    ]
    assert len(leads) == 1
    [lead] = leads
    assert (lead.channel, lead.name, lead.answer("interest")) == (
        "web",
        "Bo Browser",
        "ic_industry",
    )
    assert lead.answer("note") == "A fab visit in spring, please."


def test_a_refused_message_is_explained_in_the_page_and_kept_for_resending(page: Page) -> None:
    """What the server says on 429 (here answered at the network edge) reaches the person."""
    page.route(
        "**/chat/messages",
        lambda route: route.fulfill(
            status=429,
            headers={"Retry-After": "42"},
            json={"detail": "too many messages; please wait 42 seconds and send it again"},
        ),
    )
    page.goto("/")
    send(page, "where is Lingang?")
    expect(page.get_by_role("alert")).to_have_text(
        "too many messages; please wait 42 seconds and send it again"
    )
    expect(conversation(page).locator("li.user.failed")).to_have_text("where is Lingang?")
    expect(page.get_by_label("Your message")).to_have_value("where is Lingang?")
