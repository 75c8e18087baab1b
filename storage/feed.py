"""The leads API's reads: leads changed since a cursor, and one lead in full."""

from __future__ import annotations

from sqlalchemy import and_, or_, select

from bot.core.feed import FeedPage, FeedQuery, LeadDossier
from storage.db import Database
from storage.leads import SqlLeadRepository, lead_of
from storage.models import LeadRow
from storage.repositories import SqlTranscriptLog


class SqlLeadFeed:
    """The leads API's reads."""

    def __init__(self, database: Database) -> None:
        self._db = database
        self._leads = SqlLeadRepository(database)
        self._transcripts = SqlTranscriptLog(database)

    def changed(self, query: FeedQuery) -> FeedPage:
        """Leads matching `query` changed after its cursor, ordered by (`updated_at`, `id`)."""
        statement = select(LeadRow)
        for column, value in (
            (LeadRow.status, query.status),
            (LeadRow.channel, query.channel),
            (LeadRow.interest, query.interest),
            (LeadRow.language, query.language),
        ):
            if value is not None:
                statement = statement.where(column == value)
        if query.created_from is not None:
            statement = statement.where(LeadRow.created_at >= query.created_from)
        if query.created_to is not None:
            statement = statement.where(LeadRow.created_at < query.created_to)
        if query.settled_before is not None:
            statement = statement.where(LeadRow.updated_at < query.settled_before)
        if query.after is not None:
            at, lead_id = query.after.updated_at, query.after.id
            statement = statement.where(
                or_(LeadRow.updated_at > at, and_(LeadRow.updated_at == at, LeadRow.id > lead_id))
            )
        statement = statement.order_by(LeadRow.updated_at, LeadRow.id).limit(query.limit + 1)
        with self._db.transaction() as session:
            leads = [lead_of(row) for row in session.scalars(statement)]
        return FeedPage(leads[: query.limit], more=len(leads) > query.limit)

    def dossier(self, lead_id: int) -> LeadDossier | None:
        """One lead with its consent record, history and transcript; None if unknown."""
        lead = self._leads.get(lead_id)
        if lead is None:
            return None
        return LeadDossier(
            lead,
            self._leads.consent(lead.consent_id),
            self._leads.history(lead.id),
            self._transcripts.conversation(lead.channel, lead.conversation_id),
        )
