"""The misses inbox page: every kind of miss, grouped, filtered, paged, acted on as a group."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient

from bot.app import App
from bot.core.records import MissReason, UnansweredQuestion
from bot.web.admin import GROUPING_LIMIT, INBOX_PAGE, file_misses
from tests.web.conftest import staff_client

START = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
TEA = "where can I buy bubble tea near the office"
REPLY = "The canteen on floor 2 sells it until 5 pm."


def miss(
    app: App,
    text: str,
    minute: int,
    *,
    reason: MissReason = "fallback",
    detail: str | None = None,
    best_intent: str | None = None,
) -> None:
    app.storage.questions.record(
        UnansweredQuestion(
            "web",
            f"c{minute}",
            f"u{minute}",
            text,
            "en",
            START + timedelta(minutes=minute),
            best_intent=best_intent,
            reason=reason,
            detail=detail,
        )
    )


def sections(page: str) -> list[str]:
    return page.split('<section class="card group"')[1:]


def hidden(section: str, name: str, form: str = "dismiss") -> list[str]:
    part = section.split(f'action="/admin/questions/{form}"')[1].split("</form>", maxsplit=1)[0]
    return re.findall(rf'name="{name}" value="(\d+)"', part)


def test_every_kind_of_miss_shows_in_its_group_with_reasons_and_the_reply(
    site_app: App, site: TestClient
) -> None:
    staff_client(site_app, site, "admin")
    miss(site_app, TEA, 0)
    miss(
        site_app,
        f"{TEA}?",
        1,
        reason="thumbs_down",
        detail="that is not it",
        best_intent="lingang_location",
    )
    miss(site_app, f"{TEA} please", 2, reason="handoff", detail=REPLY)
    miss(site_app, "is there a gym in the science city", 3, reason="clarify", best_intent="pricing")

    page = site.get("/admin/questions").text

    tea, gym = sections(page)
    assert '<strong class="count">3</strong>' in tea
    assert "not answered 1" in tea
    assert "thumbs down 1" in tea
    assert "handoff 1" in tea
    assert "that is not it" in tea
    assert "<code>lingang_location</code>" in tea
    assert html.escape(REPLY, quote=False) in tea
    assert "chose <code>pricing</code>" in gym


def test_new_intent_links_carry_the_wordings_and_the_consultants_reply(
    site_app: App, site: TestClient
) -> None:
    staff_client(site_app, site, "admin")
    miss(site_app, TEA, 0)
    miss(site_app, f"{TEA} please", 1, reason="handoff", detail=REPLY)

    [tea] = sections(site.get("/admin/questions").text)

    links = [html.unescape(h) for h in re.findall(r'href="(/admin/catalog/new\?[^"]+)"', tea)]
    plain, with_reply = (parse_qs(urlsplit(link).query) for link in links)
    assert plain["examples_en"] == [f"{TEA} please\n{TEA}"]
    assert "answer_en" not in plain
    assert with_reply["answer_en"] == [REPLY]
    form = site.get(links[1])
    assert form.status_code == 200
    assert html.escape(REPLY, quote=False) in form.text  # the draft answer
    assert html.escape(TEA, quote=False) in form.text  # the examples


def test_the_reason_filter_shows_only_groups_with_that_reason(
    site_app: App, site: TestClient
) -> None:
    staff_client(site_app, site, "admin")
    miss(site_app, TEA, 0)
    miss(
        site_app,
        "can I bring my pet parrot to the meeting",
        1,
        reason="thumbs_down",
        detail="no",
    )

    page = site.get("/admin/questions", params={"reason": "thumbs_down"}).text

    [only] = sections(page)
    assert "<h2>can I bring my pet parrot to the meeting</h2>" in only
    assert len(sections(site.get("/admin/questions", params={"reason": "nonsense"}).text)) == 2


def test_dismissing_a_group_covers_what_the_admin_saw_and_not_what_came_later(
    site_app: App, site: TestClient
) -> None:
    csrf = staff_client(site_app, site, "admin")
    for minute in range(30):  # more than the ids a page carries
        miss(site_app, TEA if minute % 2 else f"{TEA}?", minute)
    [tea] = sections(site.get("/admin/questions").text)
    assert len(hidden(tea, "ids")) < 30
    miss(site_app, f"{TEA} now", 40)  # arrives after the page was read

    data = {"csrf": csrf, "group": hidden(tea, "group"), "upto": hidden(tea, "upto")}
    response = site.post("/admin/questions/dismiss", data=data)

    assert response.status_code == 303
    assert response.headers["location"] == "/admin/questions?dismissed=30"
    [left] = sections(site.get("/admin/questions").text)
    assert f"<h2>{TEA} now</h2>" in left
    assert '<strong class="count">1</strong>' in left


def test_groups_come_a_page_at_a_time(site_app: App, site: TestClient) -> None:
    staff_client(site_app, site, "admin")
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india"]
    words += ["juliett", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec"]
    words += ["romeo", "sierra", "tango", "uniform", "victor", "whiskey", "xray", "yankee"]
    for minute, word in enumerate(words):
        miss(site_app, f"{word} {word} {word} {word}", minute)

    first = site.get("/admin/questions").text
    second = site.get("/admin/questions", params={"page": 1}).text

    assert len(sections(first)) == INBOX_PAGE
    assert len(sections(second)) == len(words) - INBOX_PAGE
    assert 'rel="next"' in first
    assert 'rel="prev"' in second
    assert "<h2>yankee yankee yankee yankee</h2>" in first
    assert "<h2>alpha alpha alpha alpha</h2>" in second


def test_a_flood_of_long_questions_is_grouped_a_bounded_share_per_load(
    site_app: App, site: TestClient
) -> None:
    staff_client(site_app, site, "admin")
    flood = GROUPING_LIMIT + 100
    for n in range(flood):
        miss(site_app, f"{n} " + f"zq{n * 7919 % 10007}x " * 400, n)
    stored = site_app.storage.unanswered.open_questions(limit=1)
    assert len(stored[0].text) <= 300

    page = site.get("/admin/questions").text

    waiting = int(re.findall(r"(\d+) more question\(s\) are still being grouped", page)[0])
    assert 100 <= waiting < flood
    assert len(sections(page)) == INBOX_PAGE


def test_a_background_step_files_the_waiting_misses_before_the_page_is_opened(
    site_app: App, site: TestClient
) -> None:
    staff_client(site_app, site, "admin")
    for minute in range(50):
        miss(site_app, f"question {minute} " * 30, minute)
    assert site_app.storage.unanswered.pending("char-grams-v1") == 50

    assert file_misses(site_app) == 50

    assert site_app.storage.unanswered.pending("char-grams-v1") == 0
    assert "still being grouped" not in site.get("/admin/questions").text
