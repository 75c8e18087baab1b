"""Editing the catalog in the admin console, through its pages: an intent edited, checked,
tested, created, retired and restored; the history, diffs and rollback; two admins editing
one intent; and who may do any of it. Every form is submitted as the browser would, with the
values the page itself put in it."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser

from fastapi.testclient import TestClient
from markupsafe import escape

from bot.app import App
from bot.core.ports import RevisionMeta
from intents.drafts import faq_intents
from tests.web.conftest import add_staff, log_in, staff_client
from tests.web.test_admin import answer_to, editable, editable_app

__all__ = ["editable", "editable_app"]  # fixtures, shared with the admin pages' tests

SIZE = "lingang_area"
QUESTION = "how big is lingang?"
NEW_ANSWER = "Lingang's start-up area is 119.5 km² (answer edited in the console)."


class FormReader(HTMLParser):
    """The fields of one form on a page, as a browser would submit them (no button)."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id = form_id
        self.inside = False
        self.values: dict[str, str] = {}
        self._area: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {key: value or "" for key, value in attrs}
        if tag == "form":
            self.inside = found.get("id") == self.form_id
        if not self.inside:
            return
        if tag == "input" and found.get("name") and found.get("type") != "submit":
            self.values[found["name"]] = found.get("value", "")
        elif tag == "textarea":
            self._area = found["name"]
            self.values[self._area] = ""
        elif tag == "select":
            self._select = found["name"]
        elif tag == "option" and self._select and "selected" in found:
            self.values[self._select] = found.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "textarea":
            self._area = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data: str) -> None:
        if self._area is not None:
            # the parser drops the line break after <textarea> as a browser does
            self.values[self._area] += data


def form_on(page: str, form_id: str = "intent-form") -> dict[str, str]:
    """The values of the form `form_id` on `page`."""
    reader = FormReader(form_id)
    reader.feed(page)
    values = reader.values
    return {
        key: value.removeprefix("\n") if key in AREAS else value for key, value in values.items()
    }


AREAS = {
    "answer_en",
    "answer_zh",
    "examples_en",
    "examples_zh",
    "negatives_en",
    "negatives_zh",
    "tests_en",
    "tests_zh",
    "buttons",
    "sources",
}


def open_editor(client: TestClient, intent_id: str) -> dict[str, str]:
    """Open an intent's edit page; its form's values."""
    response = client.get(f"/admin/intents/{intent_id}/edit")
    assert response.status_code == 200, response.text
    return form_on(response.text)


def submit(client: TestClient, intent_id: str, values: dict[str, str], action: str = "save") -> str:
    """Post the edit form with one of its buttons; the response's page (or redirect)."""
    response = client.post(f"/admin/intents/{intent_id}/edit", data={**values, "action": action})
    return f"{response.status_code} {response.headers.get('location', '')}\n{response.text}"


def version(app: App) -> int:
    assert app.catalog.version is not None
    return app.catalog.version


def answer_of(app: App, intent_id: str) -> str:
    return app.knowledge.current.catalog.intent(intent_id).answer.en


def unlinked_intent(app: App) -> tuple[str, str]:
    """An intent no button leads to, and an example of it the bot answers with it."""
    catalog = app.knowledge.current.catalog
    payloads = {b.payload for i in catalog.intents.values() for b in i.buttons}
    payloads |= {b.payload for b in catalog.settings.fallback_buttons}
    for intent in catalog.intents.values():
        if f"intent:{intent.id}" in payloads:
            continue
        example = intent.examples.en[0]
        if answer_to(app, example, f"pick-{intent.id}") == intent.answer.en:
            return intent.id, example
    raise AssertionError("every intent is linked")


# -- editing -------------------------------------------------------------------------------


def test_an_edited_answer_is_what_the_bot_answers_next(
    editable_app: App, editable: TestClient
) -> None:
    staff_client(editable_app, editable, "admin")
    before = version(editable_app)
    values = open_editor(editable, SIZE)
    assert values["answer_en"] == answer_of(editable_app, SIZE)
    assert values["etag"]
    assert values["csrf"]

    values |= {"answer_en": NEW_ANSWER, "comment": "the start-up area only"}
    result = submit(editable, SIZE, values)

    assert result.startswith(f"303 /admin/intents/{SIZE}?saved={before + 1}")
    assert answer_to(editable_app, QUESTION, "c1") == NEW_ANSWER
    revision = editable_app.catalog.revision
    assert revision is not None
    assert (revision.kind, revision.actor, revision.comment) == (
        "edit",
        "admin@example.com",
        "the start-up area only",
    )
    assert revision.touches(SIZE)
    page = editable.get(f"/admin/intents/{SIZE}?saved={before + 1}").text
    assert f"Saved as revision {before + 1}" in page
    assert escape(NEW_ANSWER) in page
    [entry] = [e for e in editable_app.storage.staff.audit_log() if e.action == "intent.edit"]
    assert (entry.actor, entry.target) == ("admin@example.com", SIZE)
    assert entry.details["revision"] == before + 1
    assert entry.details["file"] == "faq/lingang_basics.yaml"


