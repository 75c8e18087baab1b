"""The sales pages in Chromium: logging in, filtering and exporting leads, working a lead,
hostile lead fields shown as text, and a forged cross-site change refused."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from playwright.sync_api import Dialog, Page, expect

from bot.core.messages import Incoming
from bot.core.records import LeadStatus, LeadSubmission
from tests.browser.conftest import LiveSite, log_in, shot

EVIL_ORIGIN = "http://evil.localhost:9"


def add_lead(site: LiveSite, status: LeadStatus = "new", **answers: str) -> int:
    """A confirmed lead form stored as the engine stores one (in `status`); its id."""
    key = uuid4().hex[:10]
    now = datetime.now(UTC)
    defaults = {"name": f"Person {key}", "email": f"{key}@example.com", "company": f"Co {key}"}
    done = site.app.storage.leads.submit(
        LeadSubmission(
            submission_id=f"browser-{key}",
            channel="telegram",
            user_id=f"u-{key}",
            conversation_id=f"c-{key}",
            language="en",
            notice_version="2026-11-26",
            consented_at=now - timedelta(minutes=2),
            submitted_at=now,
            answers={**defaults, **answers},
            score=40,
            question="how much is the rent?",
        )
    )
    assert done.created
    if status != "new":
        site.app.storage.leads.set_status(done.lead.id, status, "test", None)
    return done.lead.id


def status_of(site: LiveSite, lead_id: int) -> str:
    lead = site.app.storage.leads.get(lead_id)
    assert lead is not None
    return lead.status


def shown_ids(page: Page) -> list[int]:
    """The lead ids in the table, in order."""
    rows = page.locator("#leads tbody tr[data-lead]")
    return [int(row.get_attribute("data-lead") or 0) for row in rows.all()]


def test_logging_in_through_the_form_lands_on_the_leads(page: Page, live_site: LiveSite) -> None:
    tag = uuid4().hex[:6]
    people: tuple[tuple[str, str, str, LeadStatus], ...] = (
        ("Mei Chen", "Harbour Robotics", "ic_industry", "new"),
        ("Lars Berg", "Nordic Wind AB", "company_setup", "contacted"),
        ("Aisha Khan", "Khan Biotech", "tax_accounting", "qualified"),
    )
    for name, company, interest, status in people:
        add_lead(live_site, status, name=name, company=f"{company} {tag}", interest=interest)

    log_in(page, live_site, "sales")

    expect(page).to_have_url(f"{live_site.url}/leads")
    expect(page.get_by_role("heading", name="Leads")).to_be_visible()
    expect(page.locator("#leads")).to_contain_text(f"Harbour Robotics {tag}")
    expect(page.locator("#leads")).to_contain_text(f"Khan Biotech {tag}")
    shot(page, "leads")


def test_filtered_leads_are_shown_and_exported_alone(page: Page, live_site: LiveSite) -> None:
    token = f"filt{uuid4().hex[:8]}"
    wanted = [
        add_lead(live_site, "qualified", company=f"{token} Alpha"),
        add_lead(live_site, "qualified", company=f"{token} Beta"),
    ]
    other_status = add_lead(live_site, "lost", company=f"{token} Gamma")
    other_text = add_lead(live_site, "qualified", company="Unrelated Ltd")
    log_in(page, live_site, "sales")
    page.goto("/leads")
    expect(page.locator(f'tr[data-lead="{other_text}"]')).to_have_count(1)

    page.get_by_label("Status").select_option("qualified")
    page.get_by_label("Search").fill(token)
    page.get_by_role("button", name="Filter").click()

    expect(page.locator("#count")).to_contain_text("2 leads")
    assert sorted(shown_ids(page)) == sorted(wanted)
    assert other_status not in shown_ids(page)
    assert other_text not in shown_ids(page)
    assert page.get_by_label("Status").input_value() == "qualified"
    assert page.get_by_label("Search").input_value() == token

    with page.expect_download() as caught:
        page.get_by_role("link", name="Export CSV").click()
    download = caught.value
    assert download.suggested_filename.startswith("leads-")
    assert download.suggested_filename.endswith(".csv")
    text = download.path().read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert sorted(int(row["id"]) for row in rows) == sorted(wanted)
    assert {row["status"] for row in rows} == {"qualified"}
    assert all(row["company"].startswith(token) for row in rows)


def test_a_status_change_with_a_note_is_shown_and_stored(page: Page, live_site: LiveSite) -> None:
    lead = add_lead(live_site, name="Ravi Patel", company="Patel Logistics")
    email = log_in(page, live_site, "sales")
    page.goto("/leads")
    page.locator(f'tr[data-lead="{lead}"]').get_by_role("link", name="Ravi Patel").click()
    expect(page).to_have_url(f"{live_site.url}/leads/{lead}")
    expect(page.locator("#status")).to_have_text("new")
    expect(page.locator("#fields")).to_contain_text("Patel Logistics")
    expect(page.locator("#consent")).to_contain_text("2026-11-26")

    form = page.locator("#status-form")
    form.get_by_label("New status").select_option("contacted")
    form.get_by_label("Note (optional)").fill("Called on Monday; wants a site visit.")
    form.get_by_role("button", name="Change status").click()

    expect(page).to_have_url(f"{live_site.url}/leads/{lead}")
    expect(page.locator("#status")).to_have_text("contacted")
    history = page.locator("#history")
    expect(history).to_contain_text("status new → contacted")
    expect(history).to_contain_text("Called on Monday; wants a site visit.")
    expect(history).to_contain_text(f"web:{email}")
    shot(page, "lead")

    assert status_of(live_site, lead) == "contacted"
    last = live_site.app.storage.leads.history(lead)[-1]
    assert (last.kind, last.status, last.note, last.actor) == (
        "status",
        "contacted",
        "Called on Monday; wants a site visit.",
        f"web:{email}",
    )


def test_hostile_lead_fields_are_shown_as_text(page: Page, live_site: LiveSite) -> None:
    name = "<img src=x onerror=alert(1)>"
    company = '"><svg onload=alert(1)>'
    lead = add_lead(live_site, name=name, company=company)
    dialogs: list[str] = []

    def seen(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", seen)
    log_in(page, live_site, "sales")

    page.goto("/leads")
    row = page.locator(f'tr[data-lead="{lead}"]')
    expect(row).to_contain_text(name)
    expect(row).to_contain_text(company)
    expect(row.locator("img, svg")).to_have_count(0)
    expect(page.locator("img[src=x], [onerror], [onload]")).to_have_count(0)

    page.goto(f"/leads/{lead}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Lead #{lead}: {name}")
    expect(page.locator("#fields")).to_contain_text(name)
    expect(page.locator("#fields")).to_contain_text(company)
    expect(page.locator("main img, #fields svg")).to_have_count(0)
    expect(page.locator("img[src=x], [onerror], [onload]")).to_have_count(0)
    assert dialogs == []


def test_a_forged_cross_site_status_change_is_refused(page: Page, live_site: LiveSite) -> None:
    lead = add_lead(live_site)
    log_in(page, live_site, "sales")  # the victim's browser holds a sales session
    target = f"{live_site.url}/leads/{lead}/status"
    attack = f"""<!doctype html><title>You won a prize</title>
