"""The conversation engine: one inbound message in, the replies out.

Each turn loads the conversation's state, decides, carries out what the decision needs
(store a confirmed lead, export or erase a person's data), saves the state (redoing the turn if
another message of the same conversation saved first), then records the transcript and any
unanswered question. The database is a help, not a condition: when it is down the engine
still answers from the catalog, and says so when something could not be kept.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

from bot.core import answers
from bot.core.answers import Answer
from bot.core.forms import CONTACT_PREFIX, PAYLOAD_PREFIX, FormState, FormStep, LeadForm
from bot.core.handoff import REQUEST, HandoffDesk, as_language, form_button
from bot.core.messages import Button, Incoming, Language, Reply
from bot.core.ports import (
    ConversationStore,
    DeliveryLog,
    EventLog,
    LeadRepository,
    PrivacyRegistry,
    QuestionLog,
    StaleState,
    StorageUnavailable,
    TranscriptLog,
    TurnObserver,
)
from bot.core.records import (
    MAX_EVENT_TEXT,
    ConversationEvent,
    EventKind,
    Handoff,
    LeadSubmission,
    MissReason,
    TranscriptEntry,
    UnansweredQuestion,
)
from bot.core.state import ConversationState
from intents import review
from intents.catalog import Catalog
from intents.knowledge import Knowledge, KnowledgeBase
from intents.text import guess_language

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
MAX_REMEMBERED_QUESTION = 500
FEEDBACK = "fb:"  # `fb:up:KEY` / `fb:down:KEY`: a 👍/👎 under the answer that offered KEY
# What the conversation waits for after a turn, kept in its state until the next message:
# which intents a "did you mean" offered, or the one line a 👎 asked for.
PENDING = ("clarify", "feedback")
# Only in a private chat: what shows or takes a person's data, and a person from the team (whose
# replies would be relayed to everyone in the group). The lead intents (tag `lead`) start the
# form, so they are private too, typed or pressed.
PRIVATE_COMMANDS = frozenset({"mydata", "forget", "contact"})
PRIVATE_PAYLOADS = (PAYLOAD_PREFIX, "privacy:", CONTACT_PREFIX, REQUEST)
PRIVATE_FORMS = frozenset({"lead", "forget"})  # conversation states holding a person's choices
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


def language_of(hint: str | None) -> Language | None:
    """Our language for a platform's locale tag (`zh-hans`, `zh_CN`, `en-GB`, ...)."""
    if not hint:
        return None
    return "zh" if hint.lower().replace("_", "-").split("-")[0] == "zh" else "en"


@dataclass(frozen=True, slots=True)
class _Turn:
    """A decision: the new state, the replies, and what must happen before it is saved."""

    state: ConversationState
    replies: list[Reply]
    answer: Answer | None = None
    submit: LeadSubmission | None = None
    erase: bool = False
    export: bool = False
    private: bool = False  # the messages carry personal data: keep placeholders, not text
    erased: bool = False  # everything about the person is gone: save and record nothing
    form_changed: bool = False
    answer_key: str | None = None  # the answer offered 👍/👎 under this key
    events: tuple[ConversationEvent, ...] = ()  # besides the turn's own
    misses: tuple[UnansweredQuestion, ...] = ()  # for the admins' inbox, besides a fallback
    outcome: str | None = None  # for the metrics, when it is not the usual one
    intent_id: str | None = None  # the intent answered by a pressed button (no match to tell)

    @property
    def refused(self) -> bool:
        """A message refused as bad input changes nothing and is not kept."""
        return self.answer is not None and self.answer.reply.kind == "error"


def _needs_storage(turn: _Turn) -> bool:
    """Whether the turn means nothing unless the database takes it."""
    return turn.form_changed or turn.submit is not None or turn.erase or turn.export


_ANSWERED = {"answer": "match", "clarify": "clarify", "fallback": "fallback"}


def _outcome(incoming: Incoming, turn: _Turn) -> str:
    """How a turn went, in the words of `TurnObserver` (for the metrics)."""
    if turn.refused:
        return "refused"
    if turn.outcome is not None:
        return turn.outcome
    if incoming.payload is None and incoming.text.lstrip().startswith("/"):
        return "command"
    if turn.answer is not None:
        return _ANSWERED.get(turn.answer.reply.kind, "notice")
    kinds = {reply.kind for reply in turn.replies}
    if turn.form_changed or turn.submit is not None or "form" in kinds:
        return "form"
    if "fallback" in kinds:
        return "fallback"
    return "match" if "answer" in kinds else "notice"


