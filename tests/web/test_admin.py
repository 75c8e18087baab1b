"""The admin console through HTTP: the catalog and its test box, reloading, unanswered
questions turned into examples, users and the audit log; and who may do any of it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.app import App
from bot.core.messages import Incoming
from bot.web.app import create_app
from bot.web.security import COOKIE, digest
from tests.chat import copy_catalog
from tests.web.conftest import (
    BASE_URL,
    add_staff,
    app_over,
    log_in,
    staff_client,
)

UNKNOWN = "where can I buy bubble tea near the office"
TARGET = "lingang_location"

ADMIN_PAGES = [
    "/admin",
    "/admin/intents",
    "/admin/intents/lingang_area",
    "/admin/intents/test?q=how+big+is+lingang",
    "/admin/questions",
    "/admin/users",
    "/admin/audit",
]
ADMIN_CHANGES = [
    "/admin/intents/reload",
    "/admin/questions/add-example",
    "/admin/questions/dismiss",
    "/admin/users/1/disable",
    "/admin/users/1/enable",
]


@pytest.fixture
def editable_app(tmp_path: Path) -> Iterator[App]:
    """A wired app over a copy of the packaged catalog: these tests edit its files."""
    with app_over(copy_catalog(tmp_path), tmp_path / "data") as wired:
        yield wired


@pytest.fixture
def editable(editable_app: App) -> Iterator[TestClient]:
    with TestClient(create_app(editable_app), base_url=BASE_URL, follow_redirects=False) as client:
        yield client


def ask(app: App, text: str, conversation: str) -> str:
    """Ask the bot as a web visitor would; the kind of its first reply."""
    replies = app.engine.handle(Incoming("web", conversation, f"visitor-{conversation}", text))
    return replies[0].kind


def answer_to(app: App, text: str, conversation: str) -> str:
    replies = app.engine.handle(Incoming("web", conversation, f"visitor-{conversation}", text))
    return replies[0].text


def ids_on(page: str, question: str) -> list[str]:
    """The question ids of the group headed by `question` on the questions page."""
    sections = page.split('<section class="card group"')
    group = next(s for s in sections if f"<h2>{question}</h2>" in s)
    form = group.split('action="/admin/questions/add-example"')[1].split("</form>")[0]
    return re.findall(r'name="ids" value="(\d+)"', form)


def line_count(app: App, intent_id: str) -> int:
    path = app.knowledge.current.catalog.origin[intent_id][0]
    return len(path.read_bytes().splitlines())


# -- who may -------------------------------------------------------------------------------


def test_sales_staff_are_refused_every_admin_page_and_change(
    site_app: App, site: TestClient
) -> None:
    csrf = staff_client(site_app, site, "sales")
    statuses = {path: site.get(path).status_code for path in ADMIN_PAGES}
    statuses |= {
        path: site.post(path, data={"csrf": csrf, "ids": "1", "intent": TARGET}).status_code
        for path in ADMIN_CHANGES
    }
    assert statuses == dict.fromkeys(ADMIN_PAGES + ADMIN_CHANGES, 403)
    assert not site_app.storage.staff.users()[0].disabled


def test_changes_without_the_csrf_token_are_refused_and_change_nothing(
    editable_app: App, editable: TestClient
) -> None:
    staff_client(editable_app, editable, "admin")
    add_staff(editable_app, "sales@example.com", "sales")
    assert ask(editable_app, UNKNOWN, "c1") == "fallback"
    question = editable_app.storage.unanswered.open_questions()[0]
    lines = line_count(editable_app, TARGET)
    fields = {"text": UNKNOWN, "lang": "en", "intent": TARGET, "ids": str(question.id)}
    sales_id = next(u.id for u in editable_app.storage.staff.users() if u.role == "sales")
    for path, data in [
        ("/admin/questions/add-example", fields),
        ("/admin/questions/dismiss", {"ids": str(question.id)}),
        ("/admin/intents/reload", {}),
        (f"/admin/users/{sales_id}/disable", {}),
    ]:
        assert editable.post(path, data=data).status_code == 403
        assert editable.post(path, data={**data, "csrf": "forged"}).status_code == 403
    assert line_count(editable_app, TARGET) == lines
    assert [q.id for q in editable_app.storage.unanswered.open_questions()] == [question.id]
    assert not any(u.disabled for u in editable_app.storage.staff.users())
    assert editable_app.storage.staff.audit_log()[0].action == "user.add"


# -- the catalog ---------------------------------------------------------------------------


def test_the_catalog_lists_every_intent_and_filters(site_app: App, site: TestClient) -> None:
    staff_client(site_app, site, "admin")
    catalog = site_app.knowledge.current.catalog
    page = site.get("/admin/intents").text
    assert f"{len(catalog.intents)} intents loaded" in page
    assert all(f'href="/admin/intents/{intent_id}"' in page for intent_id in catalog.intents)
    filtered = site.get("/admin/intents", params={"q": "dishui"}).text
    assert 'href="/admin/intents/lingang_area"' not in filtered
    assert 'href="/admin/intents/' in filtered


def test_an_intent_page_shows_examples_answers_and_its_file(
    site_app: App, site: TestClient
) -> None:
    staff_client(site_app, site, "admin")
    intent = site_app.knowledge.current.catalog.intent("lingang_area")
    page = site.get("/admin/intents/lingang_area").text
    assert "lingang_basics.yaml:" in page
    for text in (*intent.examples.en, *intent.examples.zh, *intent.tests.en):
        assert f"<li>{text}</li>" in page
    assert intent.answer.zh in page
    assert site.get("/admin/intents/no_such_intent").status_code == 404


def test_the_test_box_shows_the_match_its_score_and_the_runner_ups(
    site_app: App, site: TestClient
) -> None:
    staff_client(site_app, site, "admin")
    question = "how big is lingang?"
    match = site_app.knowledge.current.matcher.match(question)
    assert match.intent_id == "lingang_area"
    page = site.get("/admin/intents/test", params={"q": question, "lang": "en"}).text
    assert '<dd class="outcome">answered</dd>' in page
    assert f"{match.score:.4f}" in page
    for runner_up in match.alternatives:
        assert f">{runner_up.intent_id}</a></td>" in page
        assert f"{runner_up.score:.4f}" in page

    unknown = site.get("/admin/intents/test", params={"q": UNKNOWN}).text
    assert '<dd class="outcome">fallback' in unknown
    assert '<dd class="matched">none</dd>' in unknown


def test_a_broken_file_is_reported_with_its_line_and_the_old_catalog_keeps_answering(
    editable_app: App, editable: TestClient
) -> None:
    csrf = staff_client(editable_app, editable, "admin")
    catalog = editable_app.knowledge.current.catalog
    path = catalog.origin["lingang_area"][0]
    good = path.read_text(encoding="utf-8")
    lines = good.splitlines(keepends=True)
    number = next(i for i, line in enumerate(lines) if line.strip().startswith("reviewed:"))
    lines[number] = lines[number].replace("reviewed:", "reviewd:")
    path.write_text("".join(lines), encoding="utf-8")

    response = editable.post("/admin/intents/reload", data={"csrf": csrf})

    assert response.status_code == 400
    assert f"faq/{path.name}:{number + 1}:" in response.text  # named inside the catalog
    assert "keeps answering" in response.text
    assert editable_app.knowledge.current.catalog is catalog
    assert answer_to(editable_app, "how big is lingang?", "c1") == (
        catalog.intent("lingang_area").answer.en
    )
    assert editable_app.storage.staff.audit_log()[0].action == "intents.reload_failed"

    path.write_text(good, encoding="utf-8")
    fixed = editable.post("/admin/intents/reload", data={"csrf": csrf})
    assert fixed.status_code == 303
    assert "Reloaded: " in editable.get(fixed.headers["location"]).text
    assert editable_app.storage.staff.audit_log()[0].action == "intents.reload"


# -- unanswered questions ------------------------------------------------------------------


def test_a_question_added_as_an_example_is_answered_on_the_next_ask(
    editable_app: App, editable: TestClient
) -> None:
    csrf = staff_client(editable_app, editable, "admin")
    assert ask(editable_app, UNKNOWN, "c1") == "fallback"
    page = editable.get("/admin/questions").text
    assert f"<h2>{UNKNOWN}</h2>" in page
    ids = ids_on(page, UNKNOWN)
    lines = line_count(editable_app, TARGET)

    response = editable.post(
        "/admin/questions/add-example",
        data={"csrf": csrf, "text": UNKNOWN, "lang": "en", "intent": TARGET, "ids": ids},
    )

    assert response.status_code == 303
    assert response.headers["location"].startswith(f"/admin/questions?added={TARGET}")
    assert line_count(editable_app, TARGET) == lines + 1
    expected = editable_app.knowledge.current.catalog.intent(TARGET).answer.en
    assert answer_to(editable_app, UNKNOWN, "c2") == expected
    after = editable.get(response.headers["location"]).text
    assert "Added as an example of" in after
    assert f"<h2>{UNKNOWN}</h2>" not in after
    audit = editable.get("/admin/audit").text
    assert "question.add_example" in audit
    assert "admin@example.com" in audit
    assert UNKNOWN in audit


def test_a_duplicate_example_is_refused_with_a_clear_message(
    editable_app: App, editable: TestClient
) -> None:
    csrf = staff_client(editable_app, editable, "admin")
    assert ask(editable_app, UNKNOWN, "c1") == "fallback"
    ids = ids_on(editable.get("/admin/questions").text, UNKNOWN)
    existing = editable_app.knowledge.current.catalog.intent(TARGET).examples.en[0]
    lines = line_count(editable_app, TARGET)

    response = editable.post(
        "/admin/questions/add-example",
        data={"csrf": csrf, "text": existing.upper(), "lang": "en", "intent": TARGET, "ids": ids},
    )

    assert response.status_code == 400
    assert "is already an example of" in response.text
    assert line_count(editable_app, TARGET) == lines
    assert len(editable_app.storage.unanswered.open_questions()) == 1


def test_similar_questions_form_one_group_that_dismiss_removes(
    site_app: App, site: TestClient
) -> None:
    csrf = staff_client(site_app, site, "admin")
    assert ask(site_app, UNKNOWN, "c1") == "fallback"
    assert ask(site_app, f"{UNKNOWN} please?", "c2") == "fallback"
    assert ask(site_app, "can I bring my pet parrot to the meeting", "c3") == "fallback"
    page = site.get("/admin/questions").text
    assert page.count('<section class="card group"') == 2
    newest = f"{UNKNOWN} please?"
    ids = ids_on(page, newest)
    assert len(ids) == 2
    assert '<strong class="count">2</strong>' in page

    response = site.post("/admin/questions/dismiss", data={"csrf": csrf, "ids": ids})

    assert response.status_code == 303
    after = site.get(response.headers["location"]).text
    assert "Dismissed 2 question(s)" in after
    assert f"<h2>{newest}</h2>" not in after
    assert "<h2>can I bring my pet parrot to the meeting</h2>" in after
    entry = site_app.storage.staff.audit_log()[0]
    assert (entry.actor, entry.action) == ("admin@example.com", "question.dismiss")


# -- users and the audit log ---------------------------------------------------------------


def test_disabling_a_user_ends_their_session(site_app: App, site: TestClient) -> None:
    csrf = staff_client(site_app, site, "admin")
    add_staff(site_app, "sales@example.com", "sales")
    sales = TestClient(site.app, base_url=BASE_URL, follow_redirects=False)
    log_in(sales, "sales@example.com")
    assert sales.get("/admin/users").status_code == 403  # logged in, not an admin
    sales_id = next(u.id for u in site_app.storage.staff.users() if u.role == "sales")
    page = site.get("/admin/users").text
    assert "sales@example.com" in page
    assert f'action="/admin/users/{sales_id}/disable"' in page

    response = site.post(f"/admin/users/{sales_id}/disable", data={"csrf": csrf})

    assert response.status_code == 303
    assert site_app.storage.staff.session(digest(sales.cookies[COOKIE])) is None
    assert sales.get("/admin/users").headers["location"].startswith("/login")
    assert "disabled" in site.get("/admin/users").text
    assert site_app.storage.staff.audit_log()[0].action == "user.disable"
    assert site.post(f"/admin/users/{sales_id}/enable", data={"csrf": csrf}).status_code == 303
    log_in(sales, "sales@example.com")


def test_an_admin_cannot_disable_themselves(site_app: App, site: TestClient) -> None:
    csrf = staff_client(site_app, site, "admin")
    me = site_app.storage.staff.users()[0]
    response = site.post(f"/admin/users/{me.id}/disable", data={"csrf": csrf})
    assert response.status_code == 400
    assert "cannot disable your own account" in response.text
    assert not site_app.storage.staff.users()[0].disabled
    assert site.get("/admin/users").status_code == 200
    assert site.post("/admin/users/999/disable", data={"csrf": csrf}).status_code == 404


def test_the_audit_log_is_newest_first_in_pages(site_app: App, site: TestClient) -> None:
    staff_client(site_app, site, "admin")
    for number in range(60):
        site_app.storage.staff.audit("someone@example.com", "test.step", f"step {number:02d}")
    first = site.get("/admin/audit").text
    assert first.index("step 59") < first.index("step 10")
    assert "step 09" not in first
    assert 'href="/admin/audit?page=2"' in first
    second = site.get("/admin/audit", params={"page": 2}).text
    assert "step 09" in second
    assert "step 10" not in second
    assert "user.add" in second  # the oldest entry: the admin's own account
