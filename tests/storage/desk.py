"""The issue-15 stores (event log, handoffs) with the stores they touch, in memory and on
each database backend, for the tests of tests/storage/test_events.py and test_handoffs.py."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.core.records import LeadSubmission
from storage.db import Database
from storage.events import SqlEventLog
from storage.handoffs import SqlHandoffs
from storage.leads import SqlLeadRepository
from storage.memory import (
    MemoryConversationStore,
    MemoryEventLog,
    MemoryHandoffs,
    MemoryLeadRepository,
    MemoryPrivacyRegistry,
    MemoryQuestionLog,
    MemoryTranscriptLog,
)
from storage.privacy import SqlPrivacyRegistry
from storage.repositories import SqlQuestionLog
from tests.conftest import BACKENDS, _open

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Desk:
    """One implementation of each store a handoff touches; `database` None in memory."""

    events: SqlEventLog | MemoryEventLog
    handoffs: SqlHandoffs | MemoryHandoffs
    leads: SqlLeadRepository | MemoryLeadRepository
    questions: SqlQuestionLog | MemoryQuestionLog
    privacy: SqlPrivacyRegistry | MemoryPrivacyRegistry
    database: Database | None = None


@pytest.fixture(params=["memory", *BACKENDS])
def desk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Desk]:
    """The stores in memory, on SQLite and on PostgreSQL in turn."""
    if request.param == "memory":
        events, handoffs = MemoryEventLog(), MemoryHandoffs()
        leads, questions = MemoryLeadRepository(), MemoryQuestionLog()
        privacy = MemoryPrivacyRegistry(
            MemoryConversationStore(),
            MemoryTranscriptLog(),
            questions,
            leads,
            events=events,
            handoffs=handoffs,
        )
        yield Desk(events, handoffs, leads, questions, privacy)
        return
    db = _open(request, str(request.param), tmp_path)
    try:
        yield Desk(
            SqlEventLog(db),
            SqlHandoffs(db),
            SqlLeadRepository(db),
            SqlQuestionLog(db),
            SqlPrivacyRegistry(db),
            db,
        )
    finally:
        db.dispose()


def lead_form(user: str = "u1", channel: str = "telegram") -> LeadSubmission:
    """A confirmed lead form of `user`."""
    return LeadSubmission(
        submission_id=f"s-{user}",
        channel=channel,
        user_id=user,
        conversation_id=f"c-{user}",
        language="en",
        notice_version="2026-11-26",
        consented_at=T0,
        submitted_at=T0 + timedelta(minutes=1),
        answers={"name": "Ann Example", "email": "ann@example.com"},
        score=40,
    )
