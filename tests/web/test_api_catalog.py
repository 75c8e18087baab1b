"""The catalog API as an admin's automation uses it: scoped tokens, the intents with their
etags, edits that the bot answers with at once, refusals that save nothing, the catalog's
history, the audit log and the OpenAPI document."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bot.app import App
from bot.core.messages import Incoming
from bot.core.staff import Scope
from bot.web import api_catalog
from bot.web.security import digest, new_api_token
from intents.drafts import etag
from tests.web.conftest import staff_client

TARGET = "lingang_location"  # shown with an example the lexical matcher answers
QUESTION = "Where is Lingang?"
LINKED = "talk_to_consultant"  # many intents' buttons lead to it
NEW_ANSWER = {
    "en": "Lingang sits at the south-east tip of Shanghai, by Dishui Lake (updated).",
    "zh": "临港位于上海东南端，滴水湖畔（已更新）。",
}


def make_token(app: App, name: str, scope: Scope) -> tuple[int, str]:
    """A live token (id, secret), as `lingang-bot tokens create NAME --scope` makes one."""
    secret = new_api_token()
    token = app.storage.staff.create_token(name, digest(secret), "test", scope)
    return token.id, secret


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def admin_token(site_app: App) -> str:
    return make_token(site_app, "automation", "catalog:admin")[1]


def answer_to(app: App, text: str, conversation: str) -> str:
    """The bot's first reply to a web visitor's question."""
    replies = app.engine.handle(Incoming("web", conversation, f"visitor-{conversation}", text))
    return replies[0].text


def read(site: TestClient, secret: str, intent_id: str = TARGET) -> tuple[dict[str, Any], str]:
    """An intent's body and its `ETag` header."""
    response = site.get(f"/api/intents/{intent_id}", headers=bearer(secret))
    assert response.status_code == 200, response.text
    return response.json(), response.headers["etag"]


def put(
    site: TestClient, secret: str, body: dict[str, Any], intent_id: str = TARGET, **headers: str
) -> Any:
    names = {"if_match": "If-Match", "if_none_match": "If-None-Match"}
    sent = {**bearer(secret), **{names[k]: v for k, v in headers.items()}}
    return site.put(f"/api/intents/{intent_id}", json=body, headers=sent)


def new_intent(intent_id: str) -> dict[str, Any]:
    return {
        "id": intent_id,
        "title": {"en": "Ferry to Yangshan", "zh": "去洋山的渡轮"},
        "examples": {
            "en": ["Is there a ferry from the harbour to the islands?", "ferry timetable"],
            "zh": ["有去岛上的渡轮吗？", "渡轮时刻表"],
        },
        "answer": {
            "en": "No ferry runs there; take the bridge bus.",
            "zh": "没有渡轮，请坐桥上的公交。",
        },
        "reviewed": "2026-12-01",
    }


# -- who may -----------------------------------------------------------------------------------

ENDPOINTS = [
    ("GET", "/api/intents"),
    ("GET", f"/api/intents/{TARGET}"),
    ("PUT", f"/api/intents/{TARGET}"),
    ("DELETE", f"/api/intents/{TARGET}"),
    ("GET", "/api/catalog/revisions"),
]


def test_only_a_live_catalog_token_opens_the_catalog(site_app: App, site: TestClient) -> None:
    _, leads = make_token(site_app, "crm", "leads:read")
    revoked_id, revoked = make_token(site_app, "old automation", "catalog:admin")
    site_app.storage.staff.revoke_token(revoked_id, "test")
    _, admin = make_token(site_app, "automation", "catalog:admin")
    staff_client(site_app, site, "admin")  # a session cookie rides along with every request
    seen: dict[tuple[str, str, str], int] = {}
    for method, path in ENDPOINTS:
        for who, headers in (
            ("cookie only", {}),
            ("leads", bearer(leads)),
            ("revoked", bearer(revoked)),
            ("admin", bearer(admin)),
        ):
            seen[method, path, who] = site.request(method, path, headers=headers).status_code
    expected: dict[tuple[str, str, str], int] = {}
    for method, path in ENDPOINTS:
        allowed = 200 if method == "GET" else 428  # a write without If-Match: the token passed
        expected |= {
            (method, path, "cookie only"): 401,
            (method, path, "leads"): 403,
            (method, path, "revoked"): 401,
            (method, path, "admin"): allowed,
        }
    assert seen == expected
    assert site_app.catalog.version == 1  # nothing was written


