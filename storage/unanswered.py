"""Questions the bot could not answer, for admins: open ones, and marking them handled."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update

from bot.core.questions import OpenQuestion
from storage.db import Database
from storage.models import AuditEntryRow, UnansweredQuestionRow, utc_now

MAX_OPEN = 2000


def _question(row: UnansweredQuestionRow) -> OpenQuestion:
    return OpenQuestion(
        id=row.id,
        channel=row.channel,
        text=row.text,
        language=row.language,
        at=row.at,
        best_intent=row.best_intent,
        best_score=row.best_score,
    )


class SqlUnanswered:
    """Questions the bot could not answer, for admins."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def open_questions(self, limit: int = MAX_OPEN) -> list[OpenQuestion]:
        """The newest questions no admin has handled, newest first."""
        query = (
            select(UnansweredQuestionRow)
            .where(UnansweredQuestionRow.handled_at.is_(None))
            .order_by(UnansweredQuestionRow.at.desc(), UnansweredQuestionRow.id.desc())
            .limit(limit)
        )
        with self._db.transaction() as session:
            return [_question(row) for row in session.scalars(query)]

    def open_among(self, ids: Collection[int]) -> list[OpenQuestion]:
        """Those of `ids` that are still open, newest first."""
        if not ids:
            return []
        query = (
            select(UnansweredQuestionRow)
            .where(
                UnansweredQuestionRow.id.in_(list(ids)),
                UnansweredQuestionRow.handled_at.is_(None),
            )
            .order_by(UnansweredQuestionRow.at.desc(), UnansweredQuestionRow.id.desc())
        )
        with self._db.transaction() as session:
            return [_question(row) for row in session.scalars(query)]

    def add_to_intent(
        self,
        ids: Collection[int],
        intent_id: str,
        actor: str,
        details: Mapping[str, object] | None = None,
        now: datetime | None = None,
    ) -> int:
        """Mark open questions as handled by an example added to `intent_id`, and audit it.

        Returns how many were still open (questions handled meanwhile are left as they are).
        """
        return self._handle(
            ids=ids,
            intent_id=intent_id,
            actor=actor,
            action="question.add_example",
            target=intent_id,
            details=details,
            now=now,
        )

    def dismiss(self, ids: Collection[int], actor: str, now: datetime | None = None) -> int:
        """Mark open questions as handled without an intent, and audit it; how many were open."""
        return self._handle(
            ids=ids,
            intent_id=None,
            actor=actor,
            action="question.dismiss",
            target="unanswered questions",
            details={},
            now=now,
        )

    def _handle(
        self,
        *,
        ids: Collection[int],
        intent_id: str | None,
        actor: str,
        action: str,
        target: str,
        details: Mapping[str, object] | None,
        now: datetime | None,
    ) -> int:
        if not ids:
            return 0
        statement = (
            update(UnansweredQuestionRow)
            .where(
                UnansweredQuestionRow.id.in_(list(ids)),
                UnansweredQuestionRow.handled_at.is_(None),
            )
            .values(handled_at=now or utc_now(), handled_by=actor, handled_intent=intent_id)
        )
        with self._db.transaction() as session:
            result = cast(CursorResult[Any], session.execute(statement))
            count = int(result.rowcount)
            if count:
                # The change and its audit entry commit together, or neither does.
                record = {**(details or {}), "questions": sorted(ids), "handled": count}
                session.add(
                    AuditEntryRow(actor=actor, action=action, target=target[:256], details=record)
                )
            return count
