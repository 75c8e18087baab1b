"""`lingang-bot leads ...`: sales staff review, work and export leads from the command line."""

from __future__ import annotations

import getpass
import io
import json
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.table import Table

from bot.app import Storage
from bot.commandline import fail, storage_or_exit
from bot.core.records import LEAD_STATUSES, Lead, LeadFilter, LeadStatus
from bot.exports import lead_row, write_csv

leads_cli = typer.Typer(help="Review, work and export leads.", no_args_is_help=True)

PAGE = 500

Status = Literal["new", "contacted", "qualified", "won", "lost"]
AsJson = Annotated[bool, typer.Option("--json", help="JSON instead of a table.")]
StatusOption = Annotated[Status | None, typer.Option("--status", help="Only this status.")]
SinceOption = Annotated[
    datetime | None,
    typer.Option(
        "--since", formats=["%Y-%m-%d"], help="Only leads created on or after (YYYY-MM-DD)."
    ),
]
SearchOption = Annotated[
    str | None, typer.Option("--search", help="Text in any field or the question.")
]


_storage = storage_or_exit


def _criteria(status: Status | None, since: datetime | None, search: str | None) -> LeadFilter:
    when = since.replace(tzinfo=UTC) if since else None
    return LeadFilter(status=status, since=when, search=search or None)


def _all(storage: Storage, criteria: LeadFilter) -> Iterator[Lead]:
    offset = 0
    while True:
        page = storage.leads.find(replace(criteria, limit=PAGE, offset=offset))
        yield from page
        if len(page) < PAGE:
            return
        offset += PAGE


@leads_cli.command("list")
def list_command(
    status: StatusOption = None,
    since: SinceOption = None,
    search: SearchOption = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many.")] = 50,
    as_json: AsJson = False,
) -> None:
    """The latest leads, newest first."""
    criteria = _criteria(status, since, search)
    with _storage() as (_, storage):
        leads = storage.leads.find(replace(criteria, limit=limit))
    if as_json:
        typer.echo(json.dumps([lead_row(lead) for lead in leads], ensure_ascii=False))
        return
    table = Table(
        "id", "created", "status", "score", "name", "company", "email", "interest", "channel"
    )
    for lead in leads:
        table.add_row(
            str(lead.id),
            lead.created_at.strftime("%Y-%m-%d %H:%M"),
            lead.status,
            str(lead.score),
            *(lead.answer(name) or "" for name in ("name", "company", "email", "interest")),
            lead.channel,
        )
    Console(width=None if sys.stdout.isatty() else 200).print(table)
    typer.echo(f"{len(leads)} lead(s)")


@leads_cli.command("show")
def show_command(lead_id: Annotated[int, typer.Argument(help="The lead's id.")]) -> None:
    """One lead: every field, its consent record, its history and the conversation."""
    with _storage() as (_, storage):
        lead = storage.leads.get(lead_id)
        if lead is None:
            fail(f"no lead {lead_id}", code=2)
        consent = storage.leads.consent(lead.consent_id)
        history = storage.leads.history(lead_id)
        transcript = storage.transcripts.conversation(lead.channel, lead.conversation_id)
    lines = [f"Lead #{lead.id}"]
    lines += [
        f"  {key}: {value}" for key, value in lead_row(lead).items() if value not in (None, "")
    ]
    if consent is not None:
        lines.append(
            f"Consent #{consent.id}: given {consent.at.isoformat()} on {consent.channel}, "
            f"notice version {consent.notice_version}, language {consent.language}"
        )
    lines.append("History:")
    for event in history:
        detail = f" -> {event.status}" if event.status else ""
        changes = ", ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in event.changes.items())
        note = f" ({event.note})" if event.note else ""
        lines.append(
            f"  {event.at.isoformat()} {event.kind}{detail} by {event.actor}{note} {changes}"
        )
    lines.append("Conversation:")
    lines += [
        f"  {e.at.isoformat()} {'>' if e.direction == 'in' else '<'} {e.text}" for e in transcript
    ]
    typer.echo("\n".join(line.rstrip() for line in lines))


@leads_cli.command("status")
def status_command(
    lead_id: Annotated[int, typer.Argument(help="The lead's id.")],
    status: Annotated[Status, typer.Argument(help="The new status.")],
    note: Annotated[str | None, typer.Option("--note", help="Why, or what was agreed.")] = None,
) -> None:
    """Move a lead to another status (the history keeps who, when and why)."""
    actor = f"cli:{getpass.getuser()}"
    with _storage() as (_, storage):
        try:
            lead = storage.leads.set_status(lead_id, _status(status), actor, note)
        except KeyError:
            fail(f"no lead {lead_id}", code=2)
    typer.echo(f"lead #{lead.id} is now {lead.status}")


def _status(value: str) -> LeadStatus:
    for status in LEAD_STATUSES:
        if status == value:
            return status
    raise typer.BadParameter(value)


@leads_cli.command("export")
def export_command(
    export_format: Annotated[
        Literal["csv", "jsonl"], typer.Option("--format", help="csv (for spreadsheets) or jsonl.")
    ] = "csv",
    output: Annotated[
        Path | None, typer.Option("--output", help="File to write; default: standard output.")
    ] = None,
    status: StatusOption = None,
    since: SinceOption = None,
    search: SearchOption = None,
) -> None:
    """Every matching lead, for a spreadsheet or another system."""
    criteria = _criteria(status, since, search)
    buffer = io.StringIO(newline="")
    with _storage() as (_, storage):
        leads = _all(storage, criteria)
        if export_format == "csv":
            count = write_csv(leads, buffer)
        else:
            count = 0
            for lead in leads:
                buffer.write(json.dumps(lead_row(lead), ensure_ascii=False) + "\n")
                count += 1
    if output is None:
        sys.stdout.write(buffer.getvalue())
    else:
        output.write_text(buffer.getvalue(), encoding="utf-8", newline="")
        typer.echo(f"{count} lead(s) written to {output}", err=True)


@leads_cli.command("purge")
def purge_command() -> None:
    """Delete or redact everything older than LINGANG_RETENTION_DAYS (and what shorter
    technical windows allow), in every table: what `serve` does once a day."""
    with _storage() as (settings, storage):
        now = datetime.now(UTC)
        counts = storage.retention.purge(now)
    if counts is None:
        fail("another purge is running; nothing was done", code=1)
    before = now - timedelta(days=settings.retention_days)
    listed = ", ".join(f"{n} {what.replace('_', ' ')}" for what, n in counts.items())
    typer.echo(f"purged what was older than {before.date().isoformat()}: {listed}")