def test_a_refusal_says_which_scope_is_needed(site_app: App, site: TestClient) -> None:
    _, leads = make_token(site_app, "crm", "leads:read")
    wrong = site.get("/api/intents", headers=bearer(leads))
    assert wrong.status_code == 403
    assert "catalog:admin" in wrong.json()["detail"]
    assert "leads:read" in wrong.json()["detail"]
    nobody = site.get("/api/intents")
    assert (nobody.status_code, nobody.headers["www-authenticate"]) == (401, "Bearer")


def test_a_catalog_token_does_not_read_the_leads(site_app: App, site: TestClient) -> None:
    _, leads = make_token(site_app, "crm", "leads:read")
    _, admin = make_token(site_app, "automation", "catalog:admin")
    for path in ("/api/leads", "/api/leads/1"):
        refused = site.get(path, headers=bearer(admin))
        assert refused.status_code == 403
        assert "leads:read" in refused.json()["detail"]
    assert site.get("/api/leads", headers=bearer(leads)).status_code == 200


# -- reading -----------------------------------------------------------------------------------


def test_the_list_has_every_intent_with_its_etag(
    site_app: App, site: TestClient, admin_token: str
) -> None:
    response = site.get("/api/intents", headers=bearer(admin_token))
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    files = site_app.catalog.files()
    assert body["revision"] == site_app.catalog.version == 1
    listed = {intent["id"]: intent for intent in body["intents"]}
    assert set(listed) == set(site_app.knowledge.current.catalog.intents)
    intent = site_app.knowledge.current.catalog.intent(TARGET)
    mine = listed[TARGET]
    assert mine["title"] == {"en": intent.title.en, "zh": intent.title.zh}
    assert mine["tags"] == list(intent.tags)
    assert mine["file"] == "faq/lingang_basics.yaml"
    assert mine["examples"] == {"en": len(intent.examples.en), "zh": len(intent.examples.zh)}
    assert mine["reviewed"] == (intent.reviewed.isoformat() if intent.reviewed else None)
    assert {"valid_until", "review_every"} <= set(mine)
    for intent_id in (TARGET, LINKED, next(iter(listed))):
        assert listed[intent_id]["etag"] == etag(files, intent_id)


def test_one_intent_in_full_with_its_etag_header(
    site_app: App, site: TestClient, admin_token: str
) -> None:
    body, header = read(site, admin_token)
    files = site_app.catalog.files()
    assert header == f'"{etag(files, TARGET)}"'
    assert body["etag"] == header.strip('"')
    assert (body["id"], body["file"], body["revision"]) == (TARGET, "faq/lingang_basics.yaml", 1)
    intent = site_app.knowledge.current.catalog.intent(TARGET)
    assert body["intent"]["answer"]["en"].strip() == intent.answer.en
    assert body["intent"]["examples"]["en"] == list(intent.examples.en)
    if intent.reviewed:
        assert body["intent"]["reviewed"] == intent.reviewed.isoformat()  # a day, as ISO
    missing = site.get("/api/intents/no_such_intent", headers=bearer(admin_token))
    assert (missing.status_code, missing.json()) == (404, {"detail": "no intent no_such_intent"})


# -- editing -----------------------------------------------------------------------------------


def test_an_edit_is_what_the_bot_answers_at_once(
    site_app: App, site: TestClient, admin_token: str
) -> None:
    assert NEW_ANSWER["en"] not in answer_to(site_app, QUESTION, "before")
    body, header = read(site, admin_token)
    changed = {**body["intent"], "answer": NEW_ANSWER}
    response = put(
        site, admin_token, {"intent": changed, "comment": "new wording"}, if_match=header
    )
    assert response.status_code == 200, response.text
    saved = response.json()
    assert (saved["kind"], saved["changed"], saved["revision"]) == ("edit", True, 2)
    assert saved["file"] == "faq/lingang_basics.yaml"
    assert isinstance(saved["warnings"], list)
    assert saved["etag"] == etag(site_app.catalog.files(), TARGET) != header.strip('"')
    assert response.headers["etag"] == f'"{saved["etag"]}"'
    assert answer_to(site_app, QUESTION, "after") == NEW_ANSWER["en"]
    again, new_header = read(site, admin_token)
    assert (again["intent"]["answer"], again["revision"]) == (NEW_ANSWER, 2)
    assert new_header == response.headers["etag"]


