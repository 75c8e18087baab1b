"""Misses for admins (the inbox): open ones grouped by meaning, and marking them handled.

Grouping is kept in the database (`question_groups`, `question_groupings`): a miss is embedded
and filed once, in bounded steps (`group_pending`), so reading a page of the inbox is a few
aggregate queries whatever the number of open misses.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

import numpy as np
from sqlalchemy import CursorResult, delete, exists, func, select, update
from sqlalchemy.exc import IntegrityError

from bot.core.questions import (
    MAX_QUESTION,
    REASONS,
    InboxPage,
    OpenQuestion,
    QuestionGroup,
    assign,
    embed_questions,
    threshold_for,
    vector_bytes,
    vector_from,
)
from intents.features import FloatArray
from intents.semantic import Encoder
from storage.db import Database
from storage.models import (
    AuditEntryRow,
    QuestionGroupingRow,
    QuestionGroupRow,
    UnansweredQuestionRow,
    utc_now,
)

MAX_OPEN = 2000
# Misses filed per step: the first step is small (a sentence encoder takes up to 9 ms for a
# long question), later ones sized from it to take about `STEP_SECONDS`.
FIRST_STEP = 16
MAX_STEP = 512
STEP_SECONDS = 0.1
EXAMPLES = 20  # newest questions read per group shown (their ids go with the group's actions)
MAX_DETAIL = 2000  # characters of a comment or a consultant's reply shown

Q = UnansweredQuestionRow
M = QuestionGroupingRow


def _question(row: UnansweredQuestionRow) -> OpenQuestion:
    return OpenQuestion(
        id=row.id,
        channel=row.channel,
        text=row.text[:MAX_QUESTION],
        language=row.language,
        at=row.at,
        best_intent=row.best_intent,
        best_score=row.best_score,
        reason=row.reason,
        detail=row.detail[:MAX_DETAIL] if row.detail else None,
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

    # -- the inbox ------------------------------------------------------------------------

    def group_pending(
        self,
        encoder: Encoder,
        *,
        limit: int = 1000,
        budget: float | None = None,
        now: datetime | None = None,
    ) -> int:
        """File up to `limit` open misses not yet grouped under `encoder`, newest first, in
        steps; no step starts after `budget` seconds. How many were filed.

        Two replicas filing the same misses at once: one step wins, the other files nothing.
        """
        started = time.monotonic()
        model, threshold = encoder.name, threshold_for(encoder)
        heads: tuple[list[int], FloatArray] | None = None
        filed = 0
        with self._db.transaction() as session:  # groups left empty (misses handled, erased)
            session.execute(
                delete(QuestionGroupRow).where(
                    QuestionGroupRow.model == model,
                    ~exists().where(M.group_id == QuestionGroupRow.id),
                )
            )
        step = FIRST_STEP
        while filed < limit:
            begun = time.monotonic()
            if budget is not None and begun - started >= budget:
                break
            batch = self._ungrouped(model, min(step, limit - filed))
            if not batch:
                break
            vectors = embed_questions(encoder, [text for _, text in batch])
            if heads is None:
                heads = self._heads(model, vectors.shape[1])
            try:
                heads = self._file(
                    model,
                    question_ids=[i for i, _ in batch],
                    vectors=vectors,
                    heads=heads,
                    threshold=threshold,
                    now=now,
                )
            except IntegrityError:
                break  # another replica filed these meanwhile
            filed += len(batch)
            each = (time.monotonic() - begun) / len(batch)
            step = max(FIRST_STEP, min(MAX_STEP, int(STEP_SECONDS / max(each, 1e-6))))
        return filed

    def pending(self, model: str) -> int:
        """How many open misses are not grouped under `model` yet."""
        query = select(func.count()).where(Q.handled_at.is_(None), ~self._grouped(model))
        with self._db.transaction() as session:
            return int(session.scalar(query) or 0)

    def inbox(
        self, model: str, *, reason: str | None = None, offset: int = 0, limit: int = 20
    ) -> InboxPage:
        """A page of the groups under `model` (those with a miss of `reason`, if given): the
        most asked first, then the most recent; each with its newest `EXAMPLES` questions."""
        wanted = [M.model == model, Q.handled_at.is_(None)]
        if reason is not None:
            wanted.append(Q.reason == reason)
        stats = (
            select(
                M.group_id,
                func.count().label("n"),
                func.max(Q.at).label("last"),
                func.max(Q.id).label("newest"),
            )
            .join(Q, Q.id == M.question_id)
            .where(*wanted)
            .group_by(M.group_id)
            .subquery()
        )
        page = (
            select(stats)
            .order_by(stats.c.n.desc(), stats.c.last.desc(), stats.c.group_id.desc())
            .offset(offset)
            .limit(limit)
        )
        with self._db.transaction() as session:
            total = int(session.scalar(select(func.count()).select_from(stats)) or 0)
            rows = session.execute(page).all()
            ids = [row.group_id for row in rows]
            examples = self._examples(session, model, ids, reason)
            reasons = self._reasons(session, model, ids)
            replies = self._replies(session, model, ids)
        groups = tuple(
            QuestionGroup(
                id=row.group_id,
                count=int(row.n),
                last_seen=row.last,
                newest_id=int(row.newest),
                examples=tuple(examples.get(row.group_id, ())),
                reasons=tuple(
                    (name, reasons[row.group_id][name])
                    for name in REASONS
                    if name in reasons.get(row.group_id, {})
                ),
                reply=replies.get(row.group_id),
            )
            for row in rows
        )
        return InboxPage(groups, total, self.pending(model), offset, limit)

    def open_in_group(self, group_id: int, model: str, upto: int) -> list[int]:
        """The ids of a group's open misses up to the id `upto` (what the admin saw)."""
        query = (
            select(Q.id)
            .join(M, M.question_id == Q.id)
            .where(M.group_id == group_id, M.model == model, Q.handled_at.is_(None), Q.id <= upto)
        )
        with self._db.transaction() as session:
            return list(session.scalars(query))

    @staticmethod
    def _grouped(model: str) -> Any:
        return exists().where(M.question_id == Q.id, M.model == model)

    def _ungrouped(self, model: str, count: int) -> list[tuple[int, str]]:
        query = (
            select(Q.id, Q.text)
            .where(Q.handled_at.is_(None), ~self._grouped(model))
            .order_by(Q.id.desc())
            .limit(count)
        )
        with self._db.transaction() as session:
            return [(row.id, row.text[:MAX_QUESTION]) for row in session.execute(query)]

    def _heads(self, model: str, dimensions: int) -> tuple[list[int], FloatArray]:
        """The groups under `model` and their heads' vectors."""
        with self._db.transaction() as session:
            rows = session.execute(
                select(QuestionGroupRow.id, QuestionGroupRow.vector)
                .where(QuestionGroupRow.model == model)
                .order_by(QuestionGroupRow.id)
            ).all()
        ids = [row.id for row in rows]
        vectors = [vector_from(row.vector) for row in rows]
        fitting = [v for v in vectors if v.shape == (dimensions,)]
        if len(fitting) != len(vectors):  # another model under the same name: start afresh
            return [], np.zeros((0, dimensions), np.float32)
        matrix = np.stack(vectors) if vectors else np.zeros((0, dimensions), np.float32)
        return ids, matrix

    def _file(
        self,
        model: str,
        *,
        question_ids: Sequence[int],
        vectors: FloatArray,
        heads: tuple[list[int], FloatArray],
        threshold: float,
        now: datetime | None,
    ) -> tuple[list[int], FloatArray]:
        """File one batch; the heads with the batch's new ones."""
        head_ids, matrix = heads
        done = assign(vectors, matrix, threshold)
        at = now or utc_now()
        with self._db.transaction() as session:
            created = [
                QuestionGroupRow(model=model, vector=vector_bytes(vectors[i]), created_at=at)
                for i in done.new_heads
            ]
            session.add_all(created)
            session.flush()
            every = [*head_ids, *(row.id for row in created)]
            session.add_all(
                M(question_id=question, model=model, group_id=every[label])
                for question, label in zip(question_ids, done.labels, strict=True)
            )
        fresh = vectors[list(done.new_heads)].astype(np.float16).astype(np.float32)
        return every, np.concatenate([matrix, fresh]) if len(fresh) else matrix

    @staticmethod
    def _examples(
        session: Any, model: str, group_ids: list[int], reason: str | None
    ) -> dict[int, list[OpenQuestion]]:
        if not group_ids:
            return {}
        wanted = [M.model == model, M.group_id.in_(group_ids), Q.handled_at.is_(None)]
        if reason is not None:
            wanted.append(Q.reason == reason)
        rank = func.row_number().over(partition_by=M.group_id, order_by=(Q.at.desc(), Q.id.desc()))
        ranked = (
            select(M.group_id.label("group_id"), Q.id.label("question_id"), rank.label("rank"))
            .join(Q, Q.id == M.question_id)
            .where(*wanted)
            .subquery()
        )
        query = (
            select(ranked.c.group_id, Q)
            .join(Q, Q.id == ranked.c.question_id)
            .where(ranked.c.rank <= EXAMPLES)
            .order_by(ranked.c.group_id, ranked.c.rank)
        )
        found: dict[int, list[OpenQuestion]] = {}
        for group_id, row in session.execute(query):
            found.setdefault(group_id, []).append(_question(row))
        return found

    @staticmethod
    def _reasons(session: Any, model: str, group_ids: list[int]) -> dict[int, dict[str, int]]:
        query = (
            select(M.group_id, Q.reason, func.count())
            .join(Q, Q.id == M.question_id)
            .where(M.model == model, M.group_id.in_(group_ids), Q.handled_at.is_(None))
            .group_by(M.group_id, Q.reason)
        )
        found: dict[int, dict[str, int]] = {}
        for group_id, reason, count in session.execute(query):
            found.setdefault(group_id, {})[reason] = int(count)
        return found

    @staticmethod
    def _replies(session: Any, model: str, group_ids: list[int]) -> dict[int, str]:
        """Per group, the newest consultant's reply to one of its open handoff misses."""
        rank = func.row_number().over(partition_by=M.group_id, order_by=(Q.at.desc(), Q.id.desc()))
        ranked = (
            select(M.group_id.label("group_id"), Q.detail.label("detail"), rank.label("rank"))
            .join(Q, Q.id == M.question_id)
            .where(
                M.model == model,
                M.group_id.in_(group_ids),
                Q.handled_at.is_(None),
                Q.reason == "handoff",
                Q.detail.is_not(None),
            )
            .subquery()
        )
        query = select(ranked.c.group_id, ranked.c.detail).where(ranked.c.rank == 1)
        return {gid: detail[:MAX_DETAIL] for gid, detail in session.execute(query)}

    # -- handling misses ------------------------------------------------------------------

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
            # A handled miss leaves its group; a group left empty goes at the next filing.
            session.execute(delete(M).where(M.question_id.in_(list(ids))))
            if count:
                # The change and its audit entry commit together, or neither does.
                record = {**(details or {}), "questions": sorted(ids), "handled": count}
                session.add(
                    AuditEntryRow(actor=actor, action=action, target=target[:256], details=record)
                )
            return count
