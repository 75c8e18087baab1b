"""Leads as rows for spreadsheets and other systems: the columns, and CSV that a spreadsheet
shows as text, never runs (the CLI's `leads export` and the web's CSV export share it)."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import TextIO

from bot.core.records import Lead

FIELDS = ("name", "company", "email", "phone", "country", "interest", "timeline", "note")
EXPORT_COLUMNS = (
    "id", "created_at", "updated_at", "status", "score", "channel", "user_id", "language",
    *FIELDS, "question", "source", "consent_id",
)  # fmt: skip
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection; OWASP
# ASVS V1.2.10 names the first six, some spreadsheets also a leading carriage return).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\0")


def lead_row(lead: Lead) -> dict[str, object]:
    """A lead as one flat row: its record's columns and every form field."""
    row: dict[str, object] = {
        "id": lead.id,
        "created_at": lead.created_at.isoformat(),
        "updated_at": lead.updated_at.isoformat(),
        "status": lead.status,
        "owner": lead.owner,
        "score": lead.score,
        "channel": lead.channel,
        "user_id": lead.user_id,
        "language": lead.language,
        "question": lead.question,
        "source": lead.source,
        "consent_id": lead.consent_id,
    }
    row.update({name: lead.answer(name) for name in FIELDS})
    return row


def neutralised(value: object) -> str:
    """A cell that a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def write_csv(leads: Iterable[Lead], out: TextIO) -> int:
    """RFC 4180 CSV with a header; returns how many leads were written."""
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    count = 0
    for lead in leads:
        row = lead_row(lead)
        writer.writerow([neutralised(row[column]) for column in EXPORT_COLUMNS])
        count += 1
    return count
