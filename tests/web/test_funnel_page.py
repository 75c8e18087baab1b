"""The funnel page: a cohort of conversations from the event log, its filters and its figures."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from bot.app import App
from bot.core.records import ConversationEvent, EventKind
from tests.web.conftest import staff_client


def event(
    conversation: str,
    kind: EventKind,
    outcome: str,
    minutes: int,
    *,
    channel: str = "web",
    language: str | None = "en",
    answer_key: str | None = None,
) -> ConversationEvent:
    """An event `minutes` after an hour ago."""
    at = datetime.now(UTC) - timedelta(hours=1) + timedelta(minutes=minutes)
    return ConversationEvent(
        channel,
        conversation,
        conversation,
        kind,
        at,
        outcome=outcome,
        language=language if kind == "turn" else None,
        intent_id="lingang_size" if outcome == "match" else None,
        answer_key=answer_key,
        text="pizza?" if outcome == "fallback" else None,
    )


@pytest.fixture
def funnel_site(site_app: App, site: TestClient) -> TestClient:
    """Four conversations: answered and 👍; a fallback at the end; a lead from Telegram in
    Chinese; a handoff (with twelve lead updates)."""
    site_app.storage.events.add(
        [
            event("a", "turn", "match", 0, answer_key="k1"),
            event("a", "feedback", "up", 1, answer_key="k1"),
            event("b", "turn", "match", 0, answer_key="k2"),
            event("b", "turn", "fallback", 1),
            event("c", "turn", "form", 0, channel="telegram", language="zh"),
            event("c", "lead", "created", 1, channel="telegram"),
            event("d", "turn", "clarify", 0),
            event("d", "handoff", "requested", 1),
            event("d", "turn", "form", 2),
            *[event("d", "lead", "updated", 3 + n) for n in range(12)],
        ]
    )
    staff_client(site_app, site, "sales")
    return site


def rows(page: str, table: str) -> dict[str, tuple[str, str]]:
    """A figures table: row id to (count, share)."""
    part = page[page.index(f'id="funnel-{table}"') :]
    part = part[: part.index("</table>")]
    found = re.findall(
        r'<tr id="figure-([a-z-]+)"><td>[^<]+</td><td>([^<]+)</td><td>([^<]*)</td>', part
    )
    return {name: (count, share.strip()) for name, count, share in found}


def steps(page: str) -> dict[str, tuple[int, str, str]]:
    """The steps table: label to (count, share of the step before, share of conversations)."""
    found = re.findall(
        r"<tr><td>([^<]+)</td><td>(\d+)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", page
    )
    return {label: (int(count), before, of_all) for label, count, before, of_all in found}


def test_the_funnel_page_shows_the_cohorts_figures(funnel_site: TestClient) -> None:
    page = funnel_site.get("/funnel")
    assert page.status_code == 200
    assert steps(page.text) == {
        "Conversations": (4, "", "100.0 %"),
        "Form started": (2, "50.0 %", "50.0 %"),
        "Lead": (2, "100.0 %", "50.0 %"),
        "Qualified": (0, "0.0 %", "0.0 %"),
    }
    assert rows(page.text, "conversations") == {
        "conversations": ("4", ""),
        "contained": ("2", "50.0 % of conversations"),
        "handed-off": ("1", "25.0 % of conversations"),
        "leads": ("2", "50.0 % of conversations"),
    }
    assert rows(page.text, "turns") == {
        "questions": ("4", ""),
        "answered": ("2", "50.0 % of question turns"),
        "clarified": ("1", "25.0 % of question turns"),
        "fallback": ("1", "25.0 % of question turns"),
    }
    assert rows(page.text, "feedback") == {
        "offered": ("2", ""),
        "rated": ("1", "50.0 % of those offered"),
        "up": ("1", "100.0 % of those rated"),
        "down": ("0", "0.0 % of those rated"),
    }
    assert rows(page.text, "handoffs") == {
        "requested": ("1", "25.0 % of conversations"),
        "claimed": ("0", "0.0 % of those requested"),
        "to-claim": ("–", ""),
        "to-reply": ("–", ""),
        "with-lead": ("1", "100.0 % of those requested"),
    }
    assert "50.0 % of conversations became a lead" in page.text


def test_the_funnel_page_filters_by_language_and_channel(funnel_site: TestClient) -> None:
    page = funnel_site.get("/funnel?language=zh&channel=telegram").text
    assert steps(page)["Conversations"][0] == 1
    assert rows(page, "conversations")["leads"] == ("1", "100.0 % of conversations")
    assert '<option value="zh" selected>' in page
    assert '<option value="telegram" selected>' in page
    web = funnel_site.get("/funnel?channel=web&language=en").text
    assert steps(web)["Conversations"][0] == 3


def test_a_period_before_any_conversation_shows_zeros_and_dashes(funnel_site: TestClient) -> None:
    page = funnel_site.get("/funnel?from=2020-01-01&to=2020-01-31").text
    assert {label: n for label, (n, _, _) in steps(page).items()} == {
        "Conversations": 0,
        "Form started": 0,
        "Lead": 0,
        "Qualified": 0,
    }
    assert rows(page, "feedback")["up"] == ("0", "– of those rated")
    assert "No questions matched in this period." in page


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("language=fr", "language: &#39;fr&#39; is not one of en, zh"),
        ("channel=%3Cscript%3E", "channel: &#39;&lt;script&gt;&#39; is not a channel name"),
        ("from=last-week", "from: &#39;last-week&#39; is not a date of the form YYYY-MM-DD"),
        ("from=2026-03-05&to=2026-03-01", "the start date is after the end date"),
    ],
)
def test_bad_funnel_filters_get_a_clear_message(
    site_app: App, site: TestClient, query: str, message: str
) -> None:
    staff_client(site_app, site, "sales")
    response = site.get(f"/funnel?{query}")
    assert response.status_code == 400
    assert "Cannot show this funnel" in response.text
    assert message in response.text
