"""`lingang-bot users ...` and `lingang-bot tokens ...` as an admin runs them on the server.

In-process through Typer's runner (each command opens the database as the script would), on the
data folder `LINGANG_DATA_DIR` names; what they store is read back from that database.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner, Result

from bot.app import Storage, build_app, open_storage
from bot.cli import cli
from bot.config import Settings
from bot.web.app import create_app
from bot.web.security import HASHER, digest

PASSWORD = "correct horse battery staple"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "data"
    monkeypatch.setenv("LINGANG_DATA_DIR", str(folder))
    monkeypatch.setenv("LINGANG_MATCHER", "lexical")
    return folder


def settings(data_dir: Path) -> Settings:
    return Settings(_env_file=None, LINGANG_DATA_DIR=data_dir, LINGANG_MATCHER="lexical")


@pytest.fixture
def storage(data_dir: Path) -> Iterator[Storage]:
    """The database the commands write to, opened as the web app would."""
    opened = open_storage(settings(data_dir))
    try:
        yield opened
    finally:
        opened.close()


def lingang(*args: str, stdin: str | None = None) -> Result:
    """Run `lingang-bot args...`."""
    return CliRunner().invoke(cli, list(args), input=stdin)


def add(email: str, *options: str, password: str = PASSWORD) -> Result:
    return lingang("users", "add", email, *options, "--password-stdin", stdin=password + "\n")


# -- users -------------------------------------------------------------------------------------


def test_add_stores_an_argon2id_hash_of_the_password(storage: Storage) -> None:
    added = add("Ann.Lee@Example.COM", "--role", "admin")
    assert (added.exit_code, added.stdout.strip()) == (0, "added ann.lee@example.com (admin)")
    found = storage.staff.credentials("ann.lee@example.com")
    assert found is not None
    user, stored = found
    assert (user.role, user.disabled, user.created_by.startswith("cli:")) == ("admin", False, True)
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert HASHER.verify(stored, PASSWORD)
    assert [e.action for e in storage.staff.audit_log()] == ["user.add"]


def test_role_is_sales_unless_asked(storage: Storage) -> None:
    assert add("bo@example.com").exit_code == 0
    [user] = storage.staff.users()
    assert user.role == "sales"
    wrong = add("cy@example.com", "--role", "root")
    assert wrong.exit_code == 2
    assert "root" in wrong.stderr


def test_a_short_password_is_refused_and_nothing_stored(storage: Storage) -> None:
    refused = add("bo@example.com", password="short")
    assert refused.exit_code == 2
    assert refused.stderr.strip() == "password: a password needs at least 12 characters"
    assert storage.staff.users() == []


def test_a_duplicate_is_refused_with_a_clear_message(storage: Storage) -> None:
    assert add("bo@example.com").exit_code == 0
    again = add("BO@example.com", "--role", "admin")
    assert again.exit_code == 2
    assert again.stderr.strip() == "EMAIL: bo@example.com exists already"
    [user] = storage.staff.users()
    assert user.role == "sales"


@pytest.mark.parametrize("email", ["not-an-address", "bo@", "@example.com", "bo example@x.com"])
def test_a_bad_address_is_refused(storage: Storage, email: str) -> None:
    refused = add(email)
    assert refused.exit_code == 2
    assert refused.stderr.startswith("EMAIL: ")
    assert storage.staff.users() == []


def test_list_disable_and_enable(storage: Storage) -> None:
    add("bo@example.com")
    add("ann@example.com", "--role", "admin")
    listed = lingang("users", "list")
    assert listed.stdout.splitlines() == [
        "ann@example.com\tadmin\tactive",
        "bo@example.com\tsales\tactive",
    ]
    disabled = lingang("users", "disable", "BO@example.com")
    assert disabled.stdout.strip() == "bo@example.com disabled (logged out everywhere)"
    assert "bo@example.com\tsales\tdisabled" in lingang("users", "list").stdout
    as_json = lingang("users", "list", "--json").stdout
    assert '"disabled": true' in as_json
    enabled = lingang("users", "enable", "bo@example.com")
    assert enabled.stdout.strip() == "bo@example.com enabled"
    assert "bo@example.com\tsales\tactive" in lingang("users", "list").stdout
    missing = lingang("users", "disable", "nobody@example.com")
    assert (missing.exit_code, missing.stderr.strip()) == (2, "EMAIL: no user nobody@example.com")


def test_a_disabled_user_cannot_log_in(data_dir: Path) -> None:
    add("bo@example.com")
    lingang("users", "disable", "bo@example.com")
    app = build_app(settings(data_dir))
    try:
        with TestClient(create_app(app), base_url="http://127.0.0.1:8000") as site:
            form = {"email": "bo@example.com", "password": PASSWORD}
            assert site.post("/login", data=form, follow_redirects=False).status_code == 401
            lingang("users", "enable", "bo@example.com")
            assert site.post("/login", data=form, follow_redirects=False).status_code == 303
    finally:
        app.close()


def test_password_replaces_the_old_one(storage: Storage) -> None:
    add("bo@example.com")
    new = "another long passphrase"
    short = lingang("users", "password", "bo@example.com", "--password-stdin", stdin="tiny\n")
    assert short.exit_code == 2
    changed = lingang("users", "password", "bo@example.com", "--password-stdin", stdin=new + "\n")
    assert changed.stdout.strip() == "password of bo@example.com changed (logged out everywhere)"
    found = storage.staff.credentials("bo@example.com")
    assert found is not None
    assert HASHER.verify(found[1], new)
    assert "user.password" in [e.action for e in storage.staff.audit_log()]


def test_a_new_password_ends_the_sessions_already_open(data_dir: Path) -> None:
    add("bo@example.com")
    app = build_app(settings(data_dir))
    try:
        with TestClient(create_app(app), base_url="http://127.0.0.1:8000") as site:
            form = {"email": "bo@example.com", "password": PASSWORD}
            assert site.post("/login", data=form, follow_redirects=False).status_code == 303
            assert site.get("/leads", follow_redirects=False).status_code == 200
            new = "another long passphrase"
            lingang("users", "password", "bo@example.com", "--password-stdin", stdin=new + "\n")
            assert site.get("/leads", follow_redirects=False).status_code == 303  # to /login
    finally:
        app.close()


def test_unlock_ends_the_wait_after_failed_logins_at_once(data_dir: Path, storage: Storage) -> None:
    add("bo@example.com")
    app = build_app(settings(data_dir))
    try:
        with TestClient(create_app(app), base_url="http://127.0.0.1:8000") as site:

            def log_in(password: str) -> int:
                form = {"email": "bo@example.com", "password": password}
                return site.post("/login", data=form, follow_redirects=False).status_code

            assert [log_in("wrong password!") for _ in range(5)] == [401] * 5
            assert log_in(PASSWORD) == 429
            unlocked = lingang("users", "unlock", "BO@example.com")
            assert unlocked.stdout.strip() == "bo@example.com unlocked (5 failed logins forgotten)"
            assert log_in(PASSWORD) == 303
    finally:
        app.close()
    entry = storage.staff.audit_log()[0]
    assert (entry.action, entry.target, entry.actor.startswith("cli:")) == (
        "user.unlock",
        "bo@example.com",
        True,
    )
    missing = lingang("users", "unlock", "nobody@example.com")
    assert (missing.exit_code, missing.stderr.strip()) == (2, "EMAIL: no user nobody@example.com")


# -- tokens ------------------------------------------------------------------------------------


def secret_of(created: Result) -> str:
    """The token in `tokens create`'s line "... 'Authorization: Bearer <secret>'"."""
    line = created.stdout.strip()
    return line.split("Bearer ", 1)[1].rstrip("'")


