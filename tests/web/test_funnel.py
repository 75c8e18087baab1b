"""The funnel page, over conversations held with the engine on the web channel."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from bot.app import App
from bot.core.dashboard import LeadQuery
from bot.core.messages import Incoming
from tests.web.conftest import staff_client


def say(app: App, user: str, text: str = "", payload: str | None = None) -> str:
    """One message (or button press) from `user` on the web channel; the replies' texts."""
    replies = app.engine.handle(Incoming("web", user, user, text=text, payload=payload))
    return "\n".join(reply.text for reply in replies)


def complete_a_form(app: App, user: str, name: str) -> int:
    """Ask for a consultant, agree and fill in the form; the lead's id."""
    say(app, user, "I'd like a quote")
    say(app, user, payload="form:agree")
    for answer in (name, "Acme GmbH", f"{user}@acme.de", "Germany", "+49 30 12345678"):
        say(app, user, answer)
    say(app, user, payload="form:choose:company_setup")
    say(app, user, payload="form:choose:within_3_months")
    say(app, user, "no")
    assert "Thank you" in say(app, user, payload="form:confirm")
    [lead] = app.storage.dashboard.leads(LeadQuery(search=f"{user}@acme.de")).leads
    return lead.id


def asked_for_a_quote(app: App) -> str | None:
    """The intent "I'd like a quote" matched (it was said twice too)."""
    [entry, *_] = app.storage.transcripts.conversation("web", "quitter")
    return entry.intent_id


def steps(page: str) -> dict[str, tuple[int, str]]:
    """The steps table: label to (count, share of the step before)."""
    rows = re.findall(r"<tr><td>([^<]+)</td><td>(\d+)</td><td>([^<]*)</td></tr>", page)
    return {label: (int(count), share) for label, count, share in rows}


@pytest.fixture
def busy_site(site_app: App, site: TestClient) -> TestClient:
    """Five web conversations: a question, a form given up, two leads, unanswered questions;
    one lead worked up to qualified, the other contacted (through the pages)."""
    for _ in range(2):
        say(site_app, "asker", "how big is Lingang?")
    say(site_app, "asker", "where is Lingang?")
    assert "/forget" in say(site_app, "quitter", "I'd like a quote")
    say(site_app, "quitter", "cancel")
    keen = complete_a_form(site_app, "keen", "Kim Keen")
    slow = complete_a_form(site_app, "slow", "Sam Slow")
    say(site_app, "lost", "what is the best pizza in Naples?")
    say(site_app, "lost", "What is the best pizza in Naples?")
    csrf = staff_client(site_app, site, "sales")
    for lead, status in ((keen, "qualified"), (keen, "lost"), (slow, "contacted")):
        response = site.post(f"/leads/{lead}/status", data={"status": status, "csrf": csrf})
        assert response.status_code == 303
    return site


def test_funnel_counts_the_steps_of_the_last_30_days(busy_site: TestClient) -> None:
    page = busy_site.get("/funnel")
    assert page.status_code == 200
    assert steps(page.text) == {
        "Conversations": (5, ""),
        "Form started": (3, "60.0 %"),
        "Consented": (2, "66.7 %"),
        "Lead confirmed": (2, "100.0 %"),
        "Qualified": (1, "50.0 %"),
    }
    today = datetime.now(UTC).date()
    assert f'name="from" value="{(today - timedelta(days=29)).isoformat()}"' in page.text
    assert f'name="to" value="{today.isoformat()}"' in page.text


def test_funnel_chart_is_inline_svg_without_scripts(busy_site: TestClient) -> None:
    page = busy_site.get("/funnel").text
    chart = page[page.index('<svg id="funnel-chart"') : page.index("</svg>")]
    widths = [int(w) for w in re.findall(r'<rect x="130" y="4" width="(\d+)"', chart)]
    assert widths == [480, 288, 192, 192, 96]  # relative to the largest step
    assert "<script" not in page
    assert "http" not in chart.replace("http://www.w3.org/2000/svg", "")


def test_funnel_lists_top_questions_and_unanswered(busy_site: TestClient, site_app: App) -> None:
    page = busy_site.get("/funnel").text
    asked = re.findall(
        r'<tr><td>[^<]*<span class="muted">([a-z0-9_]+)</span></td><td>(\d+)</td></tr>',
        page[page.index('id="top-questions"') :],
    )
    expected: dict[str, int] = {}
    for user in ("asker", "quitter", "keen", "slow", "lost"):
        for entry in site_app.storage.transcripts.conversation("web", user):
            if entry.direction == "in" and entry.intent_id:
                expected[entry.intent_id] = expected.get(entry.intent_id, 0) + 1
    assert 3 <= len(expected) <= 10
    assert {i: int(n) for i, n in asked} == expected
    assert [int(n) for _, n in asked] == sorted(expected.values(), reverse=True)
    [size] = [i for i, n in expected.items() if n == 2 and i != asked_for_a_quote(site_app)]
    assert f"{site_app.knowledge.current.catalog.intents[size].title.en} " in page
    unanswered = page[page.index('id="top-unanswered"') :]
    assert re.search(r"what is the best pizza in Naples\?</td><td>2</td>", unanswered, re.I)


def test_a_period_without_activity_counts_nothing(busy_site: TestClient) -> None:
    page = busy_site.get("/funnel?from=2020-01-01&to=2020-01-31")
    assert page.status_code == 200
    assert {label: n for label, (n, _) in steps(page.text).items()} == {
        "Conversations": 0,
        "Form started": 0,
        "Consented": 0,
        "Lead confirmed": 0,
        "Qualified": 0,
    }
    assert "No questions matched in this period." in page.text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=last-week", "from: &#39;last-week&#39; is not a date of the form YYYY-MM-DD"),
        ("to=2026-13-01", "to: &#39;2026-13-01&#39; is not a date"),
        ("from=2026-03-05&to=2026-03-01", "the start date is after the end date"),
    ],
)
def test_bad_periods_get_a_clear_message(
    site_app: App, site: TestClient, query: str, message: str
) -> None:
    staff_client(site_app, site, "sales")
    response = site.get(f"/funnel?{query}")
    assert response.status_code == 400
    assert message in response.text
