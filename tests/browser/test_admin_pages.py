"""The admin console in Chromium: testing a question, turning an unanswered question into an
example the bot answers with at once, users and the audit log."""

from __future__ import annotations

from uuid import uuid4

from playwright.sync_api import Page, expect

from bot.core.messages import Incoming
from tests.browser.conftest import SCREENSHOTS, LiveSite, log_in, shot
from tests.browser.test_chat_page import conversation, send

TARGET = "lingang_location"


def test_the_test_box_shows_what_the_bot_would_answer(page: Page, live_site: LiveSite) -> None:
    log_in(page, live_site, "admin")
    page.goto("/admin/intents")
    form = page.locator("#test-form")
    form.get_by_label("Question", exact=True).fill("how big is lingang")
    form.get_by_role("button", name="Test").click()

    expect(page).to_have_url(f"{live_site.url}/admin/intents/test?q=how+big+is+lingang&lang=")
    result = page.locator("#test-result")
    expect(result.locator("dd.outcome")).to_have_text("answered")
    expect(result.locator("dd.matched")).to_have_text("lingang_area")
    answer = live_site.app.knowledge.current.catalog.intent("lingang_area").answer.en
    expect(result).to_contain_text(answer.split("\n")[0][:60])
    expect(form.get_by_label("Question", exact=True)).to_have_value("how big is lingang")
    # the whole catalog below makes a full-page picture of megabytes: the test box is on top
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "admin-intents.png"))


def test_an_unanswered_question_becomes_an_example_answered_at_once(
    page: Page, live_site: LiveSite
) -> None:
    question = f"is there a kayak club called {uuid4().hex[:8]} near the harbour"
    [reply] = live_site.app.engine.handle(Incoming("web", f"q-{question}", "visitor", question))
    assert reply.kind == "fallback"
    email = log_in(page, live_site, "admin")

    page.goto("/admin/questions")
    group = page.locator("section.card.group").filter(
        has=page.get_by_role("heading", name=question, exact=True)
    )
    expect(group).to_have_count(1)
    expect(group.locator(".count")).to_have_text("1")
    shot(page, "admin-questions")

    form = group.locator(".add-example")
    expect(form.get_by_label("Example text")).to_have_value(question)
    form.locator("select[name=lang]").select_option("en")
    form.locator("select[name=intent]").select_option(TARGET)
    form.get_by_role("button", name="Add example").click()

    expect(page.get_by_role("status")).to_contain_text(f"Added as an example of {TARGET}")
    expect(page.get_by_role("heading", name=question, exact=True)).to_have_count(0)
    examples = live_site.app.knowledge.current.catalog.intent(TARGET).examples.en
    assert question in examples
    revision = live_site.app.catalog.revision  # a new revision in the database...
    assert revision is not None
    assert revision.touches(TARGET)
    assert question in "".join(live_site.app.catalog.files().values())
    shipped = live_site.app.settings.intents_dir  # ...the files shipped stay as they were
    assert question not in "".join(p.read_text("utf-8") for p in shipped.glob("faq/*.yaml"))

    page.goto("/")  # the same question in the web chat now gets the intent's answer
    send(page, question)
    answer = live_site.app.knowledge.current.catalog.intent(TARGET).answer.en
    expect(conversation(page).locator("li.bot").last).to_contain_text(answer.split("\n")[0][:60])

    page.goto("/admin/audit")
    expect(page.locator("main")).to_contain_text("question.add_example")
    expect(page.locator("main")).to_contain_text(email)


def test_the_users_page_lists_staff_and_sales_cannot_open_it(
    page: Page, live_site: LiveSite
) -> None:
    email = log_in(page, live_site, "admin")
    page.goto("/admin/users")
    expect(page.locator("main")).to_contain_text(email)

    page.context.clear_cookies()
    log_in(page, live_site, "sales")
    response = page.goto("/admin/users")
    assert response is not None
    assert response.status == 403