class Engine:
    """Answers messages from every channel the same way."""

    def __init__(
        self,
        knowledge: KnowledgeBase,
        *,
        conversations: ConversationStore,
        deliveries: DeliveryLog,
        transcripts: TranscriptLog,
        questions: QuestionLog,
        leads: LeadRepository,
        privacy: PrivacyRegistry,
        retention_days: int = 365,
        clock: Clock = utc_now,
        observer: TurnObserver | None = None,
        events: EventLog | None = None,
        desk: HandoffDesk | None = None,
    ) -> None:
        self._knowledge = knowledge
        self._conversations = conversations
        self._deliveries = deliveries
        self._transcripts = transcripts
        self._questions = questions
        self._leads = leads
        self._privacy = privacy
        self._retention_days = retention_days
        self._clock = clock
        self._observer = observer
        self._events = events
        self._desk = desk

    def claim(self, channel: str, event_id: str) -> bool:
        """Record a platform delivery before it is handled: True the first time only.

        Raises `StorageUnavailable`, so that a webhook can refuse the delivery and have the
        platform send it again later.
        """
        return self._deliveries.first_delivery(channel, event_id)

    def handle(
        self, incoming: Incoming, *, claimed: bool = False, observed: bool = True
    ) -> list[Reply]:
        """Decide the replies to `incoming`; a redelivered event gets none.

        `claimed` says the adapter already recorded the delivery with `claim`; `observed`
        False leaves the turn out of the metrics (a turn done again, its unit of work having
        failed, was counted the first time).
        """
        started = time.perf_counter() if observed else None
        first = claimed or not incoming.event_id
        if not first and not self._first_delivery(incoming.channel, incoming.event_id or ""):
            log.info("duplicate delivery %s on %s dropped", incoming.event_id, incoming.channel)
            self._observe(incoming.channel, "duplicate", started)
            return []
        knowledge = self._knowledge.current
        # The one choke point: while a person holds the conversation, the bot says nothing.
        held = self._held(incoming)
        turn = self._during_handoff(knowledge, held, incoming) if held is not None else None
        if turn is None:
            turn = self._turn(knowledge, incoming)
        if not turn.refused and not turn.erased:
            self._record(knowledge, incoming, turn)
        self._observe(incoming.channel, _outcome(incoming, turn), started)
        return turn.replies

    def _held(self, incoming: Incoming) -> Handoff | None:
        """The conversation's open handoff; None also when the database cannot say (then the
        bot answers: better than leaving the prospect without any answer)."""
        if self._desk is None:
            return None
        try:
            return self._desk.holding(incoming.channel, incoming.conversation_id)
        except StorageUnavailable:
            log.warning("handoff state unknown: database unavailable; the bot answers")
            return None

    def _during_handoff(
        self, knowledge: Knowledge, held: Handoff, incoming: Incoming
    ) -> _Turn | None:
        """A message while a person holds the conversation: it goes to them and the bot stays
        silent. Only `/forget` and `/mydata` (a person's rights) are still the bot's, and
        `/cancel` ends the handoff. None: handle the message as usual."""
        desk = self._desk
        if desk is None:
            return None
        state = ConversationState(incoming.channel, incoming.conversation_id, incoming.user_id)
        text = incoming.text.strip()
        if incoming.payload is None and text.startswith("/"):
            name = text[1:].partition(" ")[0].split("@", 1)[0].lower()
            if name in ("forget", "mydata"):
                return None
            if name != "cancel":
                return _Turn(state, [], outcome="handoff")
            incoming = replace(incoming, payload="handoff:end")
        if incoming.payload is not None and incoming.payload.startswith("privacy:"):
            return None
        try:
            replies = desk.prospect_said(knowledge.catalog, held, incoming)
        except StorageUnavailable:
            log.warning("message not relayed: database unavailable")
            lang = as_language(held.language)
            sorry = Reply(knowledge.catalog.replies.not_saved.get(lang), kind="notice")
            return _Turn(state, [sorry], outcome="handoff")
        return _Turn(state, replies, outcome="handoff")

    def _today(self) -> date:
        """The day in Shanghai by the engine's clock: answers past their `valid_until` on it
        carry the dated caveat."""
        return review.today(self._clock())

    def _observe(self, channel: str, outcome: str, started: float | None) -> None:
        if self._observer is not None and started is not None:
            self._observer.handled(channel, outcome, time.perf_counter() - started)

    # -- one turn -------------------------------------------------------------------------

    def _turn(self, knowledge: Knowledge, incoming: Incoming) -> _Turn:
        attempts = 0
        while True:
            attempts += 1
            state, stored = self._load(incoming)
            turn = self._decide(knowledge, state, incoming)
            if not stored:
                return self._without_storage(knowledge, state, turn)
            turn = self._carry_out(knowledge, state, turn, incoming)
            unchanged = turn.state.version > 0 and turn.state.content_equals(state)
            if turn.erased or unchanged or turn.refused:
                return turn
            try:
                return replace(turn, state=self._conversations.save(turn.state))
            except StaleState:
                if attempts >= MAX_ATTEMPTS:
                    log.warning("conversation kept changing for %d attempts", attempts)
                    return self._unsaved(knowledge, state, turn)
                log.info("conversation on %s changed meanwhile; redoing the turn", incoming.channel)
            except StorageUnavailable:
                log.warning("conversation state not saved: database unavailable")
                return self._unsaved(knowledge, state, turn)

    def _load(self, incoming: Incoming) -> tuple[ConversationState, bool]:
        """The state to decide on, and whether it can be saved afterwards."""
        try:
            state = self._conversations.load(incoming.channel, incoming.conversation_id)
        except StorageUnavailable:
            log.warning("conversation state not loaded: database unavailable")
            return self._fresh(incoming), False
        return state or self._fresh(incoming), True

    def _fresh(self, incoming: Incoming) -> ConversationState:
        return ConversationState(
            incoming.channel,
            incoming.conversation_id,
            incoming.user_id,
            language=language_of(incoming.language_hint),
        )

    def _without_storage(
        self, knowledge: Knowledge, state: ConversationState, turn: _Turn
    ) -> _Turn:
        """The database is down: catalog answers still go out; anything else cannot be done
        now, and the prospect is told so (their form, if any, waits in the database)."""
        confident = turn.answer is None or turn.answer.reply.kind != "fallback"
        if confident and not _needs_storage(turn):
            return replace(turn, state=state)
        # Not knowing the conversation, a message the catalog cannot answer may well be the
        # next answer of a form: say it could not be taken, rather than "I don't know".
        lang = state.language or (turn.answer.language if turn.answer else "en")
        sorry = Reply(knowledge.catalog.replies.not_saved.get(lang), kind="notice")
        return _Turn(state, [sorry], private=True)

    def _unsaved(self, knowledge: Knowledge, state: ConversationState, turn: _Turn) -> _Turn:
        if not _needs_storage(turn):
            return turn
        lang = state.language or "en"
        sorry = Reply(knowledge.catalog.lead_form.texts.not_saved.get(lang), kind="notice")
        return _Turn(state, [sorry], private=True)

    # -- deciding -------------------------------------------------------------------------

    def _decide(self, knowledge: Knowledge, state: ConversationState, incoming: Incoming) -> _Turn:
        payload, text = incoming.payload, incoming.text
        pending = dict(state.form) if state.form and state.form.get("kind") in PENDING else None
        if pending is not None:  # it was for this message only
            state = replace(state, form=None)
        if not incoming.private:
            # A group: FAQ answers as always, but nothing of a person's own. A form or a
            # /forget confirmation left from before would be shared by every member: dropped.
            if state.form and state.form.get("kind") in PRIVATE_FORMS:
                state = replace(state, form=None)
            if self._private_only(knowledge.catalog, incoming):
                return self._go_private(knowledge.catalog, state, incoming, None)
        if payload is not None and payload.startswith(FEEDBACK):
            return self._feedback(knowledge, state, payload)
        if payload == REQUEST:
            lang = state.language or "en"
            return self._hand_off(knowledge, state, incoming, lang, state.last_question)
        turn = self._decide_after(knowledge, state, incoming)
        if pending is None:
            return turn
        if pending["kind"] == "clarify" and (payload or "").startswith("intent:"):
            chosen = (payload or "").partition(":")[2]
            options = pending.get("options")
            if isinstance(options, list) and chosen in options:  # the person chose: a near miss
                miss = self._miss(state, str(pending.get("question") or ""), "clarify", chosen)
                return replace(turn, misses=(*turn.misses, miss))
        if pending["kind"] == "feedback" and payload is None and text.strip()[:1] not in ("", "/"):
            # The one line a 👎 asked for: kept with the rating, and answered as a question.
            comment = self._event(
                state,
                "feedback",
                outcome="comment",
                answer_key=str(pending.get("key") or ""),
                text=text.strip(),
            )
            noted = Reply(
                knowledge.catalog.settings.feedback.noted.get(state.language or "en"), kind="notice"
            )
            return replace(turn, replies=[noted, *turn.replies], events=(*turn.events, comment))
        return turn

    def _decide_after(
        self, knowledge: Knowledge, state: ConversationState, incoming: Incoming
    ) -> _Turn:
        payload, text = incoming.payload, incoming.text
        form = FormState.from_dict(state.form) if state.form else None
        if payload is not None and payload.startswith("unsupported:"):
            # A sticker, photo, voice note, file or edited message: say what the bot reads.
            lang = state.language or "en"
            return _Turn(
                state, [Reply(knowledge.catalog.replies.not_text.get(lang), kind="notice")]
            )
        if payload is not None and payload.startswith("privacy:"):
            return self._privacy_choice(knowledge, state, payload)
        if payload is None and text.lstrip().startswith("/"):
            return self._command(knowledge, state, form, text.strip())
        if form is not None:
            return self._form_turn(knowledge, state, form, incoming)
        if payload is not None:
            return self._press(knowledge, state, payload)
        chosen = state.language if state.language_chosen else None
        answer = answers.answer(
            knowledge, text, chosen, state.language, state.last_question, today=self._today()
        )
        before = state
        if answer.match is not None:
            state = replace(
                state.speaking(answer.language) if not chosen else state,
                last_question=(answer.read_as or text).strip()[-MAX_REMEMBERED_QUESTION:],
            )
        if answer.match is not None and answer.match.intent_id is not None:
            intent = knowledge.catalog.intent(answer.match.intent_id)
            if "lead" in intent.tags:
                if not incoming.private:
                    refused = self._go_private(knowledge.catalog, state, incoming, answer.language)
                    return replace(refused, answer=answer)
                if self._desk is not None and knowledge.catalog.settings.handoff.asks(text):
                    # "A real person, please": a person now, not a form to fill in; the
                    # question before this one is what they needed the person for.
                    handed = self._hand_off(
                        knowledge, state, incoming, answer.language, before.last_question
                    )
                    return replace(handed, answer=answer)
                started = self._start_form(knowledge, state, answer.language)
                return replace(started, replies=[answer.reply, *started.replies], answer=answer)
            return self._rateable(knowledge, _Turn(state, [answer.reply], answer), answer.language)
        if answer.reply.kind == "clarify" and answer.match is not None:
            options = [b.payload.partition(":")[2] for b in answer.reply.buttons]
            question = (answer.read_as or text).strip()[:MAX_EVENT_TEXT]
            state = replace(
                state, form={"kind": "clarify", "question": question, "options": options}
            )
        return _Turn(state, [answer.reply], answer)

    # -- what only a private chat may do ------------------------------------------------------

    @staticmethod
    def _private_only(catalog: Catalog, incoming: Incoming) -> bool:
        """Whether the message asks for what only a private chat may do (its words that start
        the form are only known once matched: see `_decide_after`)."""
        payload, text = incoming.payload, incoming.text.strip()
        if payload is not None:
            kind, _, value = payload.partition(":")
            lead = kind == "intent" and value in catalog.intents
            return payload.startswith(PRIVATE_PAYLOADS) or (
                lead and "lead" in catalog.intent(value).tags
            )
        if not text.startswith("/"):
            return False
        name = text[1:].partition(" ")[0].split("@", 1)[0].lower()
        return name in PRIVATE_COMMANDS

    @staticmethod
    def _go_private(
        catalog: Catalog, state: ConversationState, incoming: Incoming, lang: Language | None
    ) -> _Turn:
        """ "Message me directly" in the person's language, with the link to the bot's private
        chat where the platform has one."""
        typed = incoming.text.strip()  # a command's word says nothing of the language
        spoken = lang or (guess_language(typed) if not typed.startswith("/") else None)
        said = spoken or language_of(incoming.language_hint) or state.language or "en"
        replies, link = catalog.replies, incoming.direct_link
        text = (
            replies.private_only_link.get(said).format(link=link)
            if link
            else replies.private_only.get(said)
        )
        log.info("asked on %s outside a private chat: sent to a direct message", state.channel)
        return _Turn(state, [Reply(text, kind="notice")])

    # -- 👍/👎 and handing off -----------------------------------------------------------------

    def _rateable(self, knowledge: Knowledge, turn: _Turn, lang: Language) -> _Turn:
        """The answer with 👍/👎 under its last message, and the key that names it."""
        if self._events is None or not turn.replies:
            return turn
        key = secrets.token_urlsafe(6)
        texts = knowledge.catalog.settings.feedback
        last = turn.replies[-1]
        thumbs = (
            Button(texts.up.get(lang), f"{FEEDBACK}up:{key}"),
            Button(texts.down.get(lang), f"{FEEDBACK}down:{key}"),
        )
        rated = replace(last, buttons=(*last.buttons, *thumbs))
        return replace(turn, replies=[*turn.replies[:-1], rated], answer_key=key)

    def _feedback(self, knowledge: Knowledge, state: ConversationState, payload: str) -> _Turn:
        """A 👍 or 👎 pressed under an answer: kept with that answer's question, intent, score,
        language and catalog; a 👎 asks what the person was looking for and offers a person."""
        catalog = knowledge.catalog
        lang = state.language or "en"
        _, vote, key = payload.split(":", 2) if payload.count(":") >= 2 else ("", "", "")
        try:
            rated = self._events.answer(key) if self._events and vote in ("up", "down") else None
        except StorageUnavailable:
            rated = None
        if rated is None:
            return _Turn(state, [Reply(catalog.lead_form.texts.stale.get(lang), kind="notice")])
        event = replace(
            rated,
            kind="feedback",
            at=self._clock(),
            outcome=vote,
            text=None,
            id=None,
            channel=state.channel,
            conversation_id=state.conversation_id,
            user_id=state.user_id,
        )
        texts = catalog.settings.feedback
        if vote == "up":
            return _Turn(
                state,
                [Reply(texts.thanks.get(lang), kind="notice")],
                events=(event,),
                outcome="feedback",
            )
        # An answer to a pressed button has no question of its own: its title stands for it.
        asked = rated.text
        if not asked and rated.intent_id in catalog.intents:
            asked = catalog.intent(rated.intent_id or "").title.get(as_language(rated.language))
        miss = replace(
            self._miss(state, asked or "", "thumbs_down", rated.intent_id),
            best_score=rated.score,
            language=rated.language or lang,
        )
        offer = [Button(catalog.settings.handoff.request_button.get(lang), REQUEST)]
        if self._desk is None:
            offer = list(answers.buttons(catalog.settings.fallback_buttons[:1], lang))
        sorry = Reply(texts.sorry.get(lang), tuple(offer), kind="notice")
        waiting = replace(state, form={"kind": "feedback", "key": key})
        return _Turn(waiting, [sorry], events=(event,), misses=(miss,), outcome="feedback")

    def _hand_off(
        self,
        knowledge: Knowledge,
        state: ConversationState,
        incoming: Incoming,
        lang: Language,
        question: str | None,
    ) -> _Turn:
        """The prospect asks for a person (in words or with the button) about `question`."""
        catalog = knowledge.catalog
        if self._desk is None:
            return _Turn(state, [self._unavailable(catalog, lang)], outcome="handoff")
        try:
            requested = self._desk.request(catalog, incoming, lang, question)
        except StorageUnavailable:
            log.warning("handoff not opened: database unavailable")
            return _Turn(state, [Reply(catalog.replies.not_saved.get(lang), kind="notice")])
        misses: tuple[UnansweredQuestion, ...] = ()
        if requested.created and question:
            misses = (self._miss(state, question, "handoff", None, lang),)
        return _Turn(state, requested.replies, misses=misses, outcome="handoff")

    @staticmethod
    def _unavailable(catalog: Catalog, lang: Language) -> Reply:
        """No sales desk to hand to: say so and offer the contact form."""
        text = catalog.settings.handoff.texts.unavailable.get(lang)
        return Reply(text, (form_button(catalog, lang),), kind="notice")

    def _miss(
        self,
        state: ConversationState,
        text: str,
        reason: MissReason,
        intent_id: str | None,
        lang: str | None = None,
    ) -> UnansweredQuestion:
        return UnansweredQuestion(
            state.channel,
            state.conversation_id,
            state.user_id,
            text[:MAX_EVENT_TEXT],
            lang or state.language or "en",
            self._clock(),
            best_intent=intent_id,
            reason=reason,
        )

    def _event(self, state: ConversationState, kind: EventKind, **fields: Any) -> ConversationEvent:
        return ConversationEvent(
            state.channel,
            state.conversation_id,
            state.user_id,
            kind,
            self._clock(),
            language=state.language,
            **fields,
        )

    def _lead_form(self, knowledge: Knowledge) -> LeadForm:
        return LeadForm(knowledge.catalog.lead_form, self._retention_days)

    def _start_form(self, knowledge: Knowledge, state: ConversationState, lang: Language) -> _Turn:
        form, replies = self._lead_form(knowledge).start(lang, state.last_question)
        return _Turn(replace(state, form=form.to_dict()), replies, form_changed=True)

    def _form_turn(
        self, knowledge: Knowledge, state: ConversationState, form: FormState, incoming: Incoming
    ) -> _Turn:
        lang = state.language or guess_language(incoming.text) or "en"
        lead_form = self._lead_form(knowledge)
        kind, _, value = (incoming.payload or "").partition(":")
        if kind in ("intent", "lang"):
            # A button of an earlier answer: do what it says, then ask the pending question.
            pressed = self._press(knowledge, state, incoming.payload or "")
            lang = pressed.state.language or lang
            resume = Reply(knowledge.catalog.lead_form.texts.resume.get(lang), kind="form")
            lead = (
                value in knowledge.catalog.intents
                and "lead" in knowledge.catalog.intent(value).tags
            )
            if kind == "intent" and lead:  # (a retired intent's button was answered above)
                return _Turn(state, lead_form.prompt(form, lang), private=True)
            replies = [*pressed.replies, resume, *lead_form.prompt(form, lang)]
            return replace(pressed, replies=replies, private=form.step == "summary")
        # The form decides whether the text is a question or an answer to its pending step;
        # the catalog's answer is at hand in case it is a question.
        question: Answer | None = None
        known = False
        if incoming.payload is None and incoming.text.strip():
            question = answers.answer(
                knowledge, incoming.text, state.language, state.language, today=self._today()
            )
            intent_id = question.match.intent_id if question.match else None
            known = intent_id is not None and "lead" not in knowledge.catalog.intent(intent_id).tags
        step = lead_form.step(
            form,
            lang,
            text=incoming.text,
            payload=incoming.payload,
            now=self._clock().isoformat(),
            answerable=known,
        )
        return self._after_form_step(
            knowledge, state, form, step, question=question, incoming=incoming, lang=lang
        )

    def _after_form_step(
        self,
        knowledge: Knowledge,
        state: ConversationState,
        form: FormState,
        step: FormStep,
        *,
        question: Answer | None,
        incoming: Incoming,
        lang: Language,
    ) -> _Turn:
        if step.outcome == "question" and question is not None:
            resume = Reply(knowledge.catalog.lead_form.texts.resume.get(lang), kind="form")
            replies = [question.reply, resume, *step.replies]
            return _Turn(state, replies, question, private=form.step == "summary")
        if step.outcome in ("declined", "cancelled"):
            return _Turn(replace(state, form=None), step.replies, form_changed=True)
        if step.outcome == "submit":
            submission = self._submission(knowledge, state, form, incoming, lang)
            return _Turn(state, [], submit=submission, private=True)
        moved = replace(state, form=step.state.to_dict() if step.state else None)
        return _Turn(moved, step.replies, private=True, form_changed=True)

    def _submission(
        self,
        knowledge: Knowledge,
        state: ConversationState,
        form: FormState,
        incoming: Incoming,
        lang: Language,
    ) -> LeadSubmission:
        now = self._clock()
        consented = datetime.fromisoformat(form.consented_at) if form.consented_at else now
        spec = knowledge.catalog.lead_form
        return LeadSubmission(
            submission_id=form.submission,
            channel=state.channel,
            user_id=state.user_id,
            conversation_id=state.conversation_id,
            language=lang,
            notice_version=spec.notice_version,
            consented_at=consented,
            submitted_at=now,
            answers=dict(form.answers),
            score=spec.score(form.answers),
            question=form.question,
            source=state.source,
            event_id=incoming.event_id,
        )

    def _press(self, knowledge: Knowledge, state: ConversationState, payload: str) -> _Turn:
        catalog = knowledge.catalog
        lang = state.language or "en"
        kind, _, value = payload.partition(":")
        if kind == "lang" and value in ("en", "zh"):
            chosen: Language = "zh" if value == "zh" else "en"
            reply = Reply(catalog.replies.language_chosen.get(chosen), kind="notice")
            return _Turn(state.speaking(chosen, chosen=True), [reply])
        if payload == "form:lead":
            return self._start_form(knowledge, state, lang)
        if kind == "form":  # a button of a form that has ended
            return _Turn(state, [Reply(catalog.lead_form.texts.stale.get(lang), kind="notice")])
        if kind == "intent" and value in catalog.intents:
            reply = answers.intent_reply(catalog, value, lang, self._today())
            if "lead" in catalog.intent(value).tags:
                started = self._start_form(knowledge, state, lang)
                return replace(started, replies=[reply, *started.replies])
            return self._rateable(knowledge, _Turn(state, [reply], intent_id=value), lang)
        if payload == "handoff:end":  # the button of a handoff that has ended
            return _Turn(state, [Reply(catalog.lead_form.texts.stale.get(lang), kind="notice")])
        # The payload came from the person's client (the web chat takes any): not logged.
        log.info("a pressed button is not in this catalog")
        return _Turn(state, [answers.fallback(catalog, lang)])

    def _command(
        self, knowledge: Knowledge, state: ConversationState, form: FormState | None, text: str
    ) -> _Turn:
        catalog = knowledge.catalog
        lang = state.language or "en"
        word, _, argument = text[1:].partition(" ")
        name = word.split("@", 1)[0].lower()
        argument = argument.strip()
        if name == "start" and argument and state.source is None:
            state = replace(state, source=argument[:128])
        if name in ("start", "help"):
            intent_id = "welcome" if name == "start" else "help"
            return _Turn(state, [answers.intent_reply(catalog, intent_id, lang, self._today())])
        if name == "lang":
            if argument.lower() in ("en", "zh"):
                return self._press(knowledge, state, f"lang:{argument.lower()}")
            buttons = answers.buttons(catalog.settings.language_buttons, lang)
            return _Turn(state, [Reply(catalog.replies.choose_language.get(lang), buttons)])
        if name == "contact":
            if form is not None:
                return _Turn(state, self._lead_form(knowledge).prompt(form, lang), private=True)
            return self._start_form(knowledge, state, lang)
        if name == "cancel":
            texts = catalog.lead_form.texts
            if form is None and not state.form:
                return _Turn(state, [Reply(texts.nothing_to_cancel.get(lang), kind="notice")])
            reply = Reply(texts.cancelled.get(lang), kind="notice")
            return _Turn(replace(state, form=None), [reply], form_changed=True)
        if name == "mydata":
            return _Turn(state, [], export=True, private=True)
        if name == "forget":
            privacy = catalog.settings.privacy_buttons
            choices = (
                Button(privacy.erase.get(lang), "privacy:erase"),
                Button(privacy.keep.get(lang), "privacy:keep"),
            )
            confirm = Reply(catalog.replies.forget_confirm.get(lang), choices, kind="notice")
            return _Turn(replace(state, form={"kind": "forget"}), [confirm])
        return _Turn(state, [Reply(catalog.replies.unknown_command.get(lang), kind="notice")])

    def _privacy_choice(
        self, knowledge: Knowledge, state: ConversationState, payload: str
    ) -> _Turn:
        lang = state.language or "en"
        pending = bool(state.form) and dict(state.form or {}).get("kind") == "forget"
        if payload == "privacy:erase" and pending:
            return _Turn(state, [], erase=True)
        if payload == "privacy:keep" and pending:
            kept = Reply(knowledge.catalog.replies.forget_kept.get(lang), kind="notice")
            return _Turn(replace(state, form=None), [kept])
        stale = knowledge.catalog.lead_form.texts.stale.get(lang)
        return _Turn(state, [Reply(stale, kind="notice")])

    # -- carrying out ---------------------------------------------------------------------

    def _carry_out(
        self, knowledge: Knowledge, before: ConversationState, turn: _Turn, incoming: Incoming
    ) -> _Turn:
        """Store a lead, or export or erase someone's data, before the state is saved."""
        catalog = knowledge.catalog
        lang = before.language or "en"
        try:
            if turn.submit is not None:
                done = self._leads.submit(turn.submit)
                texts = catalog.lead_form.texts
                update = not done.created and not done.repeated
                message = texts.updated if update else texts.confirmed
                name = done.lead.name or ""
                # With a sales desk: the consultant can also be had now, in this chat.
                now = (
                    (Button(catalog.settings.handoff.request_button.get(lang), REQUEST),)
                    if self._desk is not None
                    else ()
                )
                reply = Reply(message.get(lang).format(name=name), now, kind="form")
                log.info("lead %s %s", done.lead.id, "created" if done.created else "updated")
                events = turn.events
                if not done.repeated:
                    outcome = "created" if done.created else "updated"
                    events = (*events, self._event(before, "lead", outcome=outcome))
                return replace(
                    turn, state=replace(before, form=None), replies=[reply], events=events
                )
            if turn.export:
                return replace(turn, replies=[self._mydata(knowledge, incoming, lang)])
            if turn.erase:
                if self._desk is not None:  # our posts in Slack go too: threads, lead cards
                    cards = self._leads.cards_of(incoming.channel, incoming.user_id)
                    self._desk.erase(incoming.channel, incoming.user_id, cards)
                counts = self._privacy.erase(incoming.channel, incoming.user_id, self._clock())
                summary = ", ".join(f"{table} {n}" for table, n in counts.items() if n) or "-"
                text = catalog.replies.forget_done.get(lang).format(summary=summary)
                log.info("personal data erased on request (%s)", summary)
                return replace(turn, replies=[Reply(text, kind="notice")], erased=True)
        except StorageUnavailable:
            log.warning("could not carry out the request: database unavailable")
            return self._unsaved(knowledge, before, turn)
        return turn

    def _mydata(self, knowledge: Knowledge, incoming: Incoming, lang: Language) -> Reply:
        stored = self._privacy.export(incoming.channel, incoming.user_id)
        replies = knowledge.catalog.replies
        if not any(stored.values()):
            return Reply(replies.mydata_nothing.get(lang), kind="notice")
        listing = json.dumps({k: v for k, v in stored.items() if v}, ensure_ascii=False, indent=1)
        return Reply(f"{replies.mydata_intro.get(lang)}\n{listing}", kind="notice")

    # -- records ----------------------------------------------------------------------------

    def _first_delivery(self, channel: str, event_id: str) -> bool:
        try:
            return self._deliveries.first_delivery(channel, event_id)
        except StorageUnavailable:
            log.warning("delivery not recorded: database unavailable; answering without de-dup")
            return True

    def _record(self, knowledge: Knowledge, incoming: Incoming, turn: _Turn) -> None:
        now = self._clock()
        match = turn.answer.match if turn.answer else None
        said = incoming.text if incoming.payload is None else f"[{incoming.payload}]"
        if turn.private:
            # Form answers and personal-data listings live in the lead and are shown on
            # request; the transcript keeps only that they happened.
            said = f"[{incoming.payload}]" if incoming.payload else "[form answer]"
        who = (incoming.channel, incoming.conversation_id, incoming.user_id)
        entries = [
            TranscriptEntry(
                *who,
                "in",
                said,
                now,
                intent_id=match.intent_id if match else None,
                score=match.score if match else None,
            ),
            *(
                TranscriptEntry(*who, "out", "[form]" if turn.private else reply.text, now)
                for reply in turn.replies
            ),
        ]
        misses = list(turn.misses)
        if turn.answer and turn.answer.reply.kind == "fallback" and match is not None:
            best = match.candidates[0] if match.candidates else None
            misses.insert(
                0,
                UnansweredQuestion(
                    *who,
                    incoming.text[:MAX_EVENT_TEXT],
                    turn.answer.language,
                    now,
                    best_intent=best.intent_id if best else None,
                    best_score=best.score if best else None,
                ),
            )
        asked = incoming.payload is None and not turn.private and incoming.text.strip()
        turn_event = ConversationEvent(
            *who,
            "turn",
            now,
            outcome=_outcome(incoming, turn),
            language=turn.answer.language if turn.answer else turn.state.language,
            intent_id=match.intent_id if match else turn.intent_id,
            score=match.score if match else None,
            catalog=knowledge.catalog.fingerprint[:16],
            answer_key=turn.answer_key,
            text=incoming.text.strip()[:MAX_EVENT_TEXT] if asked else None,
        )
        try:
            self._transcripts.append(entries)
            for miss in misses:
                self._questions.record(miss)
            if self._events is not None:
                self._events.add([turn_event, *turn.events])
        except StorageUnavailable:
            log.warning("transcript not recorded: database unavailable")