def test_create_prints_the_secret_once_and_stores_only_its_hash(storage: Storage) -> None:
    created = lingang("tokens", "create", "crm")
    assert created.exit_code == 0
    secret = secret_of(created)
    assert secret.startswith("lgb_")
    assert len(secret) > 40
    assert "shown only now" in created.stderr
    [token] = storage.staff.tokens()
    assert token.name == "crm"
    assert storage.staff.use_token(digest(secret), token.created_at) is not None
    with storage.database.transaction() as session:
        stored = [tuple(row) for row in session.execute(text("SELECT * FROM api_tokens"))]
    assert digest(secret) in stored[0]
    assert all(secret not in str(value) for value in stored[0])
    listed = lingang("tokens", "list").stdout
    assert secret not in listed
    assert "crm" in listed


def test_token_names_must_be_sensible(storage: Storage) -> None:
    for name in ("", "   ", "x" * 129):
        refused = lingang("tokens", "create", name)
        assert (refused.exit_code, refused.stderr.strip()) == (2, "NAME: 1 to 128 characters")
    assert storage.staff.tokens() == []


def test_list_and_revoke_open_and_close_the_api(data_dir: Path) -> None:
    secret = secret_of(lingang("tokens", "create", "crm"))
    lingang("tokens", "create", "other")
    app = build_app(settings(data_dir))
    try:
        with TestClient(create_app(app), base_url="http://127.0.0.1:8000") as site:
            headers = {"Authorization": f"Bearer {secret}"}
            assert site.get("/api/leads", headers=headers).status_code == 200
            lines = lingang("tokens", "list").stdout.splitlines()
            assert [line.split("\t")[1] for line in lines] == ["other", "crm"]
            crm = lines[1].split("\t")
            assert crm[4] == "live"
            assert crm[3] != "never used"
            assert lines[0].split("\t")[3] == "never used"
            revoked = lingang("tokens", "revoke", crm[0])
            assert revoked.stdout.strip() == f"token {crm[0]} (crm) revoked"
            assert site.get("/api/leads", headers=headers).status_code == 401
            assert "\trevoked " in lingang("tokens", "list").stdout.splitlines()[1]
    finally:
        app.close()
    missing = lingang("tokens", "revoke", "999")
    assert (missing.exit_code, missing.stderr.strip()) == (2, "ID: no token 999")
