"""The handoff relay against the fake Slack Web API, over the in-memory stores: a Slack DM
prospect, rate limits and server errors rescheduled, deletions, erased handoffs, lead cards."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from bot.channels.handoff_delivery import SlackPoster, SlackProspects, WebProspects, relay_client
from bot.channels.handoff_relay import HandoffRelay, unmark
from bot.channels.slack_sales import SlackSalesNotifier
from bot.core import handoff as handoff_module
from bot.core.handoff import HandoffDesk
from bot.core.messages import Incoming
from bot.core.records import LeadSubmission, RelayDraft
from intents.catalog import PACKAGED_DIR
from intents.knowledge import KnowledgeBase
from storage.memory import MemoryLeadRepository, MemoryRateBudget
from tests.chat import Stores, memory_stores
from tests.fakes.slack_api import BOT_TOKEN, FakeSlackApi

SALES = "C0SALES"
DM = "D0PROSPECT"
REP = "U0SELL"
START = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)  # Monday 11:00 in Shanghai: office hours


@pytest.fixture(scope="module")
def knowledge() -> KnowledgeBase:
    return KnowledgeBase(PACKAGED_DIR)


@pytest.fixture
def slack() -> Iterator[FakeSlackApi]:
    with FakeSlackApi() as fake:
        yield fake


@dataclass
class Desk:
    """A handoff desk and its relay on one clock."""

    stores: Stores
    desk: HandoffDesk
    relay: HandoffRelay
    now: list[datetime]
    knowledge: KnowledgeBase

    def at(self, seconds: float) -> None:
        self.now[0] = START + timedelta(seconds=seconds)

    async def run(self) -> int:
        return await self.relay.run_once()

    def request(self, channel: str = "slack", conversation: str = DM) -> int:
        incoming = Incoming(channel, conversation, "U0001", "I want to talk to a person")
        catalog = self.knowledge.current.catalog
        asked = self.desk.request(catalog, incoming, "en", "how big is Lingang?")
        assert asked.handoff is not None
        return asked.handoff.id


@pytest.fixture
def desk(slack: FakeSlackApi, knowledge: KnowledgeBase) -> Desk:
    stores = memory_stores()
    now = [START]
    poster = SlackPoster(relay_client(BOT_TOKEN, slack.base_url), MemoryRateBudget())
    relay = HandoffRelay(
        stores.handoffs,
        knowledge,
        stores.leads,
        stores.transcripts,
        slack=poster,
        sales_channel=SALES,
        prospects={"slack": SlackProspects(poster), "web": WebProspects()},
        clock=lambda: now[0],
    )
    handoffs = HandoffDesk(stores.handoffs, stores.events, lambda: now[0])
    return Desk(stores, handoffs, relay, now, knowledge)


async def test_a_slack_dm_prospect_gets_the_consultants_words_with_their_name(
    desk: Desk, slack: FakeSlackApi
) -> None:
    handoff_id = desk.request()
    assert await desk.run() == 1
    handoff = desk.stores.handoffs.get(handoff_id)
    assert handoff is not None
    [(channel, ts)] = list(slack.messages)
    assert (handoff.thread_channel, handoff.thread_ts) == (channel, ts) == (SALES, ts)
    claimed = desk.desk.claim(handoff_id, REP, "Mei")
    assert claimed is not None
    assert (
        desk.desk.rep_said(desk.knowledge.current.catalog, claimed, REP, "Hello from Mei")
        == "relayed"
    )
    await desk.run()
    to_dm = [p for p in slack.sent() if p["channel"] == DM]
    assert [p["text"] for p in to_dm] == [
        "Mei from our team has joined the chat.",
        "Mei: Hello from Mei",
    ]
    said = desk.stores.transcripts.conversation("slack", DM)
    assert [unmark(e.intent_id) for e in said] == [("joined", "en"), (None, "en")]


async def test_a_rate_limit_waits_for_retry_after_and_then_goes_out_once(
    desk: Desk, slack: FakeSlackApi
) -> None:
    desk.request()
    slack.fail_next("chat.postMessage", "429")
    assert await desk.run() == 0
    assert desk.stores.handoffs.due(START + timedelta(seconds=0.5)) == [], "not before 1 s"
    desk.at(1.5)
    assert await desk.run() == 1
    openings = [p for p in slack.sent() if p["channel"] == SALES]
    assert len(openings) == 1


async def test_a_server_error_is_retried_later(desk: Desk, slack: FakeSlackApi) -> None:
    desk.request()
    slack.fail_next("chat.postMessage", "500")
    assert await desk.run() == 0
    desk.at(4)
    assert await desk.run() == 0, "backs off 5 s"
    desk.at(6)
    assert await desk.run() == 1


async def test_a_post_deleted_already_counts_as_deleted(desk: Desk, slack: FakeSlackApi) -> None:
    slack.strict_deletes = True
    handoff_id = desk.request()
    await desk.run()
    desk.stores.handoffs.relay(
        handoff_id, [RelayDraft("to_thread", "delete", target_ts="1.000001")], START
    )
    assert await desk.run() == 1
    assert slack.calls_of("chat.delete") == []  # answered message_not_found: not "ok"
    assert [c.error for c in slack.calls if c.method == "chat.delete"] == ["message_not_found"]


async def test_a_handoff_erased_before_its_thread_opened_posts_nothing_of_theirs(
    desk: Desk, slack: FakeSlackApi
) -> None:
    desk.request()
    desk.desk.erase("slack", "U0001")
    desk.stores.privacy.erase("slack", "U0001", START)
    await desk.run()
    assert slack.sent() == [], "no thread was opened, so there is nothing to say in one"
    assert desk.stores.handoffs.due(START + timedelta(hours=1)) == [], "and nothing waits"


async def test_a_web_prospect_is_reached_through_the_transcript(desk: Desk) -> None:
    handoff_id = desk.request("web", "w1")
    await desk.run()
    assert desk.desk.claim(handoff_id, REP, "Mei") is not None
    await desk.run()
    [entry] = desk.stores.transcripts.conversation("web", "w1")
    assert entry.direction == "out"
    assert entry.text == "Mei from our team has joined the chat."


def test_a_lead_card_keeps_where_it_went(slack: FakeSlackApi, knowledge: KnowledgeBase) -> None:
    leads = MemoryLeadRepository()
    lead = leads.submit(
        LeadSubmission(
            submission_id="s1",
            channel="telegram",
            user_id="777",
            conversation_id="777",
            language="en",
            notice_version="1",
            consented_at=START,
            submitted_at=START,
            answers={"name": "Ann", "email": "ann@example.com"},
            score=50,
        )
    ).lead
    notifier = SlackSalesNotifier(
        knowledge, token=BOT_TOKEN, base_url=slack.base_url, channel=SALES, cards=leads
    )
    notifier.notify(lead, "lead_created")
    [(channel, ts)] = list(slack.messages)
    assert leads.card(lead.id) == (channel, ts) == (SALES, ts)


def test_every_thread_notice_of_the_desk_has_words_in_sales_yaml(
    knowledge: KnowledgeBase,
) -> None:
    names = [str(v) for k, v in vars(handoff_module).items() if k.startswith("THREAD_")]
    assert len(names) >= 7
    notices = knowledge.current.catalog.sales.handoff.notices
    assert [n for n in names if notices.text(n) is None] == []


async def test_a_prospect_in_a_channel_thread_is_answered_in_that_thread(
    desk: Desk, slack: FakeSlackApi
) -> None:
    handoff_id = desk.request("slack", "C0PUBLIC/1700000001.000100")
    await desk.run()
    assert desk.desk.claim(handoff_id, REP, "Mei") is not None
    await desk.run()
    [joined] = [p for p in slack.sent() if p["channel"] == "C0PUBLIC"]
    assert joined["thread_ts"] == "1700000001.000100"


async def test_a_delete_may_name_its_channel(desk: Desk, slack: FakeSlackApi) -> None:
    handoff_id = desk.request()
    await desk.run()
    card = RelayDraft("to_thread", "delete", target_ts="9.000001", params={"channel": "C0CARDS"})
    desk.stores.handoffs.relay(handoff_id, [card], START)
    assert await desk.run() == 1
    [deleted] = slack.sent("chat.delete")
    assert (deleted["channel"], deleted["ts"]) == ("C0CARDS", "9.000001")


async def test_the_first_post_shows_the_fields_of_the_prospects_lead(
    desk: Desk, slack: FakeSlackApi
) -> None:
    desk.stores.leads.submit(
        LeadSubmission(
            submission_id="s2",
            channel="slack",
            user_id="U0001",
            conversation_id=DM,
            language="en",
            notice_version="1",
            consented_at=START,
            submitted_at=START,
            answers={"name": "Ann Lee", "company": "Chipworks"},
            score=40,
        )
    )
    desk.request()
    await desk.run()
    [opening] = slack.sent()
    shown = str(opening["blocks"])
    assert "Ann Lee" in shown
    assert "Chipworks" in shown
    assert "Lead #1" in shown


async def test_an_item_that_breaks_is_put_off_and_the_others_go_on(
    desk: Desk, slack: FakeSlackApi
) -> None:
    first = desk.request()
    second = desk.request("slack", "D0OTHER")
    await desk.run()
    broken = RelayDraft("to_prospect", "notice", notice="joined")  # its {name} is missing
    desk.stores.handoffs.relay(first, [broken], START)
    desk.stores.handoffs.relay(second, [RelayDraft("to_prospect", "text", text="hi")], START)
    assert await desk.run() == 1
    assert [p["channel"] for p in slack.sent()][-1] == "D0OTHER"
    [again] = desk.stores.handoffs.due(START + timedelta(seconds=6))
    assert (again.handoff_id, again.attempts) == (first, 1)
