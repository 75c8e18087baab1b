"""The conversation engine: one inbound message in, the replies out.

Each turn loads the conversation's state, decides, saves the state (redoing the turn if
another message of the same conversation saved first), then records the transcript and any
unanswered question. The database is a help, not a condition: when it is down the engine
still answers from the catalog and logs what it could not keep.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from bot.core import answers
from bot.core.answers import Answer
from bot.core.messages import Incoming, Language, Reply
from bot.core.ports import (
    ConversationStore,
    DeliveryLog,
    QuestionLog,
    StaleState,
    StorageUnavailable,
    TranscriptLog,
)
from bot.core.records import TranscriptEntry, UnansweredQuestion
from bot.core.state import ConversationState
from intents.knowledge import Knowledge, KnowledgeBase

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
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
    state: ConversationState
    replies: list[Reply]
    answer: Answer | None = None

    @property
    def refused(self) -> bool:
        """A message refused as bad input changes nothing and is not kept."""
        return self.answer is not None and self.answer.reply.kind == "error"


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
        clock: Clock = utc_now,
    ) -> None:
        self._knowledge = knowledge
        self._conversations = conversations
        self._deliveries = deliveries
        self._transcripts = transcripts
        self._questions = questions
        self._clock = clock

    def handle(self, incoming: Incoming) -> list[Reply]:
        """Decide the replies to `incoming`; a redelivered event gets none."""
        if incoming.event_id and not self._first_delivery(incoming.channel, incoming.event_id):
            log.info("duplicate delivery %s on %s dropped", incoming.event_id, incoming.channel)
            return []
        turn = self._turn(self._knowledge.current, incoming)
        if not turn.refused:
            self._record(incoming, turn)
        return turn.replies

    # -- one turn -------------------------------------------------------------------------

    def _turn(self, knowledge: Knowledge, incoming: Incoming) -> _Turn:
        for _ in range(MAX_ATTEMPTS):
            state, stored = self._load(incoming)
            turn = self._decide(knowledge, state, incoming)
            unchanged = turn.state.version > 0 and turn.state.content_equals(state)
            if not stored or unchanged or turn.refused:
                return turn
            try:
                return replace(turn, state=self._conversations.save(turn.state))
            except StaleState:
                log.info("conversation on %s changed meanwhile; redoing the turn", incoming.channel)
            except StorageUnavailable:
                log.warning("conversation state not saved: database unavailable")
                return turn
        log.warning("conversation kept changing for %d attempts; answering anyway", MAX_ATTEMPTS)
        return turn

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

    def _decide(self, knowledge: Knowledge, state: ConversationState, incoming: Incoming) -> _Turn:
        if incoming.payload is not None:
            return self._press(knowledge, state, incoming.payload)
        if incoming.text.lstrip().startswith("/"):
            return self._command(knowledge, state, incoming.text.strip())
        chosen = state.language if state.language_chosen else None
        answer = answers.answer(knowledge, incoming.text, chosen, state.language)
        if not chosen and answer.match is not None:
            state = state.speaking(answer.language)
        return _Turn(state, [answer.reply], answer)

    def _press(self, knowledge: Knowledge, state: ConversationState, payload: str) -> _Turn:
        catalog = knowledge.catalog
        lang = state.language or "en"
        kind, _, value = payload.partition(":")
        if kind == "lang" and value in ("en", "zh"):
            chosen: Language = "zh" if value == "zh" else "en"
            reply = Reply(catalog.replies.language_chosen.get(chosen), kind="notice")
            return _Turn(state.speaking(chosen, chosen=True), [reply])
        if kind == "intent" and value in catalog.intents:
            return _Turn(state, [answers.intent_reply(catalog, value, lang)])
        log.info("button payload %r is not in this catalog", payload)
        return _Turn(state, [answers.fallback(catalog, lang)])

    def _command(self, knowledge: Knowledge, state: ConversationState, text: str) -> _Turn:
        catalog = knowledge.catalog
        lang = state.language or "en"
        word, _, argument = text[1:].partition(" ")
        name = word.split("@", 1)[0].lower()
        if name in ("start", "help"):
            intent_id = "welcome" if name == "start" else "help"
            return _Turn(state, [answers.intent_reply(catalog, intent_id, lang)])
        if name == "lang":
            choice = argument.strip().lower()
            if choice in ("en", "zh"):
                return self._press(knowledge, state, f"lang:{choice}")
            buttons = answers.buttons(catalog.settings.language_buttons, lang)
            return _Turn(state, [Reply(catalog.replies.choose_language.get(lang), buttons)])
        return _Turn(state, [Reply(catalog.replies.unknown_command.get(lang), kind="notice")])

    # -- records ----------------------------------------------------------------------------

    def _first_delivery(self, channel: str, event_id: str) -> bool:
        try:
            return self._deliveries.first_delivery(channel, event_id)
        except StorageUnavailable:
            log.warning("delivery not recorded: database unavailable; answering without de-dup")
            return True

    def _record(self, incoming: Incoming, turn: _Turn) -> None:
        now = self._clock()
        match = turn.answer.match if turn.answer else None
        said = incoming.text if incoming.payload is None else f"[{incoming.payload}]"
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
            *(TranscriptEntry(*who, "out", reply.text, now) for reply in turn.replies),
        ]
        try:
            self._transcripts.append(entries)
            if turn.answer and turn.answer.reply.kind == "fallback" and match is not None:
                best = match.candidates[0] if match.candidates else None
                self._questions.record(
                    UnansweredQuestion(
                        *who,
                        incoming.text,
                        turn.answer.language,
                        now,
                        best_intent=best.intent_id if best else None,
                        best_score=best.score if best else None,
                    )
                )
        except StorageUnavailable:
            log.warning("transcript not recorded: database unavailable")