def test_a_save_comes_back_with_what_intents_check_says_of_it(
    site: TestClient, admin_token: str
) -> None:
    body, header = read(site, admin_token)
    theirs, _ = read(site, admin_token, LINKED)
    borrowed = theirs["intent"]["examples"]["en"][0]
    changed = copy.deepcopy(body["intent"])
    changed["examples"]["en"].append(borrowed)
    response = put(site, admin_token, {"intent": changed}, if_match=header)
    assert response.status_code == 200, response.text
    warnings = response.json()["warnings"]
    assert any(f"also an example of {LINKED}" in w for w in warnings)
    assert all(w.startswith("faq/lingang_basics.yaml:") for w in warnings)  # inside the catalog


def test_every_write_is_in_the_audit_log_and_the_history(
    site_app: App, site: TestClient, admin_token: str
) -> None:
    body, header = read(site, admin_token)
    changed = {**body["intent"], "answer": NEW_ANSWER}
    saved = put(site, admin_token, {"intent": changed, "comment": "new wording"}, if_match=header)
    assert saved.status_code == 200
    [entry] = [e for e in site_app.storage.staff.audit_log() if e.action.startswith("intent.")]
    assert (entry.actor, entry.action, entry.target) == (
        "token:automation",
        "intent.edit",
        f"intent {TARGET}",
    )
    assert entry.details["revision"] == 2
    assert entry.details["comment"] == "new wording"
    assert entry.details["etag"] == saved.json()["etag"]
    history = site.get("/api/catalog/revisions", headers=bearer(admin_token))
    assert history.status_code == 200
    newest, seed = history.json()["revisions"]
    assert history.json()["served"] == 2
    assert (newest["number"], newest["parent"], newest["actor"], newest["kind"]) == (
        2,
        1,
        "token:automation",
        "edit",
    )
    assert newest["comment"] == "new wording"
    assert newest["changes"] == [{"kind": "edited", "subject": TARGET}]
    assert (seed["number"], seed["kind"]) == (1, "seed")
    page = site.get("/api/catalog/revisions?limit=1&offset=1", headers=bearer(admin_token))
    assert [r["number"] for r in page.json()["revisions"]] == [1]


def test_a_write_needs_a_condition(site_app: App, site: TestClient, admin_token: str) -> None:
    body, _ = read(site, admin_token)
    response = put(site, admin_token, {"intent": body["intent"]})
    assert response.status_code == 428
    assert "If-Match" in response.json()["detail"]
    assert "If-None-Match: *" in response.json()["detail"]
    retire = site.delete(f"/api/intents/{TARGET}", headers=bearer(admin_token))
    assert retire.status_code == 428
    assert site_app.catalog.version == 1


def test_a_stale_etag_is_refused_with_who_changed_the_intent(
    site_app: App, site: TestClient, admin_token: str
) -> None:
    body, header = read(site, admin_token)
    theirs = copy.deepcopy(body["intent"])
    theirs["answer"]["en"] = "Someone else's answer."
    site_app.editor.save(TARGET, theirs, body["etag"], "alice@example.com", comment="theirs")
    mine = {**body["intent"], "answer": NEW_ANSWER}
    response = put(site, admin_token, {"intent": mine}, if_match=header)
    assert response.status_code == 412
    refused = response.json()
    assert (refused["intent"], refused["revision"], refused["actor"]) == (
        TARGET,
        2,
        "alice@example.com",
    )
    assert refused["etag"] == etag(site_app.catalog.files(), TARGET)
    assert "not saved" in refused["detail"]
    assert site_app.catalog.version == 2  # theirs stands, mine was not saved
    assert answer_to(site_app, QUESTION, "c") == "Someone else's answer."
    assert not [e for e in site_app.storage.staff.audit_log() if e.action.startswith("intent.")]


def test_invalid_fields_are_named(site_app: App, site: TestClient, admin_token: str) -> None:
    body, header = read(site, admin_token)
    broken = {**body["intent"], "answer": {"en": "Only English."}, "review_every": 0}
    response = put(site, admin_token, {"intent": broken}, if_match=header)
    assert response.status_code == 422
    refused = response.json()
    fields = {problem["field"] for problem in refused["fields"]}
    assert fields == {"answer.zh", "review_every"}
    assert all(problem["message"] for problem in refused["fields"])
    assert refused["catalog"] == []
    assert site_app.catalog.version == 1