def test_an_untouched_form_changes_nothing(editable_app: App, editable: TestClient) -> None:
    """Opening an intent and saving it as it is makes no revision (no layout noise)."""
    staff_client(editable_app, editable, "admin")
    before = version(editable_app)
    values = open_editor(editable, SIZE)
    page = submit(editable, SIZE, values, "check")
    assert 'id="check-result"' in page
    assert "No changes." in page
    result = submit(editable, SIZE, values)
    assert result.startswith("400")
    assert "Not saved: nothing changed." in result
    assert version(editable_app) == before


def test_a_missing_chinese_answer_is_refused_next_to_its_field_and_nothing_is_lost(
    editable_app: App, editable: TestClient
) -> None:
    staff_client(editable_app, editable, "admin")
    before = version(editable_app)
    values = open_editor(editable, SIZE)
    values |= {"answer_en": NEW_ANSWER, "answer_zh": "", "comment": "why: shorter"}

    page = submit(editable, SIZE, values)

    assert page.startswith("400")
    problem = re.search(r'id="problems-answer_zh"><li>([^<]*)</li>', page)
    assert problem is not None
    assert problem.group(1) == "required"
    assert 'id="f-answer_zh" name="answer_zh" rows="6" aria-invalid="true"' in page
    kept = form_on(page.split("\n", 1)[1])
    assert kept == {**values, "answer_zh": ""}, "everything typed comes back"
    assert version(editable_app) == before
    assert answer_to(editable_app, QUESTION, "c1") != NEW_ANSWER


def test_a_button_to_an_unknown_intent_shows_the_load_problem_and_saves_nothing(
    editable_app: App, editable: TestClient
) -> None:
    staff_client(editable_app, editable, "admin")
    before = version(editable_app)
    values = open_editor(editable, SIZE)
    line = "intent:no_such_place | Nowhere | 无处"
    values |= {"buttons": values["buttons"] + "\n" + line, "answer_en": NEW_ANSWER}

    page = submit(editable, SIZE, values)

    assert page.startswith("400")
    assert "Not saved: with this change the catalog does not load." in page
    assert re.search(
        r"faq/lingang_basics\.yaml:\d+: button points to unknown intent &#39;no_such_place&#39;",
        page,
    )
    assert form_on(page.split("\n", 1)[1])["buttons"].endswith(line)
    assert version(editable_app) == before
    assert not [e for e in editable_app.storage.staff.audit_log() if e.action == "intent.edit"]


def test_a_malformed_button_line_and_a_bad_date_are_named_with_their_fields(
    editable_app: App, editable: TestClient
) -> None:
    staff_client(editable_app, editable, "admin")
    values = open_editor(editable, SIZE)
    values |= {"buttons": "intent:lingang_history | History", "valid_until": "next year"}
    page = submit(editable, SIZE, values)
    assert page.startswith("400")
    assert "line 1: write payload | English title | Chinese title" in page
    assert "&#39;next year&#39; is not a date (YYYY-MM-DD)" in page


def test_check_shows_the_warnings_and_the_diff_and_saves_nothing(
    editable_app: App, editable: TestClient
) -> None:
    staff_client(editable_app, editable, "admin")
    before = version(editable_app)
    values = open_editor(editable, SIZE)
    borrowed = editable_app.knowledge.current.catalog.intent("lingang_overview").examples.en[0]
    values["examples_en"] += f"\n{borrowed}"

    page = submit(editable, SIZE, values, "check")

    assert page.startswith("200")
    assert "The catalog loads with this draft." in page
    warnings = page.split('<ul class="warnings">')[1].split("</ul>")[0]
    assert f"{SIZE}: example" in warnings
    assert "lingang_overview" in warnings
    diff = page.split("What will change")[1]
    assert f'<span class="add">+        - {borrowed}</span>' in diff.replace("&#39;", "'")
    assert form_on(page.split("\n", 1)[1])["examples_en"].endswith(borrowed)
    assert version(editable_app) == before


