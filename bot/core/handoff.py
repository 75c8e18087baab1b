"""Who holds a conversation: the bot, or a person from the sales team.

A prospect asks for a person; within office hours a handoff opens (`waiting`) and its Slack
thread is posted; a consultant takes it (`held`); it closes when the consultant or the prospect
ends it, or when the consultant goes quiet or nobody takes it in time. While it is open the bot
says nothing in the conversation: `Engine.handle` asks `HandoffDesk.holding` before any reply,
on every channel and replica, since the state is in the database.

Everything said across the handoff goes through the relay outbox (`Handoffs.relay`): the
prospect's messages to the thread, the consultant's replies and the bot's notices back. The
desk decides which messages and notices; the Slack relay (`bot.channels`) delivers them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.messages import Button, Incoming, Language, Reply
from bot.core.ports import EventLog, Handoffs, QuestionLog, StorageUnavailable
from bot.core.records import (
    MAX_EVENT_TEXT,
    CloseReason,
    ConversationEvent,
    Handoff,
    NewHandoff,
    RelayDraft,
)
from intents.catalog import Catalog
from intents.handoff import HandoffSettings

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
REQUEST = "handoff:request"
END = "handoff:end"
# Thread notices (sales.yaml names them; the relay renders them).
THREAD_AFTER_HOURS = "after_hours"
THREAD_CLAIMED = "claimed"
THREAD_CLOSED = "closed"
THREAD_UNCLAIMED = "unclaimed"
THREAD_SILENT = "rep_silent"
THREAD_PROSPECT_LEFT = "prospect_closed"
THREAD_ERASED = "erased"
# Prospect notices (catalog.yaml handoff.texts names them).
SAY_JOINED = "joined"
SAY_REP_CLOSED = "rep_closed"
SAY_REP_SILENT = "rep_silent"
SAY_UNCLAIMED = "unclaimed"


def as_language(value: str | None) -> Language:
    """A stored language code as ours (English unless it is Chinese)."""
    return "zh" if value == "zh" else "en"


def form_button(catalog: Catalog, lang: Language) -> Button:
    """The contact form, offered when no person can come now."""
    return Button(catalog.settings.handoff.form_button.get(lang), "form:lead")


def when_text(settings: HandoffSettings, at: datetime, lang: Language) -> str:
    """`at` in the office hours' time zone, written for the prospect."""
    local = at.astimezone(settings.office_hours.zone)
    return local.strftime(settings.date_format.get(lang))


def notice_text(catalog: Catalog, notice: str, lang: Language, params: dict[str, str]) -> str:
    """A prospect notice's words (`joined`, `rep_closed`, ...), filled in."""
    texts = catalog.settings.handoff.texts
    template: str = getattr(texts, notice).get(lang)
    return template.format(**params)


def notice_buttons(catalog: Catalog, notice: str, lang: Language) -> tuple[Button, ...]:
    """The buttons a prospect notice comes with: the contact form when nobody came."""
    if notice == SAY_UNCLAIMED:
        return (form_button(catalog, lang),)
    if notice in (SAY_REP_CLOSED, SAY_REP_SILENT):
        return (Button(catalog.settings.handoff.request_button.get(lang), REQUEST),)
    return ()


@dataclass(frozen=True, slots=True)
class Requested:
    """What asking for a person did: the replies, and the handoff if one was opened."""

    replies: list[Reply]
    handoff: Handoff | None
    created: bool = False  # a new handoff (not the one already open)


