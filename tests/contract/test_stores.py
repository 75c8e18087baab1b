"""One specification for every store: in memory, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.core.ports import (
    Budget,
    CatalogRevisions,
    OutgoingQueue,
    PeriodicRuns,
    RateBudget,
    RevisionConflict,
    RevisionMeta,
    StaleState,
)
from bot.core.records import (
    LeadFilter,
    LeadSubmission,
    OutgoingMessage,
    TranscriptEntry,
    UnansweredQuestion,
)
from bot.core.state import ConversationState
from intents.drafts import CatalogChange
from intents.snapshot import files_digest
from storage.catalogs import SqlCatalogRevisions, SqlPeriodicRuns
from storage.memory import (
    MemoryCatalogRevisions,
    MemoryOutgoingQueue,
    MemoryPeriodicRuns,
    MemoryRateBudget,
)
from storage.outgoing import SqlOutgoingQueue
from storage.ratebudget import SqlRateBudget
from tests.chat import Stores
from tests.conftest import BACKENDS, _open

T0 = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)


def test_unknown_conversation_loads_as_none(stores: Stores) -> None:
    assert stores.conversations.load("test", "nobody") is None


def test_saved_state_loads_back_with_next_version(stores: Stores) -> None:
    state = ConversationState(
        "test", "c1", "u1", language="zh", language_chosen=True, form={"step": "email"}
    )
    saved = stores.conversations.save(state)
    assert saved.version == 1
    assert stores.conversations.load("test", "c1") == saved


def test_conversations_are_keyed_by_channel_and_id(stores: Stores) -> None:
    stores.conversations.save(ConversationState("telegram", "42", "u1", language="en"))
    stores.conversations.save(ConversationState("slack", "42", "u2", language="zh"))
    telegram = stores.conversations.load("telegram", "42")
    slack = stores.conversations.load("slack", "42")
    assert telegram is not None
    assert slack is not None
    assert (telegram.language, slack.language) == ("en", "zh")


def test_save_from_a_stale_version_is_refused(stores: Stores) -> None:
    first = stores.conversations.save(ConversationState("test", "c1", "u1"))
    stores.conversations.save(first.speaking("zh"))
    with pytest.raises(StaleState):
        stores.conversations.save(first.speaking("en"))
    loaded = stores.conversations.load("test", "c1")
    assert loaded is not None
    assert (loaded.language, loaded.version) == ("zh", 2)


def test_two_first_saves_of_one_conversation_let_only_one_win(stores: Stores) -> None:
    stores.conversations.save(ConversationState("test", "c1", "u1", language="en"))
    with pytest.raises(StaleState):
        stores.conversations.save(ConversationState("test", "c1", "u1", language="zh"))


def test_concurrent_read_modify_write_loses_no_update(stores: Stores) -> None:
    writers, rounds = 4, 10
    stores.conversations.save(ConversationState("test", "c1", "u1", form={"count": 0}))

    def increment() -> None:
        for _ in range(rounds):
            while True:
                state = stores.conversations.load("test", "c1")
                assert state is not None
                assert state.form is not None
                count = int(str(state.form["count"]))
                try:
                    stores.conversations.save(replace(state, form={"count": count + 1}))
                    break
                except StaleState:
                    continue

    threads = [threading.Thread(target=increment) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    final = stores.conversations.load("test", "c1")
    assert final is not None
    assert final.form == {"count": writers * rounds}
    assert final.version == writers * rounds + 1


def test_a_delivery_is_first_only_once(stores: Stores) -> None:
    assert stores.deliveries.first_delivery("telegram", "1001") is True
    assert stores.deliveries.first_delivery("telegram", "1001") is False
    assert stores.deliveries.first_delivery("slack", "1001") is True


def test_concurrent_duplicate_deliveries_have_exactly_one_first(stores: Stores) -> None:
    results: list[bool] = []
    lock = threading.Lock()

    def deliver() -> None:
        first = stores.deliveries.first_delivery("slack", "Ev123")
        with lock:
            results.append(first)

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 7 + [True]


def test_transcript_keeps_order_text_and_timestamps(stores: Stores) -> None:
    entries = [
        TranscriptEntry("test", "c1", "u1", "in", "临港在哪里？", T0, "lingang_overview", 0.9),
        TranscriptEntry("test", "c1", "u1", "out", "Lingang is in Pudong.", T0),
        TranscriptEntry("test", "c2", "u2", "in", "other conversation", T0),
        TranscriptEntry("test", "c1", "u1", "in", "thanks", T0 + timedelta(seconds=5)),
    ]
    stores.transcripts.append(entries)
    assert stores.transcripts.conversation("test", "c1") == [entries[0], entries[1], entries[3]]


def test_unanswered_questions_come_back_newest_first(stores: Stores) -> None:
    older = UnansweredQuestion("test", "c1", "u1", "weather?", "en", T0, "welcome", 0.4)
    newer = UnansweredQuestion("test", "c1", "u1", "天气怎么样", "zh", T0 + timedelta(minutes=1))
    stores.questions.record(older)
    stores.questions.record(newer)
    assert stores.questions.recent() == [newer, older]
    assert stores.questions.recent(limit=1) == [newer]


def submission(
    key: str = "s1", user: str = "u1", channel: str = "telegram", **answers: str
) -> LeadSubmission:
    """A confirmed lead form."""
    return LeadSubmission(
        submission_id=key,
        channel=channel,
        user_id=user,
        conversation_id=f"c-{user}",
        language="zh",
        notice_version="2026-11-26",
        consented_at=T0,
        submitted_at=T0 + timedelta(minutes=2),
        answers={"name": "王小明", "email": "Wang@Example.com", "company": "Example 有限公司",
                 "interest": "ic_industry", **answers},
        score=55,
        question="how much do you charge?",
        source="expo2026",
        event_id="77",
    )  # fmt: skip


def test_submitted_lead_round_trips_with_its_consent(stores: Stores) -> None:
    done = stores.leads.submit(submission(phone="+8613800138000"))
    assert (done.created, done.repeated) == (True, False)
    lead = stores.leads.get(done.lead.id)
    assert lead == done.lead
    assert (lead.name, lead.email, lead.answers["phone"]) == (
        "王小明",
        "Wang@Example.com",
        "+8613800138000",
    )
    assert (lead.status, lead.score, lead.source, lead.question) == (
        "new",
        55,
        "expo2026",
        "how much do you charge?",
    )
    consent = stores.leads.consent(lead.consent_id)
    assert consent is not None
    assert (consent.granted, consent.notice_version, consent.language, consent.at) == (
        True,
        "2026-11-26",
        "zh",
        T0,
    )
    assert [e.kind for e in stores.leads.history(lead.id)] == ["created"]  # fmt: skip


def test_submitting_the_same_form_twice_stores_it_once(stores: Stores) -> None:
    first = stores.leads.submit(submission())
    again = stores.leads.submit(submission())
    assert again.repeated
    assert again.lead.id == first.lead.id
    assert len(stores.leads.find(LeadFilter())) == 1
    assert len(stores.outbox.claim(T0 + timedelta(days=1))) == 1


def test_concurrent_submits_of_one_form_store_one_lead(stores: Stores) -> None:
    results: list[int] = []

    def submit() -> None:
        results.append(stores.leads.submit(submission()).lead.id)

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1
    assert len(stores.leads.find(LeadFilter())) == 1


def test_same_person_again_updates_the_open_lead_and_keeps_history(stores: Stores) -> None:
    first = stores.leads.submit(submission())
    second = stores.leads.submit(submission("s2", company="New Co", timeline="exploring"))
    assert (second.created, second.lead.id) == (False, first.lead.id)
    assert second.lead.answers["company"] == "New Co"
    assert second.lead.answers["interest"] == "ic_industry"  # kept from the first form
    events = stores.leads.history(first.lead.id)
    assert [e.kind for e in events] == ["created", "updated"]
    assert events[1].changes["company"] == ("Example 有限公司", "New Co")
    assert [i.kind for i in stores.outbox.claim(T0 + timedelta(days=1))] == [
        "lead_created",
        "lead_updated",
    ]


def test_same_email_on_another_channel_updates_the_open_lead(stores: Stores) -> None:
    first = stores.leads.submit(submission())
    other = stores.leads.submit(
        submission("s2", user="slack-9", channel="slack", email="wang@example.COM")
    )
    assert other.lead.id == first.lead.id
    assert len(stores.leads.find(LeadFilter())) == 1


def test_a_closed_lead_is_not_reopened_by_a_new_form(stores: Stores) -> None:
    first = stores.leads.submit(submission())
    stores.leads.set_status(first.lead.id, "won", "sales:ann", "signed")
    second = stores.leads.submit(submission("s2"))
    assert second.created
    assert second.lead.id != first.lead.id


def test_status_changes_are_kept_in_the_history(stores: Stores) -> None:
    lead = stores.leads.submit(submission()).lead
    changed = stores.leads.set_status(lead.id, "contacted", "sales:ann", "called, left a message")
    assert changed.status == "contacted"
    last = stores.leads.history(lead.id)[-1]
    assert (last.kind, last.status, last.actor, last.note) == (
        "status",
        "contacted",
        "sales:ann",
        "called, left a message",
    )
    with pytest.raises(KeyError):
        stores.leads.set_status(lead.id + 99, "lost", "sales:ann", None)


def test_claiming_a_lead_makes_an_owner_and_a_history_entry(stores: Stores) -> None:
    lead = stores.leads.submit(submission()).lead
    assert lead.owner is None
    claimed = stores.leads.claim(lead.id, "slack:U042")
    assert (claimed.owner, claimed.status) == ("slack:U042", "new")
    assert stores.leads.get(lead.id) == claimed
    last = stores.leads.history(lead.id)[-1]
    assert (last.kind, last.actor) == ("claimed", "slack:U042")
    with pytest.raises(KeyError):
        stores.leads.claim(lead.id + 99, "slack:U042")


def test_find_filters_by_status_search_and_date(stores: Stores) -> None:
    a = stores.leads.submit(submission("a", user="u1", name="Ann Lee", email="ann@a.com")).lead
    b = stores.leads.submit(
        submission("b", user="u2", name="Bo Zhang", email="bo@b.com", company="Chipworks")
    ).lead
    stores.leads.set_status(a.id, "qualified", "sales:x", None)
    assert [lead.id for lead in stores.leads.find(LeadFilter())] == [b.id, a.id]
    assert [lead.id for lead in stores.leads.find(LeadFilter(status="qualified"))] == [a.id]
    assert [lead.id for lead in stores.leads.find(LeadFilter(search="chipWORKS"))] == [b.id]
    assert stores.leads.find(LeadFilter(since=T0 + timedelta(days=1))) == []
    assert len(stores.leads.find(LeadFilter(interest="ic_industry", limit=1))) == 1
    assert stores.leads.find(LeadFilter(interest="visas_staff")) == []
    assert [lead.id for lead in stores.leads.find(LeadFilter(user_id="u2"))] == [b.id]


def test_outbox_retries_until_delivered(stores: Stores) -> None:
    stores.leads.submit(submission())
    [item] = stores.outbox.claim(T0 + timedelta(minutes=5))
    stores.outbox.failed(item.id, "slack down", T0 + timedelta(hours=1))
    assert stores.outbox.claim(T0 + timedelta(minutes=10)) == []
    [again] = stores.outbox.claim(T0 + timedelta(hours=2))
    assert again.attempts == 1
    stores.outbox.delivered(again.id, T0 + timedelta(hours=2))
    assert stores.outbox.claim(T0 + timedelta(days=9)) == []


def test_a_claimed_notification_comes_back_only_after_its_lease(stores: Stores) -> None:
    stores.leads.submit(submission())
    claimed_at = T0 + timedelta(minutes=5)
    [item] = stores.outbox.claim(claimed_at, lease=timedelta(seconds=60))
    assert stores.outbox.claim(claimed_at) == [], "claimed: no other replica gets it"
    assert stores.outbox.claim(claimed_at + timedelta(seconds=59)) == []
    [again] = stores.outbox.claim(claimed_at + timedelta(seconds=60))  # its replica died
    assert (again.id, again.attempts) == (item.id, 0)


def test_claim_takes_the_oldest_due_notifications_up_to_the_limit(stores: Stores) -> None:
    for n in range(3):
        stores.leads.submit(submission(f"s{n}", user=f"u{n}", email=f"p{n}@example.com"))
    now = T0 + timedelta(minutes=5)
    first = stores.outbox.claim(now, limit=2)
    [rest] = stores.outbox.claim(now, limit=2)
    assert [item.id for item in first] < [rest.id]
    assert len({item.lead_id for item in [*first, rest]}) == 3


def test_a_delivered_notification_is_never_claimed_again(stores: Stores) -> None:
    stores.leads.submit(submission())
    [item] = stores.outbox.claim(T0 + timedelta(minutes=5))
    stores.outbox.delivered(item.id, T0 + timedelta(minutes=5))
    assert stores.outbox.claim(T0 + timedelta(days=1)) == []


def test_export_holds_everything_about_one_person_and_nothing_else(stores: Stores) -> None:
    stores.leads.submit(submission())
    stores.leads.submit(submission("other", user="someone-else", email="x@y.org"))
    stores.transcripts.append([TranscriptEntry("telegram", "c-u1", "u1", "in", "hello", T0)])
    exported = stores.privacy.export("telegram", "u1")
    assert len(exported["leads"]) == 1
    assert all(row.get("user_id", "u1") == "u1" for rows in exported.values() for row in rows)
    assert "王小明" in json.dumps(exported, ensure_ascii=False)
    assert "x@y.org" not in json.dumps(exported)


def test_erase_leaves_nothing_about_the_person(stores: Stores) -> None:
    stores.leads.submit(submission(phone="+8613800138000"))
    stores.transcripts.append(
        [TranscriptEntry("telegram", "c-u1", "u1", "in", "my mail is wang@example.com", T0)]
    )
    stores.questions.record(UnansweredQuestion("telegram", "c-u1", "u1", "pizza?", "en", T0))
    counts = stores.privacy.erase("telegram", "u1", T0)
    assert counts["leads"] == 1
    assert counts["transcript_messages"] == 1
    after = stores.privacy.export("telegram", "u1")
    assert not any(after.values())
    assert stores.leads.find(LeadFilter()) == []


def test_purge_deletes_old_leads_and_transcripts(stores: Stores) -> None:
    old = stores.leads.submit(submission()).lead
    stores.transcripts.append([TranscriptEntry("test", "c1", "u1", "in", "old words", T0)])
    counts = stores.leads.purge(T0 + timedelta(days=1))
    assert counts["leads"] == 1
    assert stores.leads.get(old.id) is None


# -- the stores that several replicas share: kept messages, rate budgets, catalog versions ----


@dataclass(frozen=True)
class Shared:
    """One implementation of each shared-state port."""

    outgoing: OutgoingQueue
    budget: RateBudget
    catalogs: CatalogRevisions
    periodic: PeriodicRuns


@pytest.fixture(params=["memory", *BACKENDS])
def shared(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Shared]:
    """The shared-state ports, in memory and on each database backend in turn."""
    if request.param == "memory":
        yield Shared(
            MemoryOutgoingQueue(),
            MemoryRateBudget(),
            MemoryCatalogRevisions(),
            MemoryPeriodicRuns(),
        )
        return
    db = _open(request, str(request.param), tmp_path)
    try:
        yield Shared(
            SqlOutgoingQueue(db),
            SqlRateBudget(db, "test"),
            SqlCatalogRevisions(db),
            SqlPeriodicRuns(db),
        )
    finally:
        db.dispose()


def kept(chat: str, channel: str = "telegram") -> OutgoingMessage:
    return OutgoingMessage(channel, chat, f"u-{chat}", {"chat_id": chat, "text": "hi"}, T0)


def test_kept_messages_are_claimed_per_channel_once_per_lease(shared: Shared) -> None:
    for message in (kept("1"), kept("2"), kept("C1", "slack")):
        shared.outgoing.keep(message, T0)
    lease = timedelta(seconds=60)
    first = shared.outgoing.claim("telegram", T0, lease=lease)
    assert [m.chat_id for m in first] == ["1", "2"]
    assert shared.outgoing.claim("telegram", T0 + timedelta(seconds=30)) == []
    assert [m.chat_id for m in shared.outgoing.claim("slack", T0)] == ["C1"]
    shared.outgoing.sent(first[0].id or 0, T0 + timedelta(seconds=1))
    again = shared.outgoing.claim("telegram", T0 + lease)
    assert [(m.chat_id, m.id) for m in again] == [("2", first[1].id)]


def test_a_failed_kept_message_waits_for_its_retry_not_the_lease(shared: Shared) -> None:
    shared.outgoing.keep(kept("1"), T0)
    [message] = shared.outgoing.claim("telegram", T0)
    shared.outgoing.failed(message.id or 0, "429", T0 + timedelta(minutes=10))
    assert shared.outgoing.claim("telegram", T0 + timedelta(minutes=5)) == []
    [again] = shared.outgoing.claim("telegram", T0 + timedelta(minutes=10))
    assert again.attempts == 1


def test_a_budget_spaces_requests_one_interval_apart(shared: Shared) -> None:
    chat = Budget("chat:1", 1.0)
    waits = [shared.budget.reserve(chat, 1000.0) for _ in range(3)]
    assert waits == pytest.approx([0.0, 1.0, 2.0])
    assert shared.budget.reserve(chat, 1003.5) == pytest.approx(0.0), "idle: free again"


def test_a_budget_lets_a_burst_through_then_spaces_the_rest(shared: Shared) -> None:
    overall = Budget("all", 0.1, burst=3)
    waits = [shared.budget.reserve(overall, 1000.0) for _ in range(5)]
    assert waits == pytest.approx([0.0, 0.0, 0.0, 0.1, 0.2])
    assert shared.budget.reserve(overall, 1000.6) == pytest.approx(0.0)


def test_budgets_are_kept_apart_by_key(shared: Shared) -> None:
    assert shared.budget.reserve(Budget("chat:1", 1.0), 1000.0) == pytest.approx(0.0)
    assert shared.budget.reserve(Budget("chat:2", 1.0), 1000.0) == pytest.approx(0.0)
    assert shared.budget.reserve(Budget("chat:1", 1.0), 1000.0) == pytest.approx(1.0)


def test_a_pause_holds_back_every_reservation_until_it_ends(shared: Shared) -> None:
    assert shared.budget.paused_until() <= 0
    shared.budget.pause(1010.0)
    shared.budget.pause(1005.0)
    assert shared.budget.paused_until() == pytest.approx(1010.0), "the later pause wins"
    assert shared.budget.reserve(Budget("chat:1", 1.0), 1000.0) == pytest.approx(10.0)
    assert shared.budget.reserve(Budget("chat:2", 1.0), 1020.0) == pytest.approx(0.0)


def test_catalog_revisions_keep_every_file_byte_for_byte_and_refuse_a_stale_parent(
    shared: Shared,
) -> None:
    revisions = shared.catalogs
    assert revisions.latest() is None
    first_files = {"catalog.yaml": "version: 1\r\n# 临港\n", "faq/a.yaml": "intents: []\n"}
    made = RevisionMeta("admin@example.com", T0, "seed", "", (CatalogChange("created", "a"),))
    first = revisions.add(0, first_files, made)
    second_files = {**first_files, "faq/a.yaml": "intents: [x]\n", "faq/b.yaml": "b\n"}
    later = RevisionMeta("other@example.com", T0 + timedelta(minutes=1), "edit", "why")
    second = revisions.add(first.number, second_files, later)

    assert second.number > first.number
    assert second.parent == first.number
    assert revisions.latest() == second
    assert revisions.get(first.number) == first
    assert revisions.get(second.number + 5) is None
    assert revisions.files(first.number) == first_files
    assert revisions.files(second.number) == second_files
    assert (second.actor, second.at, second.kind, second.comment) == (
        "other@example.com",
        T0 + timedelta(minutes=1),
        "edit",
        "why",
    )
    assert first.changes == (CatalogChange("created", "a"),)
    assert first.touches("a")
    assert not second.touches("a")
    assert first.digest == files_digest(first_files)
    assert revisions.history(10) == [second, first]
    assert revisions.history(1, 1) == [first]
    with pytest.raises(RevisionConflict):  # made from the first, but the second came first
        revisions.add(first.number, {"catalog.yaml": "lost"}, later)
    with pytest.raises(RevisionConflict):
        revisions.add(0, {"catalog.yaml": "lost"}, later)
    assert revisions.latest() == second
    with pytest.raises(KeyError):
        revisions.files(99)


def test_a_periodic_job_is_claimed_once_per_period(shared: Shared) -> None:
    assert shared.periodic.claim("digest", "2026-W49", "a", T0)
    assert not shared.periodic.claim("digest", "2026-W49", "b", T0)
    assert shared.periodic.claim("digest", "2026-W50", "b", T0)
    assert shared.periodic.claim("other", "2026-W49", "b", T0)
