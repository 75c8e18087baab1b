"""The app's Content-Security-Policy in Chromium: every page, and the web chat at work, load
and run without the browser blocking a script, a style or a form."""

from __future__ import annotations

from playwright.sync_api import ConsoleMessage, Page, expect

from bot.web.headers import CONTENT_SECURITY_POLICY
from tests.browser.conftest import LiveSite, log_in

# Collects the violations the browser reports on the page (it reports each one as an event).
WATCH = """() => {
  window.__violations = window.__violations || [];
  document.addEventListener("securitypolicyviolation",
    (e) => window.__violations.push(e.violatedDirective + " " + e.blockedURI));
}"""
ADMIN_PAGES = [
    "/leads",
    "/funnel",
    "/api/docs",
    "/admin/intents",
    "/admin/questions",
    "/admin/review",
    "/admin/users",
    "/admin/audit",
    "/admin/catalog/files",
    "/admin/catalog/history",
    "/admin/catalog/retired",
    "/admin/catalog/diff",
]


def blocked(page: Page, console: list[str]) -> list[str]:
    """What the policy blocked on the page: violation events and the console's reports."""
    events: list[str] = page.evaluate("() => window.__violations || []")
    return events + [line for line in console if "Content Security Policy" in line]


def watch(page: Page) -> list[str]:
    """Start collecting console lines and violation events on every document `page` loads."""
    console: list[str] = []

    def keep(message: ConsoleMessage) -> None:
        console.append(message.text)

    page.on("console", keep)
    page.add_init_script(f"({WATCH})()")
    return console


def test_the_chat_page_works_under_the_policy(page: Page) -> None:
    console = watch(page)
    response = page.goto("/")
    assert response is not None
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    box = page.get_by_label("Your message")
    box.fill("where is Lingang?")
    box.press("Enter")
    log = page.get_by_role("list", name="Conversation")
    expect(log.locator("li.bot").last).to_contain_text("Pudong")  # chat.js ran and fetched
    assert blocked(page, console) == []


def test_the_staff_pages_load_under_the_policy(page: Page, live_site: LiveSite) -> None:
    console = watch(page)
    log_in(page, live_site, "admin")  # the login form posted under form-action 'self'
    for path in ADMIN_PAGES:
        response = page.goto(path)
        assert response is not None
        assert response.status == 200, path
        assert blocked(page, console) == [], path
