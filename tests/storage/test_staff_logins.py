"""The staff tables on both backends: failed logins counted, cleared and unlocked (audited), and
kept by the daily purge as long as they count; a new password ends the user's sessions, a
rehash at login does not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.web.throttle import FAILURE_MEMORY
from storage.db import Database
from storage.retention import LOGIN_FAILURES
from storage.staff import SqlStaff

T0 = datetime(2026, 12, 6, 9, 30, tzinfo=UTC)
ANN, CLIENT = "email:ann@example.com", "client:203.0.113.7"


def test_failures_are_counted_with_the_latest_time_per_key(database: Database) -> None:
    staff = SqlStaff(database)
    assert staff.failures_since(ANN, T0 - timedelta(hours=1)) == (0, None)
    for minutes in (0, 5, 9):
        staff.record_failure([ANN, CLIENT], T0 + timedelta(minutes=minutes))
    staff.record_failure([CLIENT], T0 + timedelta(minutes=12))
    assert staff.failures_since(ANN, T0) == (3, T0 + timedelta(minutes=9))
    assert staff.failures_since(ANN, T0 + timedelta(minutes=1)) == (2, T0 + timedelta(minutes=9))
    assert staff.failures_since(CLIENT, T0) == (4, T0 + timedelta(minutes=12))


def test_clearing_one_key_leaves_the_others(database: Database) -> None:
    staff = SqlStaff(database)
    staff.record_failure([ANN, CLIENT], T0)
    staff.record_failure([ANN, CLIENT], T0)
    assert staff.clear_failures(ANN) == 2
    assert staff.failures_since(ANN, T0) == (0, None)
    assert staff.failures_since(CLIENT, T0) == (2, T0)
    assert staff.audit_log() == []  # a successful login is no admin's act


def test_unlock_forgets_a_users_failures_and_is_audited(database: Database) -> None:
    staff = SqlStaff(database)
    user = staff.add_user("ann@example.com", "sales", "$argon2id$x", "test")
    staff.record_failure([ANN, CLIENT], T0)
    assert staff.unlock(user.id, ANN, "cli:root") == 1
    assert staff.failures_since(ANN, T0) == (0, None)
    entry = staff.audit_log()[0]
    assert (entry.actor, entry.action, entry.target) == ("cli:root", "user.unlock", user.email)
    assert entry.details == {"failures": 1}


def test_the_daily_purge_keeps_failures_as_long_as_logins_count_them() -> None:
    assert LOGIN_FAILURES >= FAILURE_MEMORY


def test_a_new_password_ends_every_session_of_the_user_only(database: Database) -> None:
    staff = SqlStaff(database)
    ann = staff.add_user("ann@example.com", "sales", "$argon2id$old", "test")
    bo = staff.add_user("bo@example.com", "sales", "$argon2id$bo", "test")
    staff.start_session(ann.id, "a" * 64, "csrf", T0)
    staff.start_session(ann.id, "b" * 64, "csrf", T0)
    staff.start_session(bo.id, "c" * 64, "csrf", T0)
    staff.set_password_hash(ann.id, "$argon2id$new", "cli:root")
    assert staff.session("a" * 64) is None
    assert staff.session("b" * 64) is None
    assert staff.session("c" * 64) is not None
    assert staff.audit_log()[0].action == "user.password"


def test_a_rehash_at_login_keeps_the_sessions_and_is_not_audited(database: Database) -> None:
    staff = SqlStaff(database)
    ann = staff.add_user("ann@example.com", "sales", "$argon2id$weak", "test")
    staff.start_session(ann.id, "a" * 64, "csrf", T0)
    staff.rehash_password(ann.id, "$argon2id$strong")
    assert staff.session("a" * 64) is not None
    found = staff.credentials("ann@example.com")
    assert found is not None
    assert found[1] == "$argon2id$strong"
    assert [entry.action for entry in staff.audit_log()] == ["user.add"]