def test_the_test_box_answers_from_the_draft_not_the_catalog(
    editable_app: App, editable: TestClient
) -> None:
    staff_client(editable_app, editable, "admin")
    before = version(editable_app)
    old = answer_of(editable_app, SIZE)
    values = open_editor(editable, SIZE)
    values |= {"answer_en": NEW_ANSWER, "question": QUESTION, "test_lang": "en"}

    page = submit(editable, SIZE, values, "test")

    result = page.split('id="test-result"')[1].split("</dl>")[0]
    assert '<dd class="matched">lingang_area</dd>' in result
    assert escape(NEW_ANSWER) in result
    assert form_on(page.split("\n", 1)[1])["question"] == QUESTION
    assert version(editable_app) == before
    assert answer_to(editable_app, QUESTION, "c1") == old


# -- creating, retiring, restoring -----------------------------------------------------------


NEW_ID = "lingang_kayaking"
KAYAK_ANSWER = "Kayaking on Dishui Lake is possible at its water sports centre."


def new_intent_values(client: TestClient) -> dict[str, str]:
    page = client.get("/admin/catalog/new")
    assert page.status_code == 200
    values = form_on(page.text)
    assert values["etag"] == "absent"
    return values | {
        "id": NEW_ID,
        "title_en": "Kayaking",
        "title_zh": "皮划艇",
        "answer_en": KAYAK_ANSWER,
        "answer_zh": "滴水湖水上运动中心可以划皮划艇。",
        "examples_en": "can I go kayaking on dishui lake\nkayak rental dishui lake",
        "examples_zh": "滴水湖可以划皮划艇吗\n滴水湖皮划艇租赁",
        "tags": "lifestyle, lake",
        "buttons": "intent:lingang_area | Size | 面积",
        "comment": "asked at the fair",
    }


def test_a_new_intent_in_a_new_file_is_answered(editable_app: App, editable: TestClient) -> None:
    staff_client(editable_app, editable, "admin")
    values = new_intent_values(editable) | {"file": "new", "new_file": "leisure"}

    response = editable.post("/admin/catalog/new", data={**values, "action": "save"})

    assert response.status_code == 303, response.text
    assert response.headers["location"].startswith(f"/admin/intents/{NEW_ID}?saved=")
    assert answer_to(editable_app, "can I go kayaking on dishui lake?", "c1") == KAYAK_ANSWER
    files = editable_app.catalog.files()
    assert faq_intents(files)[NEW_ID].path == "faq/leisure.yaml"
    assert faq_intents(files)[NEW_ID].data["tags"] == ["lifestyle", "lake"]
    revision = editable_app.catalog.revision
    assert revision is not None
    assert revision.kind == "create"
    entry = editable_app.storage.staff.audit_log()[0]
    assert (entry.action, entry.target) == ("intent.create", NEW_ID)
    assert entry.details["file"] == "faq/leisure.yaml"


def test_a_new_intent_needs_a_free_id_and_a_file(editable_app: App, editable: TestClient) -> None:
    staff_client(editable_app, editable, "admin")
    before = version(editable_app)
    values = new_intent_values(editable) | {"id": SIZE, "file": "faq/lingang_basics.yaml"}
    page = editable.post("/admin/catalog/new", data={**values, "action": "save"})
    assert page.status_code == 400
    assert f"there is already an intent {SIZE}; choose another id" in page.text
    values |= {"id": "Bad Id", "file": "new", "new_file": "../escape"}
    page = editable.post("/admin/catalog/new", data={**values, "action": "save"})
    assert page.status_code == 400
    assert "2 to 40 lower-case letters, digits or _, starting with a letter" in page.text
    assert 'id="problems-file"' in page.text
    assert form_on(page.text)["answer_en"] == KAYAK_ANSWER
    assert version(editable_app) == before


def test_a_new_intent_goes_into_a_chosen_file(editable_app: App, editable: TestClient) -> None:
    staff_client(editable_app, editable, "admin")
    values = new_intent_values(editable) | {"file": "faq/lingang_basics.yaml"}
    response = editable.post("/admin/catalog/new", data={**values, "action": "save"})
    assert response.status_code == 303, response.text
    assert faq_intents(editable_app.catalog.files())[NEW_ID].path == "faq/lingang_basics.yaml"