<form id="f" method="post" action="{target}">
  <input type="hidden" name="status" value="lost">
  <input type="hidden" name="note" value="forged">
  <input type="hidden" name="csrf" value="guessed">
</form>
<script>document.getElementById("f").submit()</script>"""
    page.route(
        f"{EVIL_ORIGIN}/attack",
        lambda route: route.fulfill(status=200, content_type="text/html", body=attack),
    )

    with page.expect_response(target) as caught:
        page.goto(f"{EVIL_ORIGIN}/attack")
    response = caught.value

    assert response.request.method == "POST"
    assert response.status in (401, 403)  # cookie withheld (SameSite) or the guard refused
    assert status_of(live_site, lead) == "new"
    assert [e.kind for e in live_site.app.storage.leads.history(lead)] == ["created"]


def test_the_funnel_page_draws_its_chart(page: Page, live_site: LiveSite) -> None:
    key = uuid4().hex[:8]
    live_site.app.engine.handle(Incoming("web", f"funnel-{key}", f"v-{key}", "where is Lingang?"))
    add_lead(live_site, "won", company="Funnel Demo Co")
    log_in(page, live_site, "sales")
    page.goto("/funnel")
    chart = page.locator("#funnel-chart")
    expect(chart).to_be_visible()
    expect(chart.locator("rect").first).to_be_visible()  # conversations: the widest bar
    expect(chart.locator("rect")).to_have_count(page.locator("#funnel-steps tbody tr").count())
    expect(page.locator("#top-questions")).to_contain_text("lingang_location")
    shot(page, "funnel")
