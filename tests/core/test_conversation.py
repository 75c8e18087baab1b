"""Conversations with the engine, read as chats."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

from bot.core.messages import Incoming
from bot.core.state import ConversationState
from intents.knowledge import KnowledgeBase
from storage.db import Database
from storage.memory import MemoryConversationStore
from tests.chat import Chat, copy_catalog, memory_stores, sql_stores


def test_greeting_is_answered_with_what_the_bot_can_do(chat: Chat) -> None:
    assert "Lingang" in chat.say("hello")
    assert "Talk to a consultant" in [b.title for b in chat.buttons]


def test_faq_question_gets_its_answer(chat: Chat) -> None:
    assert "119.5 km²" in chat.say("how big is Lingang?")


def test_question_with_a_typo_still_matches(chat: Chat) -> None:
    assert "119.5 km²" in chat.say("how bigg is lingnag")


def test_chinese_question_is_answered_in_chinese(chat: Chat) -> None:
    assert "浦东新区" in chat.say("临港在哪里？")


def test_full_width_and_upper_case_questions_match_the_same_intent(chat: Chat) -> None:
    assert "119.5" in chat.say("ＨＯＷ ＢＩＧ ＩＳ ＬＩＮＧＡＮＧ？")


def test_unknown_question_gets_an_honest_fallback_with_a_consultant(chat: Chat) -> None:
    reply = chat.say("what is the best pizza in Naples?")
    assert chat.kinds == ["fallback"]
    assert "don't know" in reply
    assert "Talk to a consultant" in [b.title for b in chat.buttons]


def test_fallback_button_reaches_a_consultant(chat: Chat) -> None:
    chat.say("what is the best pizza in Naples?")
    assert "elitestage.com" in chat.press("Talk to a consultant")


def test_unanswered_question_is_kept_for_admins(chat: Chat) -> None:
    chat.say("what is the best pizza in Naples?")
    [question] = chat.stores.questions.recent()
    assert question.text == "what is the best pizza in Naples?"
    assert question.language == "en"


def test_answered_question_is_not_logged_as_unanswered(chat: Chat) -> None:
    chat.say("how big is Lingang?")
    assert chat.stores.questions.recent() == []


def test_follow_up_button_answers_its_intent(chat: Chat) -> None:
    chat.say("where is Lingang?")
    assert "119.5 km²" in chat.press("How big is it?")


def test_start_and_help_commands(chat: Chat) -> None:
    assert "Lingang" in chat.say("/start")
    assert "/lang" in chat.say("/help")
    assert "/lang" in chat.say("/help@LingangBot")


def test_unknown_command_points_to_help(chat: Chat) -> None:
    assert "/help" in chat.say("/frobnicate")


def test_lang_command_offers_both_languages(chat: Chat) -> None:
    chat.say("/lang")
    assert [b.title for b in chat.buttons] == ["English", "中文"]


def test_chosen_language_holds_for_questions_in_the_other_language(chat: Chat) -> None:
    chat.say("/lang")
    assert "中文" in chat.press("中文")
    assert "119.5 平方公里" in chat.say("how big is Lingang?")
    chat.say("/lang en")
    assert "119.5 km²" in chat.say("临港面积多大")


def test_reply_follows_the_question_language_until_one_is_chosen(chat: Chat) -> None:
    assert "浦东新区" in chat.say("临港在哪里")
    assert "Pudong" in chat.say("where is Lingang?")


def test_button_press_is_answered_in_the_conversation_language(chat: Chat) -> None:
    chat.say("临港在哪里")
    assert "先行启动区" in chat.press("面积多大？")


def test_platform_language_hint_sets_a_new_conversations_language(
    knowledge: KnowledgeBase,
) -> None:
    chat = Chat.over(knowledge, memory_stores(), language_hint="zh-hans")
    assert "您好" in chat.say("/start")


TWINS = """\
intents:
  - id: car_parking
    title: {en: Car parking, zh: 停车}
    examples:
      en: [where can I park, is there a place to park]
      zh: [哪里停车]
    answer: {en: Cars park in lot A., zh: 汽车停在 A 区。}
  - id: bike_parking
    title: {en: Bike parking, zh: 自行车停放}
    examples:
      en: [where can I park, is there a place to park]
      zh: [哪里停车]
    answer: {en: Bikes go to rack B., zh: 自行车停在 B 区。}