def test_a_retired_intent_is_no_longer_matched_is_listed_and_can_be_restored(
    editable_app: App, editable: TestClient
) -> None:
    staff_client(editable_app, editable, "admin")
    intent_id, example = unlinked_intent(editable_app)
    answer = answer_of(editable_app, intent_id)
    confirm = editable.get(f"/admin/intents/{intent_id}/retire")
    assert confirm.status_code == 200
    assert f'<span class="badge change-retired">retired</span>\n    <code>{intent_id}' in (
        confirm.text
    )
    fields = form_on(confirm.text.replace("<form method", '<form id="retire" method'), "retire")

    response = editable.post(
        f"/admin/intents/{intent_id}/retire", data=fields | {"comment": "out of date"}
    )

    assert response.status_code == 303, response.text
    assert intent_id not in editable_app.knowledge.current.catalog.intents
    assert answer_to(editable_app, example, "c2") != answer
    retired = editable.get(response.headers["location"]).text
    assert f"Retired {intent_id}" in retired
    assert f'id="retired-{intent_id}"' in retired
    assert "out of date" in retired
    assert editable.get(f"/admin/intents/{intent_id}").status_code == 404

    restored = editable.post(
        f"/admin/catalog/retired/{intent_id}/restore",
        data={"csrf": fields["csrf"], "comment": "needed after all"},
    )

    assert restored.status_code == 303, restored.text
    assert answer_to(editable_app, example, "c3") == answer
    assert f'id="retired-{intent_id}"' not in editable.get("/admin/catalog/retired").text
    actions = [(e.action, e.target) for e in editable_app.storage.staff.audit_log()[:2]]
    assert actions == [("intent.restore", intent_id), ("intent.retire", intent_id)]


def test_retiring_an_intent_that_buttons_lead_to_is_refused_with_the_reasons(
    editable_app: App, editable: TestClient
) -> None:
    staff_client(editable_app, editable, "admin")
    before = version(editable_app)
    confirm = editable.get("/admin/intents/lingang_location/retire").text
    assert "button points to unknown intent &#39;lingang_location&#39;" in confirm
    fields = form_on(confirm.replace("<form method", '<form id="retire" method'), "retire")
    response = editable.post("/admin/intents/lingang_location/retire", data=fields)
    assert response.status_code == 400
    assert "Not retired: without it the catalog does not load." in response.text
    assert version(editable_app) == before


# -- history, diffs, rollback ----------------------------------------------------------------


def edit_answer(client: TestClient, text: str, comment: str = "") -> None:
    values = open_editor(client, SIZE) | {"answer_en": text, "comment": comment}
    assert submit(client, SIZE, values).startswith("303")


def test_the_history_shows_who_when_what_and_why_with_links(
    editable_app: App, editable: TestClient
) -> None:
    staff_client(editable_app, editable, "admin")
    edit_answer(editable, NEW_ANSWER, "the start-up area only")
    number = version(editable_app)

    page = editable.get("/admin/catalog/history").text

    row = page.split(f'id="revision-{number}"')[1].split("</tr>")[0]
    assert "admin@example.com" in row
    assert "<code>edit</code>" in row
    assert "the start-up area only" in row
    assert f'href="/admin/catalog/diff?from={number - 1}&amp;to={number}&amp;intent={SIZE}"' in row
    assert f'href="/admin/intents/{SIZE}"' in row
    assert 'id="revision-1"' in page
    assert "<code>seed</code>" in page

    mine = editable.get(f"/admin/intents/{SIZE}/history").text
    assert f'id="revision-{number}"' in mine
    assert 'id="revision-1"' in mine
    other = editable.get("/admin/intents/lingang_history/history").text
    assert f'id="revision-{number}"' not in other
    assert 'id="revision-1"' in other
    assert editable.get("/admin/intents/never_was/history").status_code == 404


def test_the_history_is_paginated(editable_app: App, editable: TestClient) -> None:
    staff_client(editable_app, editable, "admin")
    revisions = editable_app.catalog.revisions
    files = editable_app.catalog.files()
    for _ in range(55):  # revisions with the same files, made without the console
        latest = revisions.latest()
        assert latest is not None
        meta = RevisionMeta("script@example.com", datetime.now(UTC), "import", "same files")
        revisions.add(latest.number, files, meta)
    first = editable.get("/admin/catalog/history").text
    assert 'id="revision-56"' in first
    assert 'id="revision-7"' in first
    assert 'id="revision-6"' not in first
    assert 'href="/admin/catalog/history?page=2"' in first
    second = editable.get("/admin/catalog/history?page=2").text
    assert 'id="revision-6"' in second
    assert 'id="revision-1"' in second
    assert 'href="/admin/catalog/history?page=1"' in second
    assert "?page=3" not in second


