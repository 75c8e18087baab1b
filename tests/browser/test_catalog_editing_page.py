"""The catalog's editor in Chromium: an admin changes an answer, checks and tests the draft,
saves it, and the web chat answers with the new text at once."""

from __future__ import annotations

from uuid import uuid4

from playwright.sync_api import Page, expect

from bot.core.messages import Incoming
from tests.browser.conftest import LiveSite, log_in
from tests.browser.test_chat_page import conversation, send

TARGET = "lingang_history"
QUESTION = "when was Lingang established?"


def test_an_answer_changed_in_the_editor_is_what_the_chat_answers(
    page: Page, live_site: LiveSite
) -> None:
    app = live_site.app
    old = app.knowledge.current.catalog.intent(TARGET).answer.en
    [reply] = app.engine.handle(Incoming("web", f"before-{uuid4().hex}", "visitor", QUESTION))
    assert reply.text == old, "the question is answered by the intent edited below"
    before = app.catalog.version
    assert before is not None
    new = f"Lingang was set up in 2003 and became a Special Area in 2019 ({uuid4().hex[:6]})."
    email = log_in(page, live_site, "admin")
    try:
        page.goto(f"/admin/intents/{TARGET}")
        page.get_by_role("link", name="Edit", exact=True).click()
        expect(page.get_by_role("heading", name=f"Edit {TARGET}")).to_be_visible()
        answer = page.get_by_label("Answer (English)")
        expect(answer).to_have_value(old)
        answer.fill(new)
        page.get_by_label("Why").fill("shorter, with both dates")

        page.get_by_role("button", name="Check").click()
        check = page.locator("#check-result")
        expect(check).to_contain_text("The catalog loads with this draft.")
        expect(check.locator("pre.diff .add")).to_contain_text(new)
        expect(page.get_by_label("Answer (English)")).to_have_value(new)

        box = page.locator("#draft-test")
        box.get_by_label("Question", exact=True).fill(QUESTION)
        box.get_by_role("button", name="Test").click()
        expect(page.locator("#test-result dd.matched")).to_have_text(TARGET)
        expect(page.locator("#test-result dd.reply")).to_contain_text(new)
        assert app.catalog.version == before, "checking and testing save nothing"

        page.get_by_role("button", name="Save").click()
        expect(page).to_have_url(f"{live_site.url}/admin/intents/{TARGET}?saved={before + 1}")
        expect(page.get_by_role("status")).to_contain_text(f"Saved as revision {before + 1}")
        expect(page.locator("dd.answer-en")).to_have_text(new)

        page.goto("/")
        send(page, QUESTION)
        expect(conversation(page).locator("li.bot").last).to_contain_text(new)

        page.goto(f"/admin/intents/{TARGET}/history")
        row = page.locator(f"#revision-{before + 1}")
        expect(row).to_contain_text(email)
        expect(row).to_contain_text("shorter, with both dates")
    finally:
        if app.catalog.version != before:  # the next tests of the session see the old answer
            app.editor.rollback(before, "browser-test@example.com", "undo the browser test")
    assert app.knowledge.current.catalog.intent(TARGET).answer.en == old