MALFORMED: list[tuple[Any, str]] = [
    ({"intent": {"answer": NEW_ANSWER}, "comment": "x" * 501}, "comment"),
    ({"intent": {"id": "another_id"}}, "id"),
    ({"intent": [], "comment": ""}, "intent"),
    ({"intent": {}, "colour": "red"}, "colour"),
    ({"intent": {}, "file": "../../etc/passwd.yaml"}, "file"),
    ([1, 2], "body"),
]


def test_a_malformed_body_is_named_by_field(
    site_app: App, site: TestClient, admin_token: str
) -> None:
    _, header = read(site, admin_token)
    named: dict[str, bool] = {}
    for body, field in MALFORMED:
        response = put(site, admin_token, body, if_match=header)
        assert response.status_code == 422, body
        named[field] = field in {problem["field"] for problem in response.json()["fields"]}
    assert named == dict.fromkeys(named, True)
    assert site_app.catalog.version == 1


def test_a_catalog_that_would_not_load_is_refused_with_its_problems(
    site_app: App, site: TestClient, admin_token: str
) -> None:
    body, header = read(site, admin_token)
    button = {"title": {"en": "Nowhere", "zh": "无处"}, "payload": "intent:no_such_intent"}
    broken = {**body["intent"], "buttons": [button]}
    response = put(site, admin_token, {"intent": broken}, if_match=header)
    assert response.status_code == 422
    refused = response.json()
    assert refused["fields"] == []
    assert any("no_such_intent" in problem for problem in refused["catalog"])
    assert site_app.catalog.version == 1


def test_sending_the_intent_as_it_is_saves_nothing(
    site_app: App, site: TestClient, admin_token: str
) -> None:
    body, header = read(site, admin_token)
    response = put(site, admin_token, {"intent": body["intent"]}, if_match=header)
    assert response.status_code == 200
    assert (response.json()["changed"], response.json()["revision"]) == (False, 1)
    assert response.json()["etag"] == body["etag"]
    assert site_app.catalog.version == 1


def test_oversized_or_unparsable_bodies(site: TestClient, admin_token: str) -> None:
    _, header = read(site, admin_token)
    headers = {**bearer(admin_token), "If-Match": header, "Content-Type": "application/json"}
    path = f"/api/intents/{TARGET}"
    huge = b'{"intent": {}, "comment": "' + b"x" * (api_catalog.MAX_BODY + 1) + b'"}'
    assert site.put(path, content=huge, headers=headers).status_code == 413
    garbled = site.put(path, content=b"{not json", headers=headers)
    assert (garbled.status_code, "not JSON" in garbled.json()["detail"]) == (400, True)


# -- creating and retiring ---------------------------------------------------------------------


def test_create_with_if_none_match(site_app: App, site: TestClient, admin_token: str) -> None:
    body = {"intent": new_intent("yangshan_ferry"), "file": "faq/transport.yaml"}
    created = put(site, admin_token, body, "yangshan_ferry", if_none_match="*")
    assert created.status_code == 201, created.text
    saved = created.json()
    assert (saved["kind"], saved["file"], saved["revision"]) == ("create", "faq/transport.yaml", 2)
    assert created.headers["location"] == "/api/intents/yangshan_ferry"
    shown, header = read(site, admin_token, "yangshan_ferry")
    assert shown["intent"]["reviewed"] == "2026-12-01"
    assert "reviewed: 2026-12-01\n" in site_app.catalog.files()["faq/transport.yaml"]  # a day
    assert header == created.headers["etag"]
    reply = answer_to(site_app, "Is there a ferry from the harbour to the islands?", "f")
    assert reply == "No ferry runs there; take the bridge bus."
    [entry] = [e for e in site_app.storage.staff.audit_log() if e.action == "intent.create"]
    assert entry.actor == "token:automation"


def test_create_refuses_an_existing_intent_or_no_file(
    site_app: App, site: TestClient, admin_token: str
) -> None:
    body, _ = read(site, admin_token)
    exists = put(site, admin_token, {"intent": body["intent"]}, if_none_match="*")
    assert exists.status_code == 412
    assert "exists already" in exists.json()["detail"]
    assert exists.json()["etag"] == body["etag"]
    nowhere = put(site, admin_token, {"intent": new_intent("ferry")}, "ferry", if_none_match="*")
    assert nowhere.status_code == 422
    assert [p["field"] for p in nowhere.json()["fields"]] == ["file"]
    absent = put(site, admin_token, {"intent": new_intent("ferry")}, "ferry", if_match='"abc"')
    assert (absent.status_code, absent.json()["etag"]) == (412, "absent")
    assert site_app.catalog.version == 1