def test_the_diff_between_two_revisions_shows_the_lines_changed(
    editable_app: App, editable: TestClient
) -> None:
    staff_client(editable_app, editable, "admin")
    old = answer_of(editable_app, SIZE)
    edit_answer(editable, NEW_ANSWER)
    number = version(editable_app)

    page = editable.get(f"/admin/catalog/diff?from=1&to={number}&intent={SIZE}").text

    assert f"Revision 1 → revision {number} · {SIZE}" in page
    unescaped = page.replace("&#34;", '"').replace("&#39;", "'")
    assert f'<span class="del">-      en: "{old}"</span>' in unescaped
    assert f'<span class="add">+      en: "{NEW_ANSWER}"</span>' in unescaped
    assert "change-edited" in page
    backwards = editable.get(f"/admin/catalog/diff?from={number}&to=1&intent={SIZE}").text
    assert f'<span class="add">+      en: "{old}"</span>' in backwards.replace(
        "&#34;", '"'
    ).replace("&#39;", "'")
    assert editable.get("/admin/catalog/diff?from=1&to=999").status_code == 404
    assert editable.get("/admin/catalog/diff?from=x&to=1").status_code == 404
    revision = editable.get(f"/admin/catalog/revisions/{number}").text
    assert f'<span class="add">+      en: "{NEW_ANSWER}"</span>' in revision.replace(
        "&#34;", '"'
    ).replace("&#39;", "'")


def test_a_rollback_is_a_new_revision_with_the_old_answer_back(
    editable_app: App, editable: TestClient
) -> None:
    csrf = staff_client(editable_app, editable, "admin")
    old = answer_of(editable_app, SIZE)
    edit_answer(editable, NEW_ANSWER)
    edited = version(editable_app)
    confirm = editable.get("/admin/catalog/revisions/1/rollback")
    assert confirm.status_code == 200
    assert f'<span class="add">+      en: "{old}"</span>' in confirm.text.replace(
        "&#34;", '"'
    ).replace("&#39;", "'")

    response = editable.post(
        "/admin/catalog/revisions/1/rollback", data={"csrf": csrf, "comment": "undo the size"}
    )

    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/admin/catalog/revisions/{edited + 1}"
    revision = editable_app.catalog.revision
    assert revision is not None
    assert (revision.number, revision.kind, revision.comment) == (
        edited + 1,
        "rollback",
        "undo the size",
    )
    assert answer_to(editable_app, QUESTION, "c1") == old
    assert editable.get(f"/admin/catalog/revisions/{edited}").status_code == 200
    entry = editable_app.storage.staff.audit_log()[0]
    assert (entry.action, entry.details["to"], entry.details["revision"]) == (
        "catalog.rollback",
        1,
        edited + 1,
    )
    again = editable.post("/admin/catalog/revisions/1/rollback", data={"csrf": csrf})
    assert again.status_code == 400
    assert "nothing changed" in again.text


def test_a_rollback_to_a_revision_that_does_not_load_is_refused_with_the_reasons(
    editable_app: App, editable: TestClient
) -> None:
    csrf = staff_client(editable_app, editable, "admin")
    revisions = editable_app.catalog.revisions
    good = editable_app.catalog.files()
    broken = dict(good)
    path = "faq/lingang_basics.yaml"
    broken[path] = good[path].replace('"intent:lingang_location"', '"intent:gone_away"', 1)
    now = datetime.now(UTC)
    bad = revisions.add(1, broken, RevisionMeta("script@example.com", now, "import", "bad"))
    revisions.add(bad.number, good, RevisionMeta("script@example.com", now, "import", "fixed"))
    editable_app.catalog.follow()
    before = version(editable_app)

    response = editable.post(f"/admin/catalog/revisions/{bad.number}/rollback", data={"csrf": csrf})

    assert response.status_code == 400
    assert f"Not rolled back: the catalog of revision {bad.number} does not load" in response.text
    assert "button points to unknown intent &#39;gone_away&#39;" in response.text
    assert version(editable_app) == before


# -- two admins, and who may ---------------------------------------------------------------


