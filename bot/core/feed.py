"""What the leads API reads: a page of leads changed after a cursor, and one lead in full.

A CRM pulls leads incrementally. Leads come ordered by `(updated_at, id)`, and a cursor is the
position of the last lead seen; the next pull returns only leads changed after it, so a lead
whose status changes later comes again. The `id` breaks ties between leads changed at the same
instant, so none is skipped or repeated.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import datetime

from bot.core.records import ConsentRecord, Lead, LeadEvent, LeadStatus, TranscriptEntry

CURSOR_VERSION = 1


class BadCursor(ValueError):
    """A `since` value that no page of the API handed out."""


@dataclass(frozen=True, slots=True)
class FeedCursor:
    """A position in the feed: just after the lead `id` changed at `updated_at`."""

    updated_at: datetime
    id: int

    @classmethod
    def after(cls, lead: Lead) -> FeedCursor:
        """The position just after `lead`."""
        return cls(lead.updated_at, lead.id)

    def encode(self) -> str:
        """The opaque text a client passes back as `since` (URL-safe)."""
        data = {"v": CURSOR_VERSION, "t": self.updated_at.isoformat(), "i": self.id}
        raw = json.dumps(data, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> FeedCursor:
        """The cursor `encode` made; `BadCursor` for anything else."""
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            data = json.loads(raw)
            if not isinstance(data, dict) or data.get("v") != CURSOR_VERSION:
                raise BadCursor(text)
            at, lead_id = data["t"], data["i"]
            if not isinstance(at, str) or not isinstance(lead_id, int) or lead_id < 0:
                raise BadCursor(text)
            when = datetime.fromisoformat(at)
        except (binascii.Error, ValueError, KeyError, TypeError) as exc:
            raise BadCursor(text) from exc
        if when.tzinfo is None:
            raise BadCursor(text)
        return cls(when, lead_id)


@dataclass(frozen=True, slots=True)
class FeedQuery:
    """Which leads to pull: optional filters, a cursor, a page size.

    `created_from` is inclusive and `created_to` exclusive. `settled_before` leaves out leads
    changed at or after it: a change still being committed may carry an earlier timestamp than
    one already visible, and must not fall behind a cursor that has moved past it.
    """

    status: LeadStatus | None = None
    channel: str | None = None
    interest: str | None = None
    language: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    after: FeedCursor | None = None
    settled_before: datetime | None = None
    limit: int = 100


@dataclass(frozen=True, slots=True)
class FeedPage:
    """Leads in feed order, and whether more wait after the last of them."""

    leads: list[Lead]
    more: bool

    @property
    def next(self) -> FeedCursor | None:
        """Where the next pull starts; None when the page is empty (keep the old cursor)."""
        return FeedCursor.after(self.leads[-1]) if self.leads else None


@dataclass(frozen=True, slots=True)
class LeadDossier:
    """One lead with its consent record, its history and its conversation."""

    lead: Lead
    consent: ConsentRecord | None
    history: list[LeadEvent] = field(default_factory=list)
    transcript: list[TranscriptEntry] = field(default_factory=list)
