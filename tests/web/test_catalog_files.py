"""The catalog's other files from the console: the bot's own replies and settings edited as
YAML, checked (the catalog must still load), saved as a revision the bot answers with at once,
refused with the reasons or on a conflict (the text kept), admins only."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from bot.app import App
from tests.web.conftest import staff_client
from tests.web.test_admin import answer_to, editable, editable_app

__all__ = ["editable", "editable_app"]  # fixtures, shared with the admin pages' tests

OLD = "Sorry, I don't know that one yet."
NEW = "Hmm, that one is new to me."
UNKNOWN = "what colour are the lamp posts on the moon"


def etag_on(page: str) -> str:
    found = re.search(r'name="etag" value="([^"]+)"', page)
    assert found, "the form carries the etag it was opened with"
    return found.group(1)


def test_a_reply_changed_in_catalog_yaml_is_what_the_bot_says_next(
    editable_app: App, editable: TestClient
) -> None:
    csrf = staff_client(editable_app, editable, "admin")
    listing = editable.get("/admin/catalog/files").text
    assert 'href="/admin/catalog/files/catalog.yaml"' in listing
    assert 'href="/admin/catalog/files/forms/lead.yaml"' in listing
    page = editable.get("/admin/catalog/files/catalog.yaml")
    assert page.status_code == 200
    text = editable_app.catalog.files()["catalog.yaml"]
    edited = text.replace(OLD, NEW)
    form = {"csrf": csrf, "text": edited, "etag": etag_on(page.text), "comment": "friendlier"}

    checked = editable.post("/admin/catalog/files/catalog.yaml", data={**form, "action": "check"})
    assert checked.status_code == 200
    assert "The catalog loads with this file." in checked.text
    added = re.findall(r'<span class="add">([^<]*)</span>', checked.text)
    assert any(NEW in line for line in added), "the diff shows the new reply's line"
    assert editable_app.catalog.version == 1, "a check saves nothing"

    saved = editable.post("/admin/catalog/files/catalog.yaml", data={**form, "action": "save"})

    assert saved.status_code == 303
    assert saved.headers["location"] == "/admin/catalog/files/catalog.yaml?saved=2"
    assert answer_to(editable_app, UNKNOWN, "c1").startswith(NEW)
    revision = editable_app.catalog.revision
    assert revision is not None
    assert (revision.number, revision.actor, revision.comment) == (
        2,
        "admin@example.com",
        "friendlier",
    )
    assert [(c.kind, c.subject) for c in revision.changes] == [("file", "catalog.yaml")]
    entry = editable_app.storage.staff.audit_log()[0]
    assert (entry.action, entry.target) == ("catalog.file_edit", "catalog.yaml")


def test_a_file_that_breaks_the_catalog_is_refused_with_its_line_and_kept_in_the_form(
    editable_app: App, editable: TestClient
) -> None:
    csrf = staff_client(editable_app, editable, "admin")
    page = editable.get("/admin/catalog/files/catalog.yaml").text
    text = editable_app.catalog.files()["catalog.yaml"]
    broken = text.replace("  fallback:\n", "  fallbak:\n", 1)
    form = {"csrf": csrf, "text": broken, "etag": etag_on(page), "action": "save"}

    refused = editable.post("/admin/catalog/files/catalog.yaml", data=form)

    assert refused.status_code == 400
    assert "catalog.yaml:" in refused.text
    assert "fallbak" in refused.text
    assert editable_app.catalog.version == 1
    assert answer_to(editable_app, UNKNOWN, "c1").startswith(OLD)


def test_a_file_changed_by_someone_else_since_it_was_opened_is_not_overwritten(
    editable_app: App, editable: TestClient
) -> None:
    csrf = staff_client(editable_app, editable, "admin")
    seen = etag_on(editable.get("/admin/catalog/files/catalog.yaml").text)
    text = editable_app.catalog.files()["catalog.yaml"]
    first = {"csrf": csrf, "text": text.replace(OLD, NEW), "etag": seen, "action": "save"}
    assert editable.post("/admin/catalog/files/catalog.yaml", data=first).status_code == 303
    mine = text.replace(OLD, "Mine, typed in the meantime.")
    second = {"csrf": csrf, "text": mine, "etag": seen, "action": "save"}

    conflict = editable.post("/admin/catalog/files/catalog.yaml", data=second)

    assert conflict.status_code == 409
    assert "revision 2 by admin@example.com" in conflict.text
    assert "Mine, typed in the meantime." in conflict.text
    assert answer_to(editable_app, UNKNOWN, "c1").startswith(NEW)


def test_only_admins_with_the_form_token_edit_files(
    editable_app: App, editable: TestClient
) -> None:
    page = editable.get("/admin/catalog/files/catalog.yaml")
    assert page.status_code in (303, 401, 403)
    csrf = staff_client(editable_app, editable, "sales")
    assert editable.get("/admin/catalog/files").status_code == 403
    form = {"csrf": csrf, "text": "version: 1\n", "etag": "x", "action": "save"}
    assert editable.post("/admin/catalog/files/catalog.yaml", data=form).status_code == 403
    staff_client(editable_app, editable, "admin")
    no_token = {"text": "version: 1\n", "etag": "x", "action": "save"}
    assert editable.post("/admin/catalog/files/catalog.yaml", data=no_token).status_code == 403
    assert editable.get("/admin/catalog/files/../pyproject.toml").status_code == 404
    assert editable.get("/admin/catalog/files/heldout/dev/leads.yaml").status_code == 404
    assert editable_app.catalog.version == 1
