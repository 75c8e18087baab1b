"""What a person's data export shows of their handoffs and conversation events, the same
from every store."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from bot.core.records import ConversationEvent, Handoff, RelayItem


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def handoff_export(handoff: Handoff, items: Iterable[RelayItem]) -> dict[str, object]:
    """What a person sees of one handoff in their export: no ids of the staff involved."""
    h = handoff
    return {
        "channel": h.channel,
        "conversation_id": h.conversation_id,
        "language": h.language,
        "status": h.status,
        "requested_at": _iso(h.requested_at),
        "question": h.question,
        "display_name": h.display_name,
        "rep_name": h.rep_name,
        "claimed_at": _iso(h.claimed_at),
        "first_reply_at": _iso(h.first_reply_at),
        "last_rep_at": _iso(h.last_rep_at),
        "closed_at": _iso(h.closed_at),
        "close_reason": h.close_reason,
        "messages": [
            {"direction": i.direction, "at": _iso(i.created_at), "text": i.text}
            for i in items
            if i.kind == "text" and i.text is not None
        ],
    }


def event_export(event: ConversationEvent) -> dict[str, object]:
    """What a person sees of one conversation event in their export."""
    return {
        "kind": event.kind,
        "outcome": event.outcome,
        "at": _iso(event.at),
        "text": event.text,
    }
