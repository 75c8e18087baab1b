"""`lingang-bot tokens create NAME --scope ...` as an admin runs it on the server: a token opens
the area of its scope only, and the list shows each token's scope."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.app import Storage, build_app, open_storage
from bot.web.app import create_app
from tests.cli.test_staff_cli import data_dir, lingang, secret_of, settings

__all__ = ["data_dir"]  # the fixture, shared with the other staff commands' tests


@pytest.fixture
def storage(data_dir: Path) -> Iterator[Storage]:
    opened = open_storage(settings(data_dir))
    try:
        yield opened
    finally:
        opened.close()


def test_a_token_reads_the_leads_unless_asked(storage: Storage) -> None:
    created = lingang("tokens", "create", "crm")
    assert created.exit_code == 0
    assert created.stdout.startswith("token 1 (crm, leads:read); send it as ")
    [token] = storage.staff.tokens()
    assert token.scope == "leads:read"


def test_scope_catalog_admin_is_stored_audited_and_listed(storage: Storage) -> None:
    created = lingang("tokens", "create", "automation", "--scope", "catalog:admin")
    assert created.exit_code == 0, created.stderr
    assert "(automation, catalog:admin)" in created.stdout
    lingang("tokens", "create", "crm")
    [crm, automation] = storage.staff.tokens()
    assert (automation.name, automation.scope) == ("automation", "catalog:admin")
    assert crm.scope == "leads:read"
    [made, _] = [e for e in storage.staff.audit_log() if e.action == "token.create"][::-1]
    assert made.details == {"name": "automation", "scope": "catalog:admin"}
    lines = lingang("tokens", "list").stdout.splitlines()
    assert [(line.split("\t")[1], line.split("\t")[-1]) for line in lines] == [
        ("crm", "leads:read"),
        ("automation", "catalog:admin"),
    ]


def test_an_unknown_scope_is_refused(storage: Storage) -> None:
    refused = lingang("tokens", "create", "x", "--scope", "catalog:write")
    assert refused.exit_code == 2
    assert "catalog:write" in refused.stderr
    assert storage.staff.tokens() == []


def test_each_scope_opens_its_own_area(data_dir: Path) -> None:
    catalog = secret_of(lingang("tokens", "create", "automation", "--scope", "catalog:admin"))
    leads = secret_of(lingang("tokens", "create", "crm", "--scope", "leads:read"))
    app = build_app(settings(data_dir))
    try:
        with TestClient(create_app(app), base_url="http://127.0.0.1:8000") as site:
            statuses = {
                (who, path): site.get(
                    path, headers={"Authorization": f"Bearer {secret}"}
                ).status_code
                for who, secret in (("catalog", catalog), ("leads", leads))
                for path in ("/api/intents", "/api/leads")
            }
    finally:
        app.close()
    assert statuses == {
        ("catalog", "/api/intents"): 200,
        ("catalog", "/api/leads"): 403,
        ("leads", "/api/intents"): 403,
        ("leads", "/api/leads"): 200,
    }