def test_an_edit_made_from_an_old_etag_is_refused_naming_who_changed_it(
    editable_app: App, editable: TestClient
) -> None:
    staff_client(editable_app, editable, "admin")
    mine = open_editor(editable, SIZE)  # opened first; the other admin saves meanwhile
    add_staff(editable_app, "other@example.com", "admin")
    log_in(editable, "other@example.com")
    edit_answer(editable, "The other admin's answer.")
    won = version(editable_app)
    log_in(editable, "admin@example.com")
    current = form_on(editable.get(f"/admin/intents/{SIZE}/edit").text)
    assert current["etag"] != mine["etag"]
    mine |= {"answer_en": NEW_ANSWER, "csrf": current["csrf"]}

    page = submit(editable, SIZE, mine)

    assert page.startswith("409")
    alert = page.split('class="card conflict"')[1].split("</div>")[0]
    assert f"revision {won}</a>" in alert
    assert "other@example.com" in alert
    assert f'href="/admin/intents/{SIZE}/edit"' in alert
    kept = form_on(page.split("\n", 1)[1])
    assert kept["answer_en"] == NEW_ANSWER
    assert kept["etag"] == mine["etag"], "saving again is refused again, never overwrites"
    assert answer_of(editable_app, SIZE) == "The other admin's answer."


def test_an_intent_retired_while_open_cannot_be_checked_or_saved(
    editable_app: App, editable: TestClient
) -> None:
    staff_client(editable_app, editable, "admin")
    intent_id, _ = unlinked_intent(editable_app)
    mine = open_editor(editable, intent_id) | {"answer_en": NEW_ANSWER}
    confirm = editable.get(f"/admin/intents/{intent_id}/retire").text
    fields = form_on(confirm.replace("<form method", '<form id="retire" method'), "retire")
    assert editable.post(f"/admin/intents/{intent_id}/retire", data=fields).status_code == 303
    retired = version(editable_app)

    checked = submit(editable, intent_id, mine, "check")
    saved = submit(editable, intent_id, mine)

    for page in (checked, saved):
        alert = page.split('class="card conflict"')[1].split("</div>")[0]
        assert f"{intent_id} was retired in" in alert
        assert f"revision {retired}</a>" in alert
        assert form_on(page.split("\n", 1)[1])["answer_en"] == NEW_ANSWER
    assert saved.startswith("409")
    assert 'id="check-result"' not in checked
    assert version(editable_app) == retired
    assert intent_id not in editable_app.knowledge.current.catalog.intents


def test_sales_staff_are_refused_the_editor_and_its_changes(
    editable_app: App, editable: TestClient
) -> None:
    csrf = staff_client(editable_app, editable, "sales")
    before = version(editable_app)
    pages = [
        f"/admin/intents/{SIZE}/edit",
        "/admin/catalog/new",
        f"/admin/intents/{SIZE}/retire",
        "/admin/catalog/retired",
        "/admin/catalog/history",
        f"/admin/intents/{SIZE}/history",
        "/admin/catalog/diff?from=1&to=1",
        "/admin/catalog/revisions/1",
        "/admin/catalog/revisions/1/rollback",
    ]
    changes = [
        f"/admin/intents/{SIZE}/edit",
        "/admin/catalog/new",
        f"/admin/intents/{SIZE}/retire",
        f"/admin/catalog/retired/{SIZE}/restore",
        "/admin/catalog/revisions/1/rollback",
    ]
    statuses = {f"GET {p}": editable.get(p).status_code for p in pages}
    data = {"csrf": csrf, "action": "save", "answer_en": NEW_ANSWER}
    statuses |= {f"POST {p}": editable.post(p, data=data).status_code for p in changes}
    assert set(statuses.values()) == {403}, statuses
    assert version(editable_app) == before


def test_changes_without_the_csrf_token_are_refused(
    editable_app: App, editable: TestClient
) -> None:
    staff_client(editable_app, editable, "admin")
    before = version(editable_app)
    values = open_editor(editable, SIZE) | {"answer_en": NEW_ANSWER}
    for token in ("", "forged"):
        for path in (f"/admin/intents/{SIZE}/edit", f"/admin/intents/{SIZE}/retire"):
            response = editable.post(path, data={**values, "csrf": token, "action": "save"})
            assert response.status_code == 403
        rollback = editable.post("/admin/catalog/revisions/1/rollback", data={"csrf": token})
        assert rollback.status_code == 403
    assert version(editable_app) == before
    assert answer_of(editable_app, SIZE) != NEW_ANSWER