"""


def test_close_intents_get_did_you_mean_buttons(tmp_path: Path) -> None:
    catalog = copy_catalog(tmp_path, {"twins.yaml": TWINS})
    chat = Chat.over(KnowledgeBase(catalog), memory_stores())
    chat.say("where can I park?")
    assert chat.kinds == ["clarify"]
    assert {b.title for b in chat.buttons} == {"Car parking", "Bike parking"}
    assert "rack B" in chat.press("Bike parking")


def test_stale_button_from_an_older_catalog_gets_the_fallback(chat: Chat) -> None:
    chat.send(payload="intent:retired_intent")
    assert chat.kinds == ["fallback"]


def test_transcript_records_both_sides_with_the_match(chat: Chat) -> None:
    chat.say("how big is Lingang?")
    said, answered = chat.stores.transcripts.conversation("test", chat.user)
    assert (said.direction, said.text, said.intent_id) == (
        "in",
        "how big is Lingang?",
        "lingang_area",
    )
    assert answered.direction == "out"
    assert "119.5" in answered.text


def test_redelivered_event_is_answered_once(chat: Chat) -> None:
    event = Chat.next_event_id()
    assert chat.send("hello", event_id=event)
    assert chat.send("hello", event_id=event) == ""
    assert len(chat.stores.transcripts.conversation("test", chat.user)) == 2


def test_state_survives_a_restart_with_the_same_database(
    knowledge: KnowledgeBase, database: Database
) -> None:
    before = Chat.over(knowledge, sql_stores(database))
    before.say("/lang zh")
    after = Chat.over(knowledge, sql_stores(database))
    assert "119.5 平方公里" in after.say("how big is Lingang?")


def test_faq_is_answered_while_the_database_is_down(knowledge: KnowledgeBase) -> None:
    down = Database("postgresql+psycopg://postgres@127.0.0.1:1/unreachable")
    try:
        chat = Chat.over(knowledge, sql_stores(down))
        assert "Pudong" in chat.say("where is Lingang?")
        assert "119.5 km²" in chat.press("How big is it?")
        # It may be the next answer of a form the bot cannot see: say so, not "I don't know".
        assert "couldn't do that just now" in chat.say("what is the best pizza in Naples?")
    finally:
        down.dispose()


class _RacingStore(MemoryConversationStore):
    """A store where another message of the conversation saves just before our first save."""

    def __init__(self, seed: ConversationState) -> None:
        super().__init__()
        super().save(seed)
        self.raced = False

    def save(self, state: ConversationState) -> ConversationState:
        if not self.raced:
            self.raced = True
            current = self.load(state.channel, state.conversation_id)
            assert current is not None
            super().save(current.speaking("zh", chosen=True))
        return super().save(state)


def test_turn_is_redone_on_fresh_state_when_another_message_saved_first(
    knowledge: KnowledgeBase,
) -> None:
    base = memory_stores()
    racing = _RacingStore(ConversationState("test", "user-1", "user-1"))
    stores = replace(base, conversations=racing)
    chat = Chat.over(knowledge, stores)
    assert "119.5 平方公里" in chat.say("how big is Lingang?")
    final = racing.load("test", "user-1")
    assert final is not None
    assert (final.language, final.language_chosen, final.version) == ("zh", True, 3)


def test_simultaneous_messages_of_one_conversation_all_get_answers(
    knowledge: KnowledgeBase, database: Database
) -> None:
    engine = sql_stores(database).engine(knowledge)
    answers: list[str] = []
    lock = threading.Lock()

    def send(text: str) -> None:
        replies = engine.handle(Incoming("test", "c1", "u1", text=text))
        with lock:
            answers.extend(r.text for r in replies)

    texts = ["/lang zh", "/lang en"] * 4
    threads = [threading.Thread(target=send, args=(t,)) for t in texts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == len(texts)
    state = sql_stores(database).conversations.load("test", "c1")
    assert state is not None
    assert state.language_chosen
