"""A handoff's thread in the sales channel, as Block Kit: the first post (who, the lead's fields,
the conversation so far, Take it / Close), the posts that follow (what the prospect wrote, the
bot's notices), and the first post after a button press. Pure rendering over the records and
the `handoff:` part of `sales.yaml`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.adapters.slack import MAX_SECTION, SlackMessage, context, escape, section
from bot.adapters.slack_desk import lead_card, person
from bot.adapters.splitting import chunks
from bot.core.records import Handoff, Lead, TranscriptEntry
from intents.forms import LeadFormSpec
from intents.sales import SalesDeskSpec

Json = dict[str, Any]
TAKE = "handoff:take"  # action_id of the "Take it" button; its value is the handoff's id
CLOSE = "handoff:close"
ACTIONS_BLOCK = "handoff-actions"
STATUS_BLOCK = "handoff-status"
TRANSCRIPT_LINES = 20
LINE_CHARS = 300
# Notice parameters that name a Slack user (shown by Slack as their name).
PEOPLE = frozenset({"rep"})
# The relay's own notice: a message that could not reach the prospect (`reason`: `blocked`,
# `gone` or `refused`, put in words from `sales.yaml`).
UNDELIVERABLE = "undeliverable"


def _buttons(handoff_id: int, desk: SalesDeskSpec, *, take: bool) -> Json:
    labels = desk.handoff.buttons
    elements: list[Json] = []
    if take:
        elements.append(
            {"type": "button", "text": {"type": "plain_text", "text": labels.take},
             "value": str(handoff_id), "action_id": TAKE, "style": "primary"}
        )  # fmt: skip
    elements.append(
        {"type": "button", "text": {"type": "plain_text", "text": labels.close},
         "value": str(handoff_id), "action_id": CLOSE}
    )  # fmt: skip
    return {"type": "actions", "block_id": ACTIONS_BLOCK, "elements": elements}


def opening(
    handoff: Handoff,
    lead: Lead | None,
    said: Sequence[TranscriptEntry],
    desk: SalesDeskSpec,
    form: LeadFormSpec,
) -> SlackMessage:
    """The thread's first post: who asks, from where and in what language, the lead's fields
    (when the prospect filled in the form), the last messages, and Take it / Close."""
    texts = desk.handoff.texts
    who = escape(handoff.display_name or texts.anonymous)
    title = texts.opening.format(
        who=who, channel=escape(handoff.channel), language=escape(handoff.language)
    )
    blocks: list[Json] = [section(title)]
    if handoff.question:
        blocks.append(context(escape(texts.asked.format(question=handoff.question[:500]))))
    if lead is not None:
        card = lead_card(lead, desk, form, updated=False)
        blocks.append(context(escape(texts.lead.format(id=lead.id, score=lead.score))))
        blocks += card[1:]  # its fields, question and origin lines (its title is the line above)
    else:
        blocks.append(context(escape(texts.no_lead)))
    lines = [
        f"{e.at:%H:%M} {'→' if e.direction == 'in' else '←'} {escape(e.text[:LINE_CHARS])}"
        for e in said[-TRANSCRIPT_LINES:]
    ]
    if lines:
        heading = f"*{escape(texts.transcript)}*"
        pieces = chunks("\n".join(lines), MAX_SECTION - len(heading) - 1)
        blocks.append(section(f"{heading}\n{pieces[0]}"))
        blocks += [section(piece) for piece in pieces[1:]]
    blocks.append(_buttons(handoff.id, desk, take=True))
    fallback = texts.opening.format(
        who=handoff.display_name or texts.anonymous,
        channel=handoff.channel,
        language=handoff.language,
    )
    return SlackMessage(fallback.replace("*", ""), tuple(blocks))


def prospect_said(text: str, desk: SalesDeskSpec) -> SlackMessage:
    """What the prospect wrote, as a reply in the thread."""
    shown = escape(desk.handoff.texts.prospect_says.format(text=text))
    pieces = chunks(shown, MAX_SECTION)
    return SlackMessage(shown[:MAX_SECTION], tuple(section(piece) for piece in pieces))


def notice(name: str, params: Mapping[str, str], desk: SalesDeskSpec) -> SlackMessage | None:
    """One of the bot's notices in the thread; None for a notice `sales.yaml` does not name."""
    template = desk.handoff.notices.text(name)
    if template is None:
        return None
    filled = {
        key: person(value) if key in PEOPLE else escape(value) for key, value in params.items()
    }
    if name == UNDELIVERABLE:
        texts = desk.handoff.texts
        reason = params.get("reason", "")
        filled["reason"] = {"blocked": texts.blocked, "gone": texts.gone}.get(reason, texts.refused)
    text = template.format_map(_Missing(filled))
    return SlackMessage(text, (context(text),))


def hint(text: str) -> SlackMessage:
    """A line only one person sees (an ephemeral message)."""
    return SlackMessage(text, (context(text),))


def after_press(
    blocks: Sequence[Mapping[str, Any]],
    handoff_id: int,
    desk: SalesDeskSpec,
    line: str,
    *,
    open_: bool,
) -> list[Json]:
    """The first post after a press: `line` (already formatted) says who took or closed it;
    while the conversation is open only Close stays, after it no button."""
    kept = [
        dict(b)
        for b in blocks
        if b.get("block_id") not in (ACTIONS_BLOCK, STATUS_BLOCK) and b.get("type") != "actions"
    ]
    status = context(line)
    status["block_id"] = STATUS_BLOCK
    kept.append(status)
    if open_:
        kept.append(_buttons(handoff_id, desk, take=False))
    return kept


class _Missing(dict[str, str]):
    """A notice's parameters; one the queued item lacks is shown empty, not an error."""

    def __missing__(self, key: str) -> str:
        return ""
