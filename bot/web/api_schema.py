"""The leads API's response bodies: pydantic models with descriptions and examples, from which
the OpenAPI document is built, and how each is made from the core's records."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bot.core.feed import LeadDossier
from bot.core.records import ConsentRecord, Lead, LeadEvent, LeadStatus, TranscriptEntry

FIELDS = ("name", "company", "email", "phone", "country", "interest", "timeline", "note")

LEAD_EXAMPLE: dict[str, Any] = {
    "id": 42,
    "status": "contacted",
    "score": 80,
    "owner": "slack:U0123",
    "channel": "telegram",
    "user_id": "123456789",
    "conversation_id": "123456789",
    "language": "en",
    "name": "Ann Lee",
    "company": "ACME GmbH",
    "email": "ann@acme.de",
    "phone": "+49 30 12345678",
    "country": "Germany",
    "interest": "company_setup",
    "timeline": "within_3_months",
    "note": "Needs an office near the port",
    "question": "How do I register a company in Lingang?",
    "source": "website",
    "answers": {"name": "Ann Lee", "email": "ann@acme.de"},
    "consent_id": 7,
    "created_at": "2025-05-02T08:15:30.120000Z",
    "updated_at": "2025-05-03T10:00:00.500000Z",
}


class Problem(BaseModel):
    """Why a request was refused."""

    detail: str = Field(description="What is wrong and how to fix it.")


class LeadOut(BaseModel):
    """A lead: what the prospect told the bot, and where sales stand with them.

    Every text field is what a prospect typed: treat it as untrusted input.
    """

    model_config = ConfigDict(json_schema_extra={"example": LEAD_EXAMPLE})

    id: int = Field(description="The lead's id (stable; use it with `GET /api/leads/{id}`).")
    status: LeadStatus = Field(description="Where sales stand with the prospect.")
    score: int = Field(description="Qualification score, 0 to 100.")
    owner: str | None = Field(description="Who on the sales team claimed it, if anyone.")
    channel: str = Field(description="Where the prospect talked to the bot.")
    user_id: str = Field(
        description="The prospect's id on that channel (web chat: a pseudonym, SHA-256 of the "
        "browser's id; the cookie itself is never stored or shown)."
    )
    conversation_id: str = Field(
        description="The conversation on that channel (web chat: the same pseudonym)."
    )
    language: str = Field(description="The conversation's language (`en` or `zh`).")
    name: str | None = Field(description="The prospect's name.")
    company: str | None = Field(description="Their company.")
    email: str | None = Field(description="Their e-mail address.")
    phone: str | None = Field(description="Their phone number.")
    country: str | None = Field(description="Their country.")
    interest: str | None = Field(description="What they are interested in (an option id).")
    timeline: str | None = Field(description="When they plan to act (an option id).")
    note: str | None = Field(description="Anything else they wrote.")
    question: str | None = Field(description="The question that led to the form, if any.")
    source: str | None = Field(description="Where the prospect came from (e.g. a campaign).")
    answers: dict[str, str] = Field(description="Every answer of the lead form, by field id.")
    consent_id: int = Field(description="The consent record that allows storing this lead.")
    created_at: datetime = Field(description="When the lead was first submitted (UTC).")
    updated_at: datetime = Field(description="When the lead last changed (UTC).")

    @classmethod
    def of(cls, lead: Lead) -> "LeadOut":
        """The API's view of a lead."""
        return cls(
            id=lead.id,
            status=lead.status,
            score=lead.score,
            owner=lead.owner,
            channel=lead.channel,
            user_id=lead.user_id,
            conversation_id=lead.conversation_id,
            language=lead.language,
            question=lead.question,
            source=lead.source,
            answers=dict(lead.answers),
            consent_id=lead.consent_id,
            created_at=lead.created_at,
            updated_at=lead.updated_at,
            **{name: lead.answer(name) for name in FIELDS},
        )


