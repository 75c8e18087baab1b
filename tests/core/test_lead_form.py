"""The lead form, as prospects go through it, in both languages."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from bot.core.messages import Incoming
from bot.core.records import Lead, LeadFilter
from bot.notifications import Relay
from intents.knowledge import KnowledgeBase
from storage.db import Database
from storage.models import Base
from tests.chat import Chat, Stores, memory_stores, sql_stores

EN = {
    "name": "Ann Lee",
    "company": "Acme GmbH",
    "email": "Ann.Lee@Acme.de",
    "country": "Germany",
    "phone": "+49 30 12345678",
    "interest": "IC industry",
    "timeline": "Within 3 months",
    "note": "We want a fab supplier office.",
}


def consent(chat: Chat, opener: str = "I'd like to talk to a consultant") -> None:
    """Ask for a consultant and agree to the notice."""
    reply = chat.say(opener)
    assert "/forget" in reply, "the privacy notice comes first"
    assert [b.title for b in chat.buttons][-2:] in (["I agree", "No, thanks"], ["同意", "不同意"])
    chat.press(chat.buttons[-2].title)


def answer(chat: Chat, value: str) -> str:
    """Answer the pending question: press the button with this title, or type it."""
    for button in chat.buttons:
        if button.title == value:
            return chat.press(value)
    return chat.say(value)


def fill(chat: Chat, answers: dict[str, str]) -> str:
    """Answer every question in order; the reply at the summary."""
    reply = ""
    for value in answers.values():
        reply = answer(chat, value)
    return reply


@pytest.fixture
def stored_chat(knowledge: KnowledgeBase, stores: Stores) -> Chat:
    """A conversation over each store in turn: memory, SQLite, PostgreSQL."""
    return Chat.over(knowledge, stores)


def test_english_happy_path_stores_a_complete_consented_lead(stored_chat: Chat) -> None:
    chat = stored_chat
    chat.say("how much do you charge for a company set-up?")
    consent(chat, "I want to talk to a person")
    summary = fill(chat, EN)
    assert "Please check your details" in summary
    assert "Email: Ann.Lee@acme.de" in summary
    assert "Phone: +493012345678" in summary
    assert "Thank you, Ann Lee!" in chat.press("Confirm")
    [lead] = chat.stores.leads.find(LeadFilter())
    assert lead.answers == {
        "name": "Ann Lee",
        "company": "Acme GmbH",
        "email": "Ann.Lee@acme.de",
        "country": "Germany",
        "phone": "+493012345678",
        "interest": "ic_industry",
        "timeline": "within_3_months",
        "note": "We want a fab supplier office.",
    }
    assert (lead.channel, lead.user_id) == ("test", "user-1")
    assert (lead.language, lead.status) == ("en", "new")
    assert lead.question == "how much do you charge for a company set-up?"
    assert lead.score == 30 + 40 + 15 + 15
    record = chat.stores.leads.consent(lead.consent_id)
    assert record is not None
    assert (record.granted, record.notice_version, record.channel) == (True, "2026-11-26", "test")
    assert [item.kind for item in chat.stores.outbox.claim(datetime.now(UTC))] == ["lead_created"]
    assert chat.stores.conversations.load("test", "user-1").form is None  # type: ignore[union-attr]


def test_chinese_prospect_gets_the_form_in_chinese(stored_chat: Chat) -> None:
    chat = stored_chat
    consent(chat, "我想联系顾问")
    assert "请问您怎么称呼" in chat.replies[0].text
    summary = fill(
        chat,
        {
            "name": "王小明",
            "company": "示例科技有限公司",
            "email": "wang@example.cn",
            "country": "中国",
            "phone": "跳过",
            "interest": "公司设立",
            "timeline": "先了解一下",
            "note": "跳过",
        },
    )
    assert "请核对您的信息" in summary
    assert "电话: （已跳过）" in summary
    assert "谢谢您，王小明" in chat.press("确认提交")
    [lead] = chat.stores.leads.find(LeadFilter())
    assert (lead.language, lead.answers["interest"], lead.answers.get("phone")) == (
        "zh",
        "company_setup",
        None,
    )
    assert lead.score == 30 + 5


def test_declining_consent_stores_nothing_and_the_faq_still_works(stored_chat: Chat) -> None:
    chat = stored_chat
    chat.say("can someone call me?")
    reply = chat.press("No, thanks")
    assert "nothing personal has been stored" in reply
    assert chat.stores.leads.find(LeadFilter()) == []
    assert chat.stores.privacy.export("test", "user-1")["consent_records"] == []
    assert "119.5" in chat.say("how big is Lingang?")


def test_typed_text_is_never_taken_for_consent(chat: Chat) -> None:
    chat.say("I want to talk to a person")
    chat.say("Ann Lee")
    assert "Do you agree?" in chat.replies[-1].text
    assert chat.stores.leads.find(LeadFilter()) == []


@pytest.mark.parametrize(
    ("step", "bad", "reason"),
    [
        ("name", "A", "at least 2 characters"),
        ("email", "ann@acme", "doesn't look like an email address"),
        ("email", "ann.acme.de", "must have an @-sign"),
        ("phone", "12345", "include the country code"),
        ("interest", "rockets", "pick one of the buttons"),
        ("note", "x" * 1001, "under 1000 characters"),
    ],
)
def test_each_invalid_answer_gets_its_reason_and_the_same_question(
    chat: Chat, step: str, bad: str, reason: str
) -> None:
    consent(chat)
    fields = list(EN)
    fill(chat, {k: EN[k] for k in fields[: fields.index(step)]})
    asked = chat.replies[-1].field
    reply = chat.say(bad)
    assert reason in reply
    assert chat.replies[-1].field == asked == step


def test_three_failures_offer_to_skip_or_leave_a_message(chat: Chat) -> None:
    consent(chat)
    fill(chat, {"name": "Ann Lee", "company": "Acme"})
    for bad in ("ann at acme", "ann.acme.de", "ann@"):
        reply = chat.say(bad)
    assert "leave a message for a consultant" in reply
    assert "Leave a message instead" in [b.title for b in chat.buttons]
    assert "Anything else the consultant should know" in chat.press("Leave a message instead")
    summary = chat.say("Please call me instead, my email is broken")
    assert "Email: (skipped)" in summary
    chat.press("Confirm")
    [lead] = chat.stores.leads.find(LeadFilter())
    assert lead.email is None
    assert lead.answers["note"] == "Please call me instead, my email is broken"


@pytest.mark.parametrize("word", ["cancel", "取消"])
def test_cancel_at_any_step_stores_nothing_new(stored_chat: Chat, word: str) -> None:
    chat = stored_chat
    consent(chat)
    fill(chat, {"name": "Ann Lee", "company": "Acme GmbH", "email": "ann@acme.de"})
    assert "Cancelled" in chat.say(word) or "已取消" in chat.replies[0].text
    state = chat.stores.conversations.load("test", "user-1")
    assert state is not None
    assert state.form is None
    exported = chat.stores.privacy.export("test", "user-1")
    assert exported["leads"] == []
    assert exported["consent_records"] == []
    assert "ann@acme.de" not in str(exported)


def test_back_changes_the_previous_answer(chat: Chat) -> None:
    consent(chat)
    fill(chat, {"name": "Ann Lea", "company": "Acme GmbH"})
    assert "Which company" in chat.say("back")
    assert "What is your name?" in chat.say("返回")
    assert "nothing to go back to" in chat.say("back")
    fill(chat, {"name": "Ann Lee", "company": "Acme GmbH"})
    summary = fill(chat, {k: EN[k] for k in list(EN)[2:]})
    assert "Name: Ann Lee" in summary


def test_edit_from_the_summary_changes_one_answer(chat: Chat) -> None:
    consent(chat)
    fill(chat, EN)
    chat.press("Edit")
    chat.press("Company")
    summary = chat.say("Acme Semiconductors")
    assert "Company: Acme Semiconductors" in summary
    chat.press("Confirm")
    [lead] = chat.stores.leads.find(LeadFilter())
    assert lead.answers["company"] == "Acme Semiconductors"


def test_a_question_mid_form_gets_its_answer_then_the_pending_question(chat: Chat) -> None:
    consent(chat)
    fill(chat, {"name": "Ann Lee", "company": "Acme GmbH"})
    reply = chat.say("where is Lingang?")
    assert "Pudong" in reply
    assert "Back to your details" in reply
    assert chat.replies[-1].field == "email"
    chat.say("ann@acme.de")
    assert chat.replies[-1].field == "country"


def test_a_question_mark_in_a_name_field_is_a_question_not_a_name(chat: Chat) -> None:
    consent(chat)
    chat.say("what does Elite Stage charge?")
    assert chat.replies[-1].field == "name"


def test_a_shared_contact_answers_the_phone_question(chat: Chat) -> None:
    consent(chat)
    fill(chat, {k: EN[k] for k in ("name", "company", "email", "country")})
    assert chat.replies[-1].field == "phone"
    chat.send(payload="contact:+8613800138000")
    assert chat.replies[-1].field == "interest"


def test_deep_link_source_is_kept_on_the_lead(chat: Chat) -> None:
    chat.say("/start expo2026")
    consent(chat, "/contact")
    fill(chat, EN)
    chat.press("Confirm")
    [lead] = chat.stores.leads.find(LeadFilter())
    assert lead.source == "expo2026"


def test_the_same_prospect_twice_updates_the_open_lead(stored_chat: Chat) -> None:
    chat = stored_chat
    for company in ("Acme GmbH", "Acme Semiconductors"):
        consent(chat, "/contact")
        fill(chat, {**EN, "company": company})
        last = chat.press("Confirm")
    assert "already had your earlier request" in last
    [lead] = chat.stores.leads.find(LeadFilter())
    assert lead.answers["company"] == "Acme Semiconductors"
    assert [e.kind for e in chat.stores.leads.history(lead.id)] == ["created", "updated"]


def test_form_answers_stay_out_of_the_transcript(chat: Chat) -> None:
    consent(chat)
    fill(chat, EN)
    chat.press("Confirm")
    said = " ".join(e.text for e in chat.stores.transcripts.conversation("test", "user-1"))
    assert "I'd like to talk to a consultant" in said
    for value in ("Ann Lee", "acme.de", "12345678", "fab supplier"):
        assert value not in said


def test_mydata_shows_everything_stored(chat: Chat) -> None:
    consent(chat)
    fill(chat, EN)
    chat.press("Confirm")
    reply = chat.say("/mydata")
    for value in ("Ann Lee", "Ann.Lee@acme.de", "+493012345678", "Acme GmbH", "2026-11-26"):
        assert value in reply


def test_mydata_with_nothing_stored(knowledge: KnowledgeBase) -> None:
    chat = Chat.over(knowledge, memory_stores(), user="stranger")
    assert "Nothing is stored about you" in chat.say("/mydata")


def test_forget_asks_first_and_can_be_called_off(chat: Chat) -> None:
    consent(chat)
    fill(chat, EN)
    chat.press("Confirm")
    assert "cannot be undone" in chat.say("/forget")
    assert "nothing was erased" in chat.press("No, keep it")
    assert len(chat.stores.leads.find(LeadFilter())) == 1


def test_forget_leaves_nothing_in_any_table(knowledge: KnowledgeBase, database: Database) -> None:
    chat = Chat.over(knowledge, sql_stores(database))
    chat.say("where is Lingang?")
    chat.say("what is the best pizza in Naples?")
    consent(chat)
    fill(chat, EN)
    chat.press("Confirm")
    chat.say("/forget")
    assert "erased" in chat.press("Yes, erase everything")
    personal = ("Ann Lee", "Acme", "acme.de", "12345678", "Naples", "where is Lingang", "user-1")
    with database.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            for row in connection.execute(table.select()):
                dumped = str(tuple(row))
                assert not [v for v in personal if v in dumped], (table.name, dumped)
        erasures = connection.execute(text("SELECT counts FROM erasures")).scalars().all()
    assert len(erasures) == 1


def test_state_survives_a_restart_mid_form(knowledge: KnowledgeBase, database: Database) -> None:
    first = Chat.over(knowledge, sql_stores(database))
    consent(first)
    fill(first, {"name": "Ann Lee", "company": "Acme GmbH"})
    second = Chat.over(knowledge, sql_stores(database))  # a new process, same database
    second.replies = first.replies
    fill(second, {k: EN[k] for k in list(EN)[2:]})
    second.press("Confirm")
    [lead] = second.stores.leads.find(LeadFilter())
    assert (lead.answers["name"], lead.answers["timeline"]) == ("Ann Lee", "within_3_months")


def test_simultaneous_confirms_store_one_lead(knowledge: KnowledgeBase, database: Database) -> None:
    chat = Chat.over(knowledge, sql_stores(database))
    consent(chat)
    fill(chat, EN)
    engines = [sql_stores(database).engine(knowledge) for _ in range(4)]

    def confirm(engine_index: int) -> None:
        engines[engine_index].handle(
            Incoming("test", "user-1", "user-1", payload="form:confirm", private=True)
        )

    threads = [threading.Thread(target=confirm, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(chat.stores.leads.find(LeadFilter())) == 1
    assert len(chat.stores.outbox.claim(datetime.now(UTC) + timedelta(minutes=1))) == 1


class FlakyNotifier:
    """A sales channel that is down for its first `failures` calls."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.told: list[int] = []

    def notify(self, lead: Lead, kind: str) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("sales channel down")
        self.told.append(lead.id)


def test_the_outbox_delivers_once_the_sales_channel_is_back(stored_chat: Chat) -> None:
    chat = stored_chat
    consent(chat)
    fill(chat, EN)
    chat.press("Confirm")
    now = datetime.now(UTC)
    clock = [now]
    notifier = FlakyNotifier(failures=2)
    relay = Relay(chat.stores.outbox, chat.stores.leads, notifier, lambda: clock[0])
    assert relay.run_once() == 0
    assert relay.run_once() == 0, "not retried before the back-off"
    clock[0] = now + timedelta(seconds=20)
    assert relay.run_once() == 0
    clock[0] = now + timedelta(minutes=5)
    assert relay.run_once() == 1
    clock[0] = now + timedelta(hours=5)
    assert relay.run_once() == 0
    assert len(notifier.told) == 1


def test_database_down_mid_form_tells_the_prospect(knowledge: KnowledgeBase) -> None:
    down = Database("postgresql+psycopg://postgres@127.0.0.1:1/unreachable")
    try:
        chat = Chat.over(knowledge, sql_stores(down))
        assert "couldn't do that just now" in chat.say("ann@acme.de")
        assert "Pudong" in chat.say("where is Lingang?")
    finally:
        down.dispose()