class HandoffDesk:
    """Decides every step of a handoff; the engine and the Slack relay both go through it."""

    def __init__(
        self,
        handoffs: Handoffs,
        events: EventLog,
        clock: Clock,
        questions: QuestionLog | None = None,
    ) -> None:
        self._handoffs = handoffs
        self._events = events
        self._clock = clock
        self._questions = questions

    # -- the prospect's side (called by the engine) -------------------------------------------

    def holding(self, channel: str, conversation_id: str) -> Handoff | None:
        """The open handoff of the conversation: while there is one, the bot stays silent.
        Raises `StorageUnavailable` (the engine then answers as the bot)."""
        return self._handoffs.current(channel, conversation_id)

    def request(
        self, catalog: Catalog, incoming: Incoming, lang: Language, question: str | None
    ) -> Requested:
        """The prospect asks for a person: within office hours a thread opens and they are
        told someone is being asked; outside them the thread says so and they get the form."""
        settings = catalog.settings.handoff
        now = self._clock()
        hours = settings.office_hours
        open_now = hours.is_open(now)
        new = NewHandoff(
            incoming.channel,
            incoming.conversation_id,
            incoming.user_id,
            lang,
            now,
            question=question[:MAX_EVENT_TEXT] if question else None,
            display_name=(incoming.user_display_name or None),
            closed_reason=None if open_now else "after_hours",
        )
        relays = [RelayDraft("to_thread", "open")]
        if not open_now:
            when = when_text(settings, hours.next_opening(now), "en")
            relays.append(
                RelayDraft("to_thread", "notice", notice=THREAD_AFTER_HOURS, params={"when": when})
            )
        handoff, created = self._handoffs.request(new, relays)
        texts = settings.texts
        if not created:
            return Requested(
                [Reply(texts.already_asked.get(lang), self._end(catalog, lang), kind="notice")],
                handoff,
            )
        self._event(handoff, "requested", now)
        if not open_now:
            self._event(handoff, "after_hours", now)
            when = when_text(settings, hours.next_opening(now), lang)
            text = texts.after_hours.get(lang).format(hours=hours.describe(), when=when)
            form = (form_button(catalog, lang),)
            return Requested([Reply(text, form, kind="notice")], handoff, created=True)
        text = texts.asking.get(lang).format(minutes=settings.claim_minutes)
        return Requested(
            [Reply(text, self._end(catalog, lang), kind="notice")], handoff, created=True
        )

    def prospect_said(self, catalog: Catalog, handoff: Handoff, incoming: Incoming) -> list[Reply]:
        """A message from the prospect while a person holds the conversation: it goes to the
        thread and the bot says nothing, unless it ends the handoff."""
        lang = as_language(handoff.language)
        settings = catalog.settings.handoff
        text = incoming.text.strip()
        if incoming.payload == END or (incoming.payload is None and settings.ends(text)):
            self.close(handoff.id, "prospect")
            return [Reply(settings.texts.prospect_closed.get(lang), kind="notice")]
        if incoming.payload == REQUEST:
            return [
                Reply(
                    settings.texts.already_asked.get(lang), self._end(catalog, lang), kind="notice"
                )
            ]
        if incoming.payload is not None and incoming.payload.startswith("unsupported:"):
            return [Reply(settings.texts.not_text.get(lang), kind="notice")]
        if incoming.payload is not None or not text:
            return []  # an old button of the bot's: nothing to say while a person is on
        self._handoffs.relay(
            handoff.id, [RelayDraft("to_thread", "text", text=text)], self._clock()
        )
        return []

    def erase(self, channel: str, user_id: str, cards: Sequence[tuple[str, str]] = ()) -> int:
        """Before a person's data is erased: close their open handoffs and queue the deletion
        of our posts in their threads and of their lead `cards` ((channel, ts) in Slack). How
        many posts are to be deleted."""
        now = self._clock()
        deleted = 0
        handoffs = self._handoffs.of_person(channel, user_id)
        if cards:
            drafts = [
                RelayDraft("to_thread", "delete", target_ts=ts, params={"channel": where})
                for where, ts in cards
            ]
            if handoffs:
                self._handoffs.relay(handoffs[-1].id, drafts, now)
            else:  # a closed record to carry the deletions (redacted with the rest)
                carrier = NewHandoff(
                    channel, f"erased:{user_id}"[:128], user_id, "en", now, closed_reason="erased"
                )
                self._handoffs.request(carrier, drafts)
            deleted += len(drafts)
        for handoff in handoffs:
            posts = self._handoffs.posts(handoff.id)
            drafts = [RelayDraft("to_thread", "delete", target_ts=ts) for ts in posts]
            drafts.append(RelayDraft("to_thread", "notice", notice=THREAD_ERASED))
            if handoff.open:
                self._handoffs.close(handoff.id, "erased", now, drafts)
            else:
                self._handoffs.relay(handoff.id, drafts, now)
            deleted += len(posts)
        return deleted

    # -- the consultant's side (called by the Slack relay) ------------------------------------

    def claim(self, handoff_id: int, rep_id: str, rep_name: str) -> Handoff | None:
        """A consultant takes the handoff; the prospect is told who joined. None when it was
        not waiting any more."""
        now = self._clock()
        relays = [
            RelayDraft("to_prospect", "notice", notice=SAY_JOINED, params={"name": rep_name}),
            RelayDraft("to_thread", "notice", notice=THREAD_CLAIMED, params={"rep": rep_id}),
        ]
        handoff = self._handoffs.claim(handoff_id, rep_id, rep_name, now, relays)
        if handoff is not None:
            self._event(handoff, "claimed", now)
        return handoff

    def rep_said(self, catalog: Catalog, handoff: Handoff, rep_id: str, text: str) -> str:
        """A message in the thread from a person: `note` (internal, stays in Slack), `closed`
        (a close word), `relayed` (queued for the prospect), or `not_holder` (the handoff is
        not held by them: someone must take it first). The marker and the words are in
        `sales.yaml` (`handoff.note_marker`, `handoff.close_words`)."""
        thread = catalog.sales.handoff
        said = text.strip()
        if said.lower().startswith(thread.note_marker.lower()) or not said:
            return "note"
        if not handoff.open or handoff.claimed_by != rep_id:
            return "not_holder"
        if said.lower() in {word.lower() for word in thread.close_words}:
            self.close(handoff.id, "rep")
            return "closed"
        now = self._clock()
        first = handoff.first_reply_at is None
        self._handoffs.relay(handoff.id, [RelayDraft("to_prospect", "text", text=said)], now)
        if first:
            self._event(handoff, "human_reply", now)
            if self._questions is not None:  # the draft answer of the question in the inbox
                try:
                    self._questions.replied(
                        handoff.channel, handoff.conversation_id, handoff.requested_at, said
                    )
                except StorageUnavailable:
                    log.warning("the consultant's reply not kept for the inbox: database down")
        return "relayed"

    def close(self, handoff_id: int, reason: CloseReason) -> Handoff | None:
        """End the handoff; the bot has the conversation again. Both sides are told."""
        handoff = self._handoffs.get(handoff_id)
        if handoff is None or not handoff.open:
            return None
        now = self._clock()
        name = handoff.rep_name or ""
        relays: list[RelayDraft] = []
        if reason == "rep":
            relays.append(
                RelayDraft("to_prospect", "notice", notice=SAY_REP_CLOSED, params={"name": name})
            )
            relays.append(RelayDraft("to_thread", "notice", notice=THREAD_CLOSED))
        elif reason == "rep_silent":
            relays.append(
                RelayDraft("to_prospect", "notice", notice=SAY_REP_SILENT, params={"name": name})
            )
            relays.append(RelayDraft("to_thread", "notice", notice=THREAD_SILENT))
        elif reason == "prospect":
            relays.append(RelayDraft("to_thread", "notice", notice=THREAD_PROSPECT_LEFT))
        closed = self._handoffs.close(handoff_id, reason, now, relays)
        if closed is not None:
            self._event(closed, "closed", now, reason)
        return closed

    # -- timers (called by any replica, every few seconds) -----------------------------------

    def sweep(self, catalog: Catalog) -> int:
        """Close the handoffs nobody took in time and those whose consultant went quiet; how
        many were closed. Safe on every replica at once: a handoff closes once."""
        settings = catalog.settings.handoff
        now = self._clock()
        closed = 0
        for handoff in self._handoffs.unclaimed_since(
            now - timedelta(minutes=settings.claim_minutes)
        ):
            lang = as_language(handoff.language)
            hours = settings.office_hours
            reply_by = hours.next_opening(now) if not hours.is_open(now) else hours.closing(now)
            relays = [
                RelayDraft(
                    "to_prospect",
                    "notice",
                    notice=SAY_UNCLAIMED,
                    params={"when": when_text(settings, reply_by, lang)},
                ),
                RelayDraft(
                    "to_thread",
                    "notice",
                    notice=THREAD_UNCLAIMED,
                    params={"when": when_text(settings, reply_by, "en")},
                ),
            ]
            if self._handoffs.close(handoff.id, "unclaimed", now, relays) is not None:
                self._event(handoff, "closed", now, "unclaimed")
                closed += 1
        for handoff in self._handoffs.silent_since(
            now - timedelta(minutes=settings.silence_minutes)
        ):
            if self.close(handoff.id, "rep_silent") is not None:
                closed += 1
        return closed

    # -- the event log ---------------------------------------------------------------------------

    def _event(
        self, handoff: Handoff, outcome: str, at: datetime, detail: str | None = None
    ) -> None:
        event = ConversationEvent(
            handoff.channel,
            handoff.conversation_id,
            handoff.user_id,
            "handoff",
            at,
            outcome=outcome if detail is None else f"{outcome}:{detail}",
            language=handoff.language,
        )
        try:
            self._events.add([event])
        except StorageUnavailable:
            log.warning("handoff event not recorded: database unavailable")

    @staticmethod
    def _end(catalog: Catalog, lang: Language) -> tuple[Button, ...]:
        return (Button(catalog.settings.handoff.end_button.get(lang), END),)
