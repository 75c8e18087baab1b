"""The funnel's numbers from a scripted set of conversations held with the real engine (its
event log and handoff desk on SQLite and PostgreSQL), checked exactly."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.core.dashboard import FunnelQuery, Period
from bot.core.engine import Engine
from bot.core.handoff import HandoffDesk
from intents.knowledge import KnowledgeBase
from storage.dashboard import SqlDashboard
from storage.db import Database
from storage.events import SqlEventLog
from storage.handoffs import SqlHandoffs
from tests.chat import Chat, copy_catalog, fill_the_lead_form, sql_stores
from tests.core.test_conversation import TWINS

# Tuesday 10 March 2026, 10:00 in Shanghai: within the consultants' office hours.
START = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
PERIOD = Period(date(2026, 3, 10), date(2026, 3, 10))
REP = "U0REP"


class Script:
    """Conversations with one engine over `database`; every message a minute after the last."""

    def __init__(self, database: Database, knowledge: KnowledgeBase) -> None:
        self.now = START - timedelta(minutes=1)
        self.stores = sql_stores(database)
        self.desk = HandoffDesk(SqlHandoffs(database), SqlEventLog(database), self.clock)
        self.engine = Engine(
            knowledge,
            conversations=self.stores.conversations,
            deliveries=self.stores.deliveries,
            transcripts=self.stores.transcripts,
            questions=self.stores.questions,
            leads=self.stores.leads,
            privacy=self.stores.privacy,
            clock=self.clock,
            events=SqlEventLog(database),
            desk=self.desk,
        )

    def clock(self) -> datetime:
        """Now: a minute later each time a message is handled."""
        return self.now

    def chat(self, user: str, channel: str = "web") -> Chat:
        """A person on `channel` whose every message moves the clock on a minute."""
        script = self

        class Timed(Chat):
            def send(
                self, text: str = "", payload: str | None = None, event_id: str | None = None
            ) -> str:
                script.now += timedelta(minutes=1)
                return super().send(text, payload, event_id)

        return Timed(self.engine, self.stores, channel=channel, user=user)

    def wait(self, minutes: int) -> None:
        """Let time pass."""
        self.now += timedelta(minutes=minutes)


@pytest.fixture
def knowledge(tmp_path: Path) -> KnowledgeBase:
    """The packaged catalog and two intents close enough to ask "did you mean"."""
    return KnowledgeBase(copy_catalog(tmp_path, {"twins.yaml": TWINS}))


def hold_the_conversations(database: Database, knowledge: KnowledgeBase) -> None:
    """Seven conversations on 10 March (one on Telegram, in Chinese) and one on 9 March."""
    script = Script(database, knowledge)
    script.now -= timedelta(days=1)
    early = script.chat("early")  # began the day before: not in the cohort
    early.say("how big is Lingang?")
    script.wait(24 * 60)

    answered = script.chat("answered")  # an answer, 👍
    answered.say("how big is Lingang?")
    assert "thank" in answered.press("👍").lower()

    chose = script.chat("chose")  # "did you mean", a choice (answered), no rating
    chose.say("where can I park?")
    assert chose.kinds == ["clarify"]
    assert "rack B" in chose.press("Bike parking")

    lost = script.chat("lost")  # an answer, then a fallback at the end: not contained
    lost.say("where is Lingang?")
    lost.say("what is the best pizza in Naples?")
    assert lost.kinds == ["fallback"]

    unhappy = script.chat("unhappy")  # an answer, 👎 (then nothing)
    unhappy.say("how big is Lingang?")
    assert "Sorry" in unhappy.press("👎")

    keen = script.chat("keen")  # the lead form, a lead: contained
    keen.say("I'd like a quote")
    fill_the_lead_form(keen, "Kim")
    keen.say("I'd like a quote")  # the same person again: the lead is updated
    fill_the_lead_form(keen, "Kim")

    handed = script.chat("handed")  # an answer, a person asked for, claimed, a reply, a lead
    handed.say("how big is Lingang?")
    handed.say("I want to talk to a person")
    handoff = script.desk.holding("web", "handed")
    assert handoff is not None
    script.wait(3)
    claimed = script.desk.claim(handoff.id, REP, "Rita Rep")
    assert claimed is not None
    script.wait(4)
    assert (
        script.desk.rep_said(knowledge.current.catalog, claimed, REP, "Hello, Rita here")
        == "relayed"
    )
    handed.say("thanks, I'd like a quote")  # to the consultant, not the bot
    assert handed.replies == []
    script.wait(2)
    assert script.desk.close(handoff.id, "rep") is not None
    handed.say("I'd like a quote")
    fill_the_lead_form(handed, "Hal")

    chinese = script.chat("chinese", channel="telegram")  # in Chinese, answered, 👍
    chinese.say("临港新片区面积多大")
    chinese.press("👍")


def test_the_funnel_of_scripted_conversations(database: Database, knowledge: KnowledgeBase) -> None:
    hold_the_conversations(database, knowledge)
    funnel = SqlDashboard(database).funnel(FunnelQuery(PERIOD))
    assert funnel.conversations == 7  # "early" began on 9 March
    # Question turns: answered 1, chose 2 (clarify, then the choice), lost 2, unhappy 1,
    # keen 2 (the lead intent, twice), handed 2 (the size and the lead intent; the message
    # to the consultant is not a question to the bot), chinese 1.
    assert (funnel.answered, funnel.clarified, funnel.fallback) == (9, 1, 1)
    assert funnel.question_turns == 11
    # Contained: answered, chose, unhappy, keen, chinese (lost ends on a fallback; handed
    # asked for a person).
    assert funnel.contained == 5
    assert funnel.handed_off == 1
    assert (funnel.form_started, funnel.leads, funnel.qualified) == (2, 2, 0)
    assert funnel.conversion == 2 / 7
    # 👍/👎 offered under the FAQ answers: answered, chose's choice, lost's first answer,
    # unhappy, handed's first answer, chinese (not under the lead intent's form start).
    assert (funnel.offered, funnel.rated, funnel.up, funnel.down) == (6, 3, 2, 1)
    assert funnel.thumbs_up == 2 / 3
    handoffs = funnel.handoffs
    assert (handoffs.requested, handoffs.claimed, handoffs.with_lead) == (1, 1, 1)
    assert handoffs.median_to_claim == 3 * 60.0
    assert handoffs.median_to_first_reply == 7 * 60.0
    assert funnel.steps() == [
        ("Conversations", 7),
        ("Form started", 2),
        ("Lead", 2),
        ("Qualified", 0),
    ]
    assert funnel.top_unanswered == [("what is the best pizza in Naples?", 1)]
    # A "did you mean" choice is answered by a button press: its turn event names the intent.
    assert funnel.top_questions == [
        ("lingang_area", 4),
        ("quote", 3),
        ("bike_parking", 1),
        ("lingang_location", 1),
    ]


def test_the_funnel_of_one_language_and_one_channel(
    database: Database, knowledge: KnowledgeBase
) -> None:
    hold_the_conversations(database, knowledge)
    board = SqlDashboard(database)
    chinese = board.funnel(FunnelQuery(PERIOD, language="zh"))
    assert (chinese.conversations, chinese.answered, chinese.contained) == (1, 1, 1)
    assert (chinese.offered, chinese.up, chinese.leads) == (1, 1, 0)
    telegram = board.funnel(FunnelQuery(PERIOD, channel="telegram"))
    assert telegram.conversations == 1
    web = board.funnel(FunnelQuery(PERIOD, language="en", channel="web"))
    assert (web.conversations, web.leads, web.handed_off) == (6, 2, 1)
    assert web.handoffs.median_to_claim == 3 * 60.0
    earlier = board.funnel(FunnelQuery(Period(date(2026, 3, 9), date(2026, 3, 9))))
    assert (earlier.conversations, earlier.answered, earlier.offered) == (1, 1, 1)
