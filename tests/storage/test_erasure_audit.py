"""/forget also redacts the person's question where an admin's audit entry copied it (added as
an example from the misses inbox), on SQLite and PostgreSQL; other entries are left alone."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from bot.core.records import UnansweredQuestion
from storage.db import Database
from storage.models import AuditEntryRow, UnansweredQuestionRow
from storage.privacy import REDACTED, SqlPrivacyRegistry
from storage.repositories import SqlQuestionLog
from storage.unanswered import SqlUnanswered

AT = datetime.now(UTC)


def asked(database: Database, user: str, text: str) -> int:
    """`user` asks `text`, which nothing answers; the miss's id."""
    SqlQuestionLog(database).record(UnansweredQuestion("telegram", user, user, text, "en", AT))
    with database.transaction() as session:
        found = select(UnansweredQuestionRow.id).where(UnansweredQuestionRow.text == text)
        return int(session.scalars(found).one())


def added_as_example(database: Database, question_id: int, text: str) -> None:
    """An admin adds the miss to an intent, as the inbox page does (the audit copies it)."""
    details = {"text": text, "lang": "en", "file": "intents/x.yaml", "revision": 2}
    SqlUnanswered(database).add_to_intent([question_id], "company_setup", "admin@x", details)


def audited_texts(database: Database) -> list[object]:
    """The question text in each audit entry, oldest first."""
    with database.transaction() as session:
        entries = session.scalars(select(AuditEntryRow).order_by(AuditEntryRow.id))
        return [entry.details.get("text") for entry in entries]


def test_forget_redacts_the_question_in_the_admins_audit_entry(database: Database) -> None:
    mine = "I am Ann Lee of Acme, how do I open a company?"
    theirs = "how do I open a company?"
    added_as_example(database, asked(database, "ann", mine), mine)
    added_as_example(database, asked(database, "bob", theirs), theirs)
    counts = SqlPrivacyRegistry(database).erase("telegram", "ann", AT)
    assert counts["audit_log"] == 1
    assert audited_texts(database) == [REDACTED, theirs]


def test_forget_of_someone_else_leaves_the_audit_entry(database: Database) -> None:
    mine = "I am Ann Lee of Acme, how do I open a company?"
    added_as_example(database, asked(database, "ann", mine), mine)
    asked(database, "bob", "and a bank account?")
    SqlPrivacyRegistry(database).erase("telegram", "bob", AT)
    assert audited_texts(database) == [mine]
