"""The sales desk in Slack, as Block Kit: a lead notification with its buttons, the message
after a button press, `/leads` and `/lead ID`. Pure rendering over the lead records and the
content of `sales.yaml` and `forms/lead.yaml`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.adapters.slack import MAX_SECTION, SlackMessage, context, escape, section
from bot.adapters.splitting import chunks
from bot.core.records import Lead, LeadEvent, TranscriptEntry
from intents.forms import LeadFormSpec
from intents.sales import SALES_ACTIONS, SalesAction, SalesDeskSpec

Json = dict[str, Any]
ACTION_PREFIX = "sales:"  # action_id of a desk button: "sales:claim", "sales:lost", ...
STATUS_BLOCK = "sales-status"
NOTES_BLOCK = "sales-note-"
MAX_FIELDS = 10  # fields in one section block
MAX_FIELD = 2000  # characters in one field
TRANSCRIPT_LINES = 40


def person(user_id: str) -> str:
    """A Slack user, shown by Slack as their name."""
    return f"<@{user_id}>"


def owner_label(lead: Lead, desk: SalesDeskSpec) -> str:
    """Who owns the lead, as Slack shows it."""
    if lead.owner is None:
        return escape(desk.texts.nobody)
    who = lead.owner.removeprefix("slack:")
    return person(who) if lead.owner.startswith("slack:") else escape(lead.owner)


def _status_line(lead: Lead, desk: SalesDeskSpec) -> Json:
    line = desk.texts.status.format(status=escape(lead.status), owner=owner_label(lead, desk))
    block = context(line)
    block["block_id"] = STATUS_BLOCK
    return block


def _fields(lead: Lead, form: LeadFormSpec) -> list[Json]:
    shown = []
    for spec in form.fields:
        value = lead.answer(spec.id)
        if value is None:
            continue
        option = spec.option(value)
        text = option.title.en if option is not None else value
        shown.append({"type": "mrkdwn", "text": f"*{escape(spec.label.en)}*\n{escape(text)}"})
    for field in shown:
        field["text"] = field["text"][:MAX_FIELD]
    return [
        {"type": "section", "fields": shown[start : start + MAX_FIELDS]}
        for start in range(0, len(shown), MAX_FIELDS)
    ]


def buttons(lead_id: int, desk: SalesDeskSpec) -> Json:
    """Claim, Contacted, Qualified, Lost."""
    elements = [
        {
            "type": "button",
            "text": {"type": "plain_text", "text": desk.buttons.title(action)},
            "value": str(lead_id),
            "action_id": f"{ACTION_PREFIX}{action}",
            **({"style": "danger"} if action == "lost" else {}),
        }
        for action in SALES_ACTIONS
    ]
    return {"type": "actions", "block_id": "sales-actions", "elements": elements}


def lead_card(lead: Lead, desk: SalesDeskSpec, form: LeadFormSpec, *, updated: bool) -> list[Json]:
    """The lead: title, answers, the question behind it, where from, status and owner."""
    title = desk.texts.updated_lead if updated else desk.texts.new_lead
    blocks: list[Json] = [section(f"*{escape(title.format(id=lead.id, score=lead.score))}*")]
    blocks += _fields(lead, form)
    if lead.question:
        blocks.append(context(escape(desk.texts.question.format(question=lead.question[:500]))))
    origin = desk.texts.origin.format(
        channel=lead.channel, language=lead.language, source=lead.source or "-"
    )
    blocks.append(context(escape(origin)))
    blocks.append(_status_line(lead, desk))
    return blocks


def notification(lead: Lead, desk: SalesDeskSpec, form: LeadFormSpec, kind: str) -> SlackMessage:
    """What the sales channel is sent for a new (or updated) lead."""
    updated = kind != "lead_created"
    blocks = [*lead_card(lead, desk, form, updated=updated), buttons(lead.id, desk)]
    title = desk.texts.updated_lead if updated else desk.texts.new_lead
    return SlackMessage(escape(title.format(id=lead.id, score=lead.score)), tuple(blocks))


def after_action(
    blocks: Sequence[Mapping[str, Any]],
    lead: Lead,
    desk: SalesDeskSpec,
    action: SalesAction,
    user_id: str,
) -> list[Json]:
    """The notification after `user_id` pressed `action`: the status line brought up to date
    and a line saying who did what, above the buttons (kept: the lead can move on)."""
    if action == "claim":
        note = desk.texts.claimed.format(user=person(user_id))
    else:
        note = desk.texts.moved.format(user=person(user_id), status=escape(lead.status))
    notes = sum(1 for b in blocks if str(b.get("block_id", "")).startswith(NOTES_BLOCK))
    line = context(note)
    line["block_id"] = f"{NOTES_BLOCK}{notes}"
    result: list[Json] = []
    for block in blocks:
        if block.get("block_id") == STATUS_BLOCK:
            result.append(_status_line(lead, desk))
        elif block.get("type") == "actions":
            result += [line, dict(block)]
        else:
            result.append(dict(block))
    return result


def gone(blocks: Sequence[Mapping[str, Any]], lead_id: int, desk: SalesDeskSpec) -> list[Json]:
    """The notification of a lead that was erased or purged: no buttons, and why."""
    kept = [dict(b) for b in blocks if b.get("type") != "actions"]
    return [*kept, context(escape(desk.texts.gone.format(id=lead_id)))]


def lead_list(leads: Sequence[Lead], desk: SalesDeskSpec) -> SlackMessage:
    """`/leads`: one line per lead, newest first."""
    if not leads:
        text = escape(desk.texts.none_found)
        return SlackMessage(text, (section(text),))
    lines = [
        desk.texts.list_line.format(
            id=lead.id,
            status=escape(lead.status),
            score=lead.score,
            name=escape(lead.name or "-"),
            company=escape(lead.answer("company") or "-"),
            created=lead.created_at.strftime("%Y-%m-%d %H:%M"),
        )
        for lead in leads
    ]
    title = escape(desk.texts.list_title.format(count=len(leads)))
    blocks = [section(f"*{title}*")]
    blocks += [section(piece) for piece in chunks("\n".join(lines), MAX_SECTION)]
    return SlackMessage(title, tuple(blocks))


def lead_detail(
    lead: Lead,
    history: Sequence[LeadEvent],
    transcript: Sequence[TranscriptEntry],
    desk: SalesDeskSpec,
    form: LeadFormSpec,
) -> SlackMessage:
    """`/lead ID`: the card, the history and the end of the conversation."""
    blocks = lead_card(lead, desk, form, updated=False)
    events = [
        f"{e.at:%Y-%m-%d %H:%M} {e.kind}{' -> ' + e.status if e.status else ''} "
        f"({escape(e.actor)}){': ' + escape(e.note) if e.note else ''}"
        for e in history
    ]
    blocks.append(section(f"*{escape(desk.texts.history)}*\n" + "\n".join(events)[:MAX_SECTION]))
    said = [
        f"{e.at:%H:%M} {'→' if e.direction == 'in' else '←'} {escape(e.text[:300])}"
        for e in transcript[-TRANSCRIPT_LINES:]
    ]
    if said:
        heading = f"*{escape(desk.texts.transcript)}*"
        pieces = chunks("\n".join(said), MAX_SECTION - len(heading) - 1)
        blocks.append(section(f"{heading}\n{pieces[0]}"))
        blocks += [section(piece) for piece in pieces[1:]]
    return SlackMessage(f"#{lead.id}", tuple(blocks))
