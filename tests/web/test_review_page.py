"""The review page through HTTP: expired, overdue and due-soon answers for admins only, and
the dated caveat on the web chat's answer."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.app import App
from bot.core import answers
from bot.core.messages import Incoming
from bot.web.app import create_app
from intents.review import counts, review_states
from tests.chat import copy_catalog
from tests.dated import id_line, set_dates
from tests.web.conftest import BASE_URL, app_over, staff_client

BASICS = "faq/lingang_basics.yaml"


@pytest.fixture
def dated_app(tmp_path: Path) -> Iterator[App]:
    """A wired app over a copy of the catalog where a few answers have review dates."""
    copy = copy_catalog(tmp_path)
    basics = copy / BASICS
    set_dates(basics, "lingang_name", reviewed="2026-06-01", valid_until="2026-12-01")
    set_dates(basics, "lingang_legal_basis", reviewed="2026-01-10", review_every="90")
    set_dates(basics, "lingang_location")
    set_dates(basics, "lingang_area", reviewed="2026-11-26", review_every="20")
    with app_over(copy, tmp_path / "data") as wired:
        yield wired


@pytest.fixture
def client(dated_app: App) -> Iterator[TestClient]:
    with TestClient(create_app(dated_app), base_url=BASE_URL, follow_redirects=False) as c:
        yield c


def rows_of(page: str) -> list[tuple[str, str]]:
    """(status, intent id) of each row of the review table, top to bottom."""
    return re.findall(
        r'<tr class="status-(\w+)">\s*<td>.*?</td>\s*<td><a href="/admin/intents/(\w+)"',
        page,
        re.DOTALL,
    )


def row_of(page: str, intent_id: str) -> str:
    """The table row of one intent."""
    (row,) = [
        row
        for row in page.split("<tr ")
        if f'<a href="/admin/intents/{intent_id}">' in row.split("</tr>")[0]
    ]
    return row.split("</tr>")[0]


def test_admins_see_what_is_due_most_urgent_first(dated_app: App, client: TestClient) -> None:
    staff_client(dated_app, client, "admin")
    response = client.get("/admin/review?on=2026-12-06")
    assert response.status_code == 200
    page = response.text
    mine = {"lingang_name", "lingang_location", "lingang_legal_basis", "lingang_area"}
    assert [row for row in rows_of(page) if row[1] in mine] == [
        ("expired", "lingang_name"),
        ("overdue", "lingang_location"),
        ("overdue", "lingang_legal_basis"),
        ("due_soon", "lingang_area"),
    ]
    legal = row_of(page, "lingang_legal_basis")
    assert "2026-01-10" in legal  # reviewed
    assert "90 days" in legal
    assert "2026-04-10" in legal  # the check that was missed
    basics = Path(dated_app.settings.intents_dir or "") / BASICS
    reviewed_line = id_line(basics, "lingang_legal_basis") + 1  # the date to change
    assert f"{BASICS}:{reviewed_line}" in legal
    expired = row_of(page, "lingang_name")
    assert "2026-12-01" in expired
    assert ">expired<" in expired
    tally = counts(review_states(dated_app.knowledge.current.catalog, date(2026, 12, 6)))
    assert tally["expired"] >= 1
    assert tally["overdue"] >= 2
    summary = (
        f"{tally['expired']} expired, {tally['overdue']} overdue, {tally['due_soon']} due soon"
    )
    assert summary in page
    assert '<a href="/admin/review">Review</a>' in page  # in the admin's menu


def test_on_a_later_day_more_is_due_and_a_bad_day_means_today(
    dated_app: App, client: TestClient
) -> None:
    staff_client(dated_app, client, "admin")
    early = rows_of(client.get("/admin/review?on=2026-11-20").text)
    assert ("due_soon", "lingang_name") in early  # its end of validity is coming
    assert ("current", "lingang_area") not in early
    later = client.get("/admin/review?on=2027-12-31").text
    assert len(rows_of(later)) == len(dated_app.knowledge.current.catalog.intents)
    wrong = client.get("/admin/review?on=yesterday").text
    assert "That is not a date" in wrong
    assert "(today in Shanghai)" in wrong


def test_only_admins_see_the_review_page(dated_app: App, client: TestClient) -> None:
    anonymous = client.get("/admin/review")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login")
    staff_client(dated_app, client, "sales")
    assert client.get("/admin/review").status_code == 403
    assert "/admin/review" not in client.get("/leads").text


def test_the_web_chat_answer_past_its_date_carries_the_caveat(dated_app: App) -> None:
    asked = Incoming("web", "c1", "visitor-1", "what is the official name of Lingang?")
    reply = dated_app.engine.handle(asked)[0]
    assert reply.text.endswith(
        "\n\nAs of 1 Jun 2026; this may have changed — a consultant can confirm."
    )
    chinese = Incoming("web", "c2", "visitor-2", "临港的正式名称是什么？")
    assert dated_app.engine.handle(chinese)[0].text.endswith(
        "\n\n以上信息截至2026年6月1日，之后可能有变化，可请顾问确认。"
    )
    # lingang_area has no `valid_until` in this copy: its answer comes as written.
    question = "how big is Lingang?"
    got = answers.answer(dated_app.knowledge.current, question)
    assert got.match is not None
    assert got.match.intent_id == "lingang_area"
    reply = dated_app.engine.handle(Incoming("web", "c3", "visitor-3", question))[0]
    assert (
        reply.text
        == got.reply.text
        == dated_app.knowledge.current.catalog.intent("lingang_area").answer.en
    )