def test_retire_with_if_match(site_app: App, site: TestClient, admin_token: str) -> None:
    body = {"intent": new_intent("yangshan_ferry"), "file": "faq/transport.yaml"}
    created = put(site, admin_token, body, "yangshan_ferry", if_none_match="*")
    headers = {**bearer(admin_token), "If-Match": created.headers["etag"]}
    retired = site.delete("/api/intents/yangshan_ferry?comment=gone", headers=headers)
    assert retired.status_code == 200, retired.text
    assert (retired.json()["kind"], retired.json()["etag"], retired.json()["revision"]) == (
        "retire",
        None,
        3,
    )
    assert "faq/transport.yaml" not in site_app.catalog.files()  # its only intent
    gone = site.get("/api/intents/yangshan_ferry", headers=bearer(admin_token))
    assert gone.status_code == 404
    again = site.delete("/api/intents/yangshan_ferry", headers=headers)
    assert again.status_code == 404
    assert "intent.retire" in [e.action for e in site_app.storage.staff.audit_log()]


def test_an_intent_other_buttons_lead_to_is_not_retired(
    site_app: App, site: TestClient, admin_token: str
) -> None:
    _, header = read(site, admin_token, LINKED)
    headers = {**bearer(admin_token), "If-Match": header}
    refused = site.delete(f"/api/intents/{LINKED}", headers=headers)
    assert refused.status_code == 422
    assert any(LINKED in problem for problem in refused.json()["catalog"])
    assert site_app.catalog.version == 1


# -- documentation -----------------------------------------------------------------------------


def test_openapi_describes_the_catalog_routes_and_their_scope(
    site: TestClient, admin_token: str
) -> None:
    document = site.get("/api/openapi.json", headers=bearer(admin_token)).json()
    paths = document["paths"]
    assert {"/api/intents", "/api/intents/{intent_id}", "/api/catalog/revisions"} <= set(paths)
    operations = [
        paths["/api/intents"]["get"],
        paths["/api/catalog/revisions"]["get"],
        *paths["/api/intents/{intent_id}"].values(),
    ]
    assert len(operations) == 5  # get, put, delete
    for operation in operations:
        assert operation["security"] == [{"bearerToken": ["catalog:admin"]}]
        assert {"401", "403"} <= set(operation["responses"])
    put_op = paths["/api/intents/{intent_id}"]["put"]
    assert {"201", "412", "413", "422", "428"} <= set(put_op["responses"])
    assert {p["name"] for p in put_op["parameters"]} == {"intent_id", "If-Match", "If-None-Match"}
    body_ref = put_op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schemas = document["components"]["schemas"]
    write = schemas[body_ref.rsplit("/", 1)[1]]
    assert set(write["properties"]) == {"intent", "file", "comment"}
    intent = schemas["Intent"]
    assert {"id", "title", "examples", "answer", "valid_until"} <= set(intent["properties"])
    assert all("description" in f for f in intent["properties"].values())
    for name in ("IntentSummary", "IntentSaved", "IntentRefused", "EditConflictOut"):
        assert all("description" in f for f in schemas[name]["properties"].values()), name
    refs = [v.get("$ref", "") for v in _walk(document)]
    missing = {r for r in refs if r and r.rsplit("/", 1)[1] not in schemas}
    assert missing == set()


def _walk(node: Any) -> list[dict[str, Any]]:
    """Every mapping in a JSON document."""
    if isinstance(node, dict):
        return [node, *[m for v in node.values() for m in _walk(v)]]
    if isinstance(node, list):
        return [m for v in node for m in _walk(v)]
    return []


def test_docs_page_lists_the_catalog_routes(site_app: App, site: TestClient) -> None:
    staff_client(site_app, site, "admin")
    page = site.get("/api/docs")
    assert page.status_code == 200
    for text in (
        "GET /api/intents",
        "PUT /api/intents/{intent_id}",
        "DELETE /api/intents/{intent_id}",
        "GET /api/catalog/revisions",
        "--scope catalog:admin",
        "If-Match",
        "If-None-Match",
        "<code>valid_until</code>",  # the intent's fields, with their meanings
        "The day someone last checked the answer",
    ):
        assert text in page.text
