"""A person behind the bot, as the engine sees it: asking for one (words, button), the bot
silent while a person holds the conversation, ending it, timeouts, office hours, erasure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.handoff import HandoffDesk
from bot.core.records import LeadSubmission
from intents.knowledge import KnowledgeBase
from storage.memory import MemoryEventLog, MemoryHandoffs, MemoryLeadRepository
from tests.chat import Chat, Stores, fill_the_lead_form, memory_stores

# A Tuesday, 10:00 in Shanghai: office hours.
OPEN = datetime(2026, 12, 8, 2, 0, tzinfo=UTC)
# A Saturday, 10:00 in Shanghai.
WEEKEND = datetime(2026, 12, 12, 2, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


class Desk:
    """An engine with a handoff desk over memory stores, and a clock to move."""

    def __init__(self, knowledge: KnowledgeBase, at: datetime = OPEN) -> None:
        self.clock = Clock(at)
        self.stores: Stores = memory_stores()
        assert isinstance(self.stores.handoffs, MemoryHandoffs)
        self.handoffs = self.stores.handoffs
        assert isinstance(self.stores.events, MemoryEventLog)
        self.events = self.stores.events
        self.desk = HandoffDesk(self.handoffs, self.events, self.clock, self.stores.questions)
        self.engine = self.stores.engine(knowledge, clock=self.clock, desk=self.desk)
        self.knowledge = knowledge
        self.catalog = knowledge.current.catalog

    def chat(self, user: str = "u1", **kwargs: str) -> Chat:
        return Chat(self.engine, self.stores, user=user, **kwargs)

    def to_thread(self) -> list[tuple[str, str | None, str | None]]:
        """What waits to go to the thread: (kind, text, notice), in order."""
        return [
            (i.kind, i.text, i.notice)
            for i in self.handoffs.due(self.clock(), limit=1000)
            if i.direction == "to_thread"
        ]


@pytest.fixture
def desk(knowledge: KnowledgeBase) -> Desk:
    return Desk(knowledge)


def test_asking_for_a_person_in_words_opens_a_handoff_and_the_bot_goes_quiet(desk: Desk) -> None:
    chat = desk.chat()
    chat.say("how long does company registration take in Lingang?")
    said = chat.say("can I talk to a real person please")
    assert "consultant" in said
    assert "10 minutes" in said
    handoff = desk.handoffs.current("test", "u1")
    assert handoff is not None
    assert handoff.status == "waiting"
    assert handoff.question
    assert "registration" in handoff.question
    # Nothing the prospect writes now gets a bot answer: it goes to the thread.
    assert chat.say("what is the corporate tax rate in Lingang?") == ""
    assert chat.replies == []
    kinds = [(kind, text) for kind, text, _ in desk.to_thread()]
    assert kinds[0] == ("open", None)
    # The relay outbox hands out one item per handoff and direction at a time (order kept).
    assert len(kinds) == 1
    # The question that led to the handoff is in the admins' inbox.
    reasons = [q.reason for q in desk.stores.questions.recent()]
    assert "handoff" in reasons


def test_the_same_request_in_chinese(desk: Desk) -> None:
    chat = desk.chat(user="u2")
    said = chat.say("我要转人工")
    assert "顾问" in said
    assert desk.handoffs.current("test", "u2") is not None


def test_contact_details_questions_still_get_the_form(desk: Desk) -> None:
    chat = desk.chat(user="u3")
    chat.say("how can I contact you?")
    assert "form" in chat.kinds
    assert desk.handoffs.current("test", "u3") is None


def test_the_fallback_offers_a_person_now_and_the_button_works(desk: Desk) -> None:
    chat = desk.chat(user="u4")
    chat.say("do you sell bicycles on the moon?")
    assert "fallback" in chat.kinds
    chat.press("Talk to a person now")
    assert desk.handoffs.current("test", "u4") is not None
    again = chat.send(payload="handoff:request")
    assert "already" in again.lower() or "asked" in again.lower()


def test_a_claimed_handoff_relays_both_ways_and_notes_stay_internal(desk: Desk) -> None:
    chat = desk.chat(user="u5")
    chat.say("human please")
    handoff = desk.handoffs.current("test", "u5")
    assert handoff is not None
    claimed = desk.desk.claim(handoff.id, "UREP1", "Ana")
    assert claimed is not None
    assert claimed.status == "held"
    assert desk.desk.claim(handoff.id, "UREP2", "Bo") is None  # taken already
    held = desk.handoffs.get(handoff.id)
    assert held is not None
    assert desk.desk.rep_said(desk.catalog, held, "UREP1", "note: big client, be nice") == "note"
    assert desk.desk.rep_said(desk.catalog, held, "UREP2", "hello from Bo") == "not_holder"
    assert (
        desk.desk.rep_said(desk.catalog, held, "UREP1", "Hello, I'm Ana. How can I help?")
        == "relayed"
    )
    assert chat.say("we make chips") == ""
    sent = []
    while due := desk.handoffs.due(desk.clock(), limit=50):
        for item in due:
            sent.append((item.direction, item.kind, item.text, item.notice))
            desk.handoffs.relayed(
                item.id, desk.clock(), "1.0" if item.direction == "to_thread" else None
            )
    to_prospect = [(k, t, n) for d, k, t, n in sent if d == "to_prospect"]
    assert to_prospect == [
        ("notice", None, "joined"),
        ("text", "Hello, I'm Ana. How can I help?", None),
    ]
    to_thread = [t for d, k, t, n in sent if d == "to_thread" and k == "text"]
    assert to_thread == ["we make chips"]
    assert all("big client" not in str(t) for _, _, t, _ in sent)
    # The consultant closes it with a word in the thread: the bot is back.
    now_held = desk.handoffs.get(handoff.id)
    assert now_held is not None
    assert now_held.first_reply_at is not None
    assert desk.desk.rep_said(desk.catalog, now_held, "UREP1", "done") == "closed"
    assert desk.handoffs.current("test", "u5") is None
    assert chat.say("how big is Lingang?") != ""
    outcomes = [e.outcome for e in desk.events.all() if e.kind == "handoff"]
    assert outcomes == ["requested", "claimed", "human_reply", "closed:rep"]


def test_the_consultants_first_reply_becomes_the_draft_answer_in_the_inbox(desk: Desk) -> None:
    chat = desk.chat(user="u13")
    chat.say("can I bring my cat to the Lingang office?")
    chat.say("human please")
    handoff = desk.handoffs.current("test", "u13")
    assert handoff is not None
    claimed = desk.desk.claim(handoff.id, "UREP1", "Ana")
    assert claimed is not None
    desk.desk.rep_said(
        desk.catalog, claimed, "UREP1", "Yes, pets are welcome in most serviced offices."
    )
    later = desk.handoffs.get(handoff.id)
    assert later is not None
    desk.desk.rep_said(desk.catalog, later, "UREP1", "Anything else?")
    [miss] = [q for q in desk.stores.questions.recent() if q.reason == "handoff"]
    assert miss.text == "can I bring my cat to the Lingang office?"
    assert miss.detail == "Yes, pets are welcome in most serviced offices."


def test_the_prospect_ends_it_with_a_word_or_cancel(desk: Desk) -> None:
    chat = desk.chat(user="u6")
    chat.say("live agent please")
    assert chat.say("end") != ""
    assert desk.handoffs.current("test", "u6") is None
    chat.say("operator please")
    assert desk.handoffs.current("test", "u6") is not None
    assert chat.say("/cancel") != ""
    assert desk.handoffs.current("test", "u6") is None


def test_nobody_takes_it_in_time_then_the_bot_is_back(desk: Desk) -> None:
    chat = desk.chat(user="u7")
    chat.say("human please")
    catalog = desk.knowledge.current.catalog
    desk.clock.at += timedelta(minutes=catalog.settings.handoff.claim_minutes - 1)
    assert desk.desk.sweep(catalog) == 0
    desk.clock.at += timedelta(minutes=2)
    assert desk.desk.sweep(catalog) == 1
    assert desk.desk.sweep(catalog) == 0  # once
    assert desk.handoffs.current("test", "u7") is None
    assert chat.say("how big is Lingang?") != ""


def test_a_quiet_consultant_hands_the_chat_back(desk: Desk) -> None:
    chat = desk.chat(user="u8")
    chat.say("human please")
    handoff = desk.handoffs.current("test", "u8")
    assert handoff is not None
    desk.desk.claim(handoff.id, "UREP1", "Ana")
    catalog = desk.knowledge.current.catalog
    desk.clock.at += timedelta(minutes=catalog.settings.handoff.silence_minutes + 1)
    assert desk.desk.sweep(catalog) == 1
    closed = desk.handoffs.get(handoff.id)
    assert closed is not None
    assert closed.close_reason == "rep_silent"


def test_outside_office_hours_the_form_is_offered_and_the_bot_stays(
    knowledge: KnowledgeBase,
) -> None:
    desk = Desk(knowledge, at=WEEKEND)
    chat = desk.chat(user="u9")
    said = chat.say("human please")
    assert "Mon" in said or "mon" in said
    assert any(b.payload == "form:lead" for b in chat.buttons)
    assert desk.handoffs.current("test", "u9") is None  # the bot keeps answering
    latest = desk.handoffs.latest("test", "u9")
    assert latest is not None
    assert latest.close_reason == "after_hours"
    assert chat.say("how big is Lingang?") != ""


def test_forget_during_a_handoff_closes_it_and_deletes_our_thread_posts(desk: Desk) -> None:
    chat = desk.chat(user="u10")
    chat.say("human please")
    handoff = desk.handoffs.current("test", "u10")
    assert handoff is not None
    for item in desk.handoffs.due(desk.clock()):
        desk.handoffs.relayed(item.id, desk.clock(), "111.222")
    chat.say("/forget")
    chat.press(chat.buttons[0].title)  # erase
    assert desk.handoffs.current("test", "u10") is None
    deletes = [i for i in desk.handoffs.due(desk.clock(), limit=100) if i.kind == "delete"]
    assert [d.target_ts for d in deletes] == ["111.222"]


def test_without_a_sales_desk_a_person_request_gets_the_form(knowledge: KnowledgeBase) -> None:
    chat = Chat.over(knowledge, memory_stores(), user="u11")
    chat.say("do you sell bicycles on the moon?")
    said = chat.press("Talk to a person now")
    assert said
    assert any(b.payload == "form:lead" for b in chat.buttons)


def test_forget_deletes_the_lead_card_even_without_a_handoff(desk: Desk) -> None:
    leads = desk.stores.leads
    assert isinstance(leads, MemoryLeadRepository)
    done = leads.submit(
        LeadSubmission(
            submission_id="s-1",
            channel="test",
            user_id="u12",
            conversation_id="u12",
            language="en",
            notice_version="1",
            consented_at=OPEN,
            submitted_at=OPEN,
            answers={"name": "Li", "email": "li@example.com"},
            score=10,
        )
    )
    leads.set_card(done.lead.id, "CSALES", "999.1")
    chat = desk.chat(user="u12")
    chat.say("/forget")
    chat.press(chat.buttons[0].title)  # erase
    deletes = [
        (i.params.get("channel"), i.target_ts)
        for i in desk.handoffs.due(desk.clock(), limit=100)
        if i.kind == "delete"
    ]
    assert deletes == [("CSALES", "999.1")]
    assert leads.cards_of("test", "u12") == []  # the lead itself is gone


def test_a_confirmed_lead_form_offers_a_person_now(desk: Desk) -> None:
    chat = desk.chat(user="u14")
    chat.say("I'd like a quote")
    fill_the_lead_form(chat, "Kim")
    assert [b.payload for b in chat.buttons] == ["handoff:request"]
    chat.press("Talk to a person now")
    handoff = desk.handoffs.current("test", "u14")
    assert handoff is not None
    assert handoff.status == "waiting"