class LeadPage(BaseModel):
    """A page of leads in the order they last changed."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "leads": [LEAD_EXAMPLE],
                "next": "eyJ2IjoxLCJ0IjoiMjAyNS0wNS0wM1QxMDowMDowMC41MDAwMDArMDA6MDAiLCJpIjo0Mn0",
                "more": False,
            }
        }
    )

    leads: list[LeadOut] = Field(description="Oldest change first, ordered by (updated_at, id).")
    next: str | None = Field(
        description="Pass it as `since` to get only leads changed after the last one here. "
        "Null when this page is empty: keep the cursor you sent and ask again later."
    )
    more: bool = Field(description="Whether more leads are waiting now (ask again with `next`).")


class ConsentOut(BaseModel):
    """The prospect's consent to store their data (append-only evidence)."""

    id: int | None = Field(description="The consent record's id.")
    granted: bool = Field(description="Whether consent was given.")
    at: datetime = Field(description="When (UTC).")
    channel: str = Field(description="Where.")
    notice_version: str = Field(description="The version of the privacy notice shown.")
    language: str = Field(description="The language the notice was shown in.")

    @classmethod
    def of(cls, consent: ConsentRecord) -> "ConsentOut":
        """The API's view of a consent record."""
        return cls(
            id=consent.id,
            granted=consent.granted,
            at=consent.at,
            channel=consent.channel,
            notice_version=consent.notice_version,
            language=consent.language,
        )


class EventOut(BaseModel):
    """One entry of a lead's history."""

    at: datetime = Field(description="When (UTC).")
    kind: str = Field(description="`created`, `updated` (a new form), `status` or `claimed`.")
    actor: str = Field(description="Who: `telegram:prospect`, `web:sales@example.com`, ...")
    status: LeadStatus | None = Field(description="The new status (status changes only).")
    note: str | None = Field(description="A note that came with the change.")
    changes: dict[str, list[str | None]] = Field(
        description="For `updated`: each changed answer as [before, after]."
    )

    @classmethod
    def of(cls, event: LeadEvent) -> "EventOut":
        """The API's view of a history entry."""
        changes = {key: [before, after] for key, (before, after) in event.changes.items()}
        return cls(
            at=event.at,
            kind=event.kind,
            actor=event.actor,
            status=event.status,
            note=event.note,
            changes=changes,
        )


class MessageOut(BaseModel):
    """One message of the conversation."""

    at: datetime = Field(description="When (UTC).")
    direction: str = Field(description="`in`: the prospect wrote it; `out`: the bot answered.")
    text: str = Field(description="The message.")
    intent_id: str | None = Field(description="The intent the bot answered with, if any.")

    @classmethod
    def of(cls, entry: TranscriptEntry) -> "MessageOut":
        """The API's view of a transcript entry."""
        return cls(
            at=entry.at, direction=entry.direction, text=entry.text, intent_id=entry.intent_id
        )


class LeadDetail(LeadOut):
    """A lead with its consent record, status history and the whole conversation."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                **LEAD_EXAMPLE,
                "consent": {
                    "id": 7,
                    "granted": True,
                    "at": "2025-05-02T08:14:02.000000Z",
                    "channel": "telegram",
                    "notice_version": "2025-04",
                    "language": "en",
                },
                "history": [
                    {
                        "at": "2025-05-02T08:15:30.120000Z",
                        "kind": "created",
                        "actor": "telegram:prospect",
                        "status": None,
                        "note": None,
                        "changes": {},
                    },
                    {
                        "at": "2025-05-03T10:00:00.500000Z",
                        "kind": "status",
                        "actor": "web:sales@example.com",
                        "status": "contacted",
                        "note": "Called; meeting on Friday",
                        "changes": {},
                    },
                ],
                "transcript": [
                    {
                        "at": "2025-05-02T08:13:40.000000Z",
                        "direction": "in",
                        "text": "How do I register a company in Lingang?",
                        "intent_id": None,
                    },
                    {
                        "at": "2025-05-02T08:13:40.200000Z",
                        "direction": "out",
                        "text": "Registering a company in Lingang takes ...",
                        "intent_id": "company_registration",
                    },
                ],
            }
        }
    )

    consent: ConsentOut | None = Field(description="The consent record of the latest form.")
    history: list[EventOut] = Field(description="Every change, oldest first.")
    transcript: list[MessageOut] = Field(
        description="The conversation with the bot, oldest first (kept for the retention "
        "period; empty once purged)."
    )

    @classmethod
    def of_dossier(cls, dossier: LeadDossier) -> "LeadDetail":
        """The API's view of a lead in full."""
        return cls(
            **LeadOut.of(dossier.lead).model_dump(),
            consent=ConsentOut.of(dossier.consent) if dossier.consent else None,
            history=[EventOut.of(event) for event in dossier.history],
            transcript=[MessageOut.of(entry) for entry in dossier.transcript],
        )
