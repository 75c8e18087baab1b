"""Handoffs and their relay outbox, misses with a reason, lead cards, and what /mydata and
/forget do to all of them: in memory, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

import pytest
from alembic import command
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError

from bot.core.records import (
    MAX_EVENT_TEXT,
    CloseReason,
    ConversationEvent,
    Handoff,
    MissReason,
    NewHandoff,
    RelayDraft,
    RelayItem,
    UnansweredQuestion,
    pseudonym,
)
from storage.db import Database
from storage.models import HandoffRow, RelayItemRow
from storage.repositories import SqlQuestionLog
from tests.storage.desk import T0, Desk, desk, lead_form
from tests.storage.test_migrations import blank

__all__ = ["blank", "desk"]

R = TypeVar("R")
LEASE = timedelta(seconds=60)
OPEN = RelayDraft("to_thread", "open")


def new(
    conversation: str = "c1",
    user: str = "u1",
    question: str = "can I talk to someone?",
    closed_reason: CloseReason | None = None,
    lead_id: int | None = None,
) -> NewHandoff:
    """A request for a person in `conversation`."""
    return NewHandoff(
        "telegram",
        conversation,
        user,
        "en",
        T0,
        question=question,
        display_name="Ann",
        closed_reason=closed_reason,
        lead_id=lead_id,
    )


def said(text: str) -> RelayDraft:
    """The prospect said `text`: to the thread."""
    return RelayDraft("to_thread", "text", text=text)


def replied(text: str) -> RelayDraft:
    """The consultant said `text`: to the prospect."""
    return RelayDraft("to_prospect", "text", text=text)


def opened(desk: Desk, conversation: str = "c1", user: str = "u1") -> Handoff:
    handoff, created = desk.handoffs.request(new(conversation, user), [OPEN])
    assert created
    return handoff


def at_once(count: int, call: Callable[[int], R]) -> list[R]:
    """`call(i)` from `count` threads released together."""
    barrier = threading.Barrier(count)
    results: list[R] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        barrier.wait()
        result = call(i)
        with lock:
            results.append(result)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == count
    return results


def texts(items: list[RelayItem]) -> list[str | None]:
    return [item.text or item.kind for item in items]


# -- one open handoff per conversation ----------------------------------------------------


def test_a_request_opens_a_waiting_handoff_and_queues_its_first_post(desk: Desk) -> None:
    handoff, created = desk.handoffs.request(new(), [OPEN])
    assert created
    assert (handoff.status, handoff.open, handoff.question, handoff.display_name) == (
        "waiting",
        True,
        "can I talk to someone?",
        "Ann",
    )
    assert handoff.requested_at == T0
    assert desk.handoffs.current("telegram", "c1") == handoff
    assert desk.handoffs.get(handoff.id) == handoff
    assert desk.handoffs.current("telegram", "c2") is None
    assert desk.handoffs.current("slack", "c1") is None
    [item] = desk.handoffs.due(T0)
    assert (item.handoff_id, item.direction, item.kind, item.created_at) == (
        handoff.id,
        "to_thread",
        "open",
        T0,
    )


def test_a_second_request_gets_the_open_handoff_and_queues_nothing(desk: Desk) -> None:
    first = opened(desk)
    again, created = desk.handoffs.request(new(question="hello?"), [OPEN, said("hello?")])
    assert (again, created) == (first, False)
    assert len(desk.handoffs.due(T0)) == 1, "only the first request's post"
    desk.handoffs.claim(first.id, "U1", "Bob", T0, [])
    held, created = desk.handoffs.request(new(), [OPEN])
    assert (held.id, held.status, created) == (first.id, "held", False)
    other, created = desk.handoffs.request(new("c2"), [OPEN])
    assert created
    assert other.id != first.id


def test_after_a_close_the_conversation_can_ask_again(desk: Desk) -> None:
    first = opened(desk)
    assert desk.handoffs.close(first.id, "rep", T0 + timedelta(minutes=5), []) is not None
    second, created = desk.handoffs.request(new(), [OPEN])
    assert created
    assert second.id != first.id
    latest = desk.handoffs.latest("telegram", "c1")
    assert latest == second
    assert desk.handoffs.current("telegram", "c1") == second


def test_an_after_hours_request_is_stored_closed_at_once(desk: Desk) -> None:
    handoff, created = desk.handoffs.request(new(closed_reason="after_hours"), [OPEN])
    assert created
    assert (handoff.status, handoff.close_reason, handoff.closed_at) == (
        "closed",
        "after_hours",
        T0,
    )
    assert desk.handoffs.current("telegram", "c1") is None
    assert desk.handoffs.latest("telegram", "c1") == handoff
    assert [i.kind for i in desk.handoffs.due(T0)] == ["open"], "the thread still says so"
    again, created = desk.handoffs.request(new(closed_reason="after_hours"), [])
    assert created, "closed handoffs do not count as open"
    assert again.id != handoff.id


def test_requests_racing_open_one_handoff(desk: Desk) -> None:
    results = at_once(6, lambda i: desk.handoffs.request(new(user="u1"), [said(f"m{i}")]))
    created = [handoff for handoff, was_created in results if was_created]
    assert len(created) == 1
    assert {handoff.id for handoff, _ in results} == {created[0].id}
    assert len(desk.handoffs.due(T0)) == 1, "the losers queued nothing"


def test_the_database_itself_refuses_a_second_open_handoff(database: Database) -> None:
    def row(status: str) -> HandoffRow:
        return HandoffRow(
            channel="telegram",
            conversation_id="c1",
            user_id="u1",
            language="en",
            status=status,
            requested_at=T0,
        )

    with database.transaction() as session:
        session.add_all([row("closed"), row("closed"), row("waiting")])
    with pytest.raises(IntegrityError), database.transaction() as session:
        session.add(row("held"))
    with database.transaction() as session:
        statuses = sorted(session.scalars(select(HandoffRow.status)))
    assert statuses == ["closed", "closed", "waiting"]


# -- claim and close ----------------------------------------------------------------------


def test_a_claim_takes_a_waiting_handoff_once(desk: Desk) -> None:
    handoff = opened(desk)
    claimed = desk.handoffs.claim(
        handoff.id, "U1", "Bob", T0 + timedelta(minutes=1), [replied("Bob is here")]
    )
    assert claimed is not None
    assert (claimed.status, claimed.claimed_by, claimed.rep_name, claimed.claimed_at) == (
        "held",
        "U1",
        "Bob",
        T0 + timedelta(minutes=1),
    )
    assert claimed.first_reply_at is None, "a claim is not a reply"
    assert desk.handoffs.get(handoff.id) == claimed
    assert desk.handoffs.claim(handoff.id, "U2", "Cy", T0, [replied("Cy is here")]) is None
    assert desk.handoffs.claim(handoff.id, "U1", "Bob", T0, []) is None, "held, not waiting"
    queued = desk.handoffs.due(T0 + timedelta(minutes=1))
    assert texts(queued) == ["open", "Bob is here"]
    assert desk.handoffs.claim(10_000, "U1", "Bob", T0, []) is None


def test_two_reps_clicking_at_once_one_wins(desk: Desk) -> None:
    handoff = opened(desk)
    results = at_once(
        6,
        lambda i: desk.handoffs.claim(handoff.id, f"U{i}", f"rep{i}", T0, [replied(f"r{i}")]),
    )
    winners = [claimed for claimed in results if claimed is not None]
    assert len(winners) == 1
    stored = desk.handoffs.get(handoff.id)
    assert stored is not None
    winner = winners[0].claimed_by or ""
    assert (stored.status, stored.claimed_by, stored.rep_name) == (
        "held",
        winner,
        f"rep{winner[1:]}",
    )
    to_prospect = [i for i in desk.handoffs.due(T0) if i.direction == "to_prospect"]
    assert texts(to_prospect) == [f"r{winner[1:]}"], "only the winner's relays are queued"


def test_a_handoff_closes_once(desk: Desk) -> None:
    handoff = opened(desk)
    later = T0 + timedelta(minutes=3)
    closed = desk.handoffs.close(
        handoff.id, "prospect", later, [RelayDraft("to_thread", "notice", notice="ended")]
    )
    assert closed is not None
    assert (closed.status, closed.close_reason, closed.closed_at, closed.open) == (
        "closed",
        "prospect",
        later,
        False,
    )
    assert desk.handoffs.close(handoff.id, "rep", later, [said("again")]) is None
    assert desk.handoffs.claim(handoff.id, "U1", "Bob", later, []) is None
    assert desk.handoffs.current("telegram", "c1") is None
    assert desk.handoffs.get(handoff.id) == closed
    desk.handoffs.relayed(desk.handoffs.due(later)[0].id, later, "1.1")
    assert [i.notice for i in desk.handoffs.due(later)] == ["ended"], "nothing from the 2nd close"


def test_a_held_handoff_closes_too(desk: Desk) -> None:
    handoff = opened(desk)
    desk.handoffs.claim(handoff.id, "U1", "Bob", T0, [])
    closed = desk.handoffs.close(handoff.id, "rep_silent", T0, [])
    assert closed is not None
    assert (closed.status, closed.rep_name) == ("closed", "Bob")


# -- the relay outbox ---------------------------------------------------------------------


def test_items_go_out_in_order_per_handoff_and_direction(desk: Desk) -> None:
    handoff = opened(desk)
    desk.handoffs.claim(handoff.id, "U1", "Bob", T0, [])
    desk.handoffs.relay(handoff.id, [said("p1"), said("p2")], T0)
    desk.handoffs.relay(handoff.id, [replied("r1"), replied("r2")], T0)
    first = desk.handoffs.due(T0, lease=LEASE)
    assert texts(first) == ["open", "r1"], "one head per direction"
    for item in first:
        desk.handoffs.relayed(item.id, T0, "1.0" if item.direction == "to_thread" else None)
    assert texts(desk.handoffs.due(T0, lease=LEASE)) == ["p1", "r2"]
    assert desk.handoffs.due(T0, lease=LEASE) == [], "leased, and the rest waits behind them"


def test_a_failing_item_holds_back_the_ones_behind_it_until_settled(desk: Desk) -> None:
    handoff = opened(desk)
    desk.handoffs.relayed(desk.handoffs.due(T0)[0].id, T0, "1.0")
    desk.handoffs.relay(handoff.id, [replied("r1"), replied("r2")], T0)
    other = opened(desk, "c2", "u2")
    desk.handoffs.relay(other.id, [said("o1")], T0)

    def mine(now: timedelta) -> list[RelayItem]:
        return [i for i in desk.handoffs.due(T0 + now, lease=LEASE) if i.handoff_id == handoff.id]

    [r1] = mine(timedelta(0))
    assert r1.text == "r1"
    desk.handoffs.relay_failed(r1.id, "429", T0 + timedelta(minutes=10))
    assert mine(timedelta(minutes=5)) == [], "r2 waits for r1"
    [again] = mine(timedelta(minutes=10))
    assert (again.id, again.attempts) == (r1.id, 1)
    desk.handoffs.relay_failed(r1.id, "blocked by the user", None)
    [r2] = mine(timedelta(minutes=10))
    assert (r2.text, r2.attempts) == ("r2", 0), "a failed item is settled: the next one goes"
    desk.handoffs.relayed(r2.id, T0 + timedelta(minutes=10))
    assert mine(timedelta(hours=1)) == []
    others = desk.handoffs.due(T0 + timedelta(hours=2))
    assert texts(others) == ["open"], "the other handoff's queue was never held back by this one"


def test_a_due_item_is_handed_out_once_per_lease(desk: Desk) -> None:
    opened(desk)
    [item] = desk.handoffs.due(T0, lease=LEASE)
    assert desk.handoffs.due(T0 + timedelta(seconds=30), lease=LEASE) == []
    [again] = desk.handoffs.due(T0 + LEASE, lease=LEASE)
    assert again.id == item.id
    desk.handoffs.relayed(item.id, T0 + LEASE, "1.0")
    assert desk.handoffs.due(T0 + 10 * LEASE) == []


def test_replicas_taking_due_items_at_once_never_share_one(desk: Desk) -> None:
    for n in range(8):
        opened(desk, f"c{n}", f"u{n}")
    taken = at_once(4, lambda _: desk.handoffs.due(T0, limit=3, lease=LEASE))
    ids = [item.id for batch in taken for item in batch]
    assert len(ids) == len(set(ids)) == 8


def test_a_limit_caps_what_one_call_takes(desk: Desk) -> None:
    for n in range(3):
        opened(desk, f"c{n}", f"u{n}")
    assert len(desk.handoffs.due(T0, limit=2)) == 2
    assert len(desk.handoffs.due(T0, limit=2)) == 1


def test_items_carry_notice_params_and_targets(desk: Desk) -> None:
    handoff = opened(desk)
    desk.handoffs.relayed(desk.handoffs.due(T0)[0].id, T0, "1.0")
    [queued] = desk.handoffs.relay(
        handoff.id,
        [RelayDraft("to_prospect", "notice", notice="rep_joined", params={"rep": "Bob"})],
        T0 + timedelta(seconds=5),
    )
    [due] = desk.handoffs.due(T0 + timedelta(seconds=5))
    assert due == queued
    assert (due.notice, dict(due.params), due.created_at, due.attempts) == (
        "rep_joined",
        {"rep": "Bob"},
        T0 + timedelta(seconds=5),
        0,
    )
    assert desk.handoffs.due(T0) == [], "not due before it was queued"


def test_our_posts_in_the_thread_are_listed_oldest_first(desk: Desk) -> None:
    handoff = opened(desk)
    desk.handoffs.relay(
        handoff.id,
        [
            said("p1"),
            RelayDraft("to_thread", "notice", notice="claimed"),
            RelayDraft("to_thread", "delete", target_ts="1.1"),
            said("not sent yet"),
        ],
        T0,
    )
    desk.handoffs.relay(handoff.id, [replied("r1")], T0)
    stamps = iter(["1.0", "1.1", "1.2"])
    for _ in range(4):
        for item in desk.handoffs.due(T0, lease=timedelta(0)):
            if item.text == "not sent yet":
                desk.handoffs.relay_failed(item.id, "500", T0 + timedelta(hours=1))
            elif item.kind == "delete":
                desk.handoffs.relayed(item.id, T0)
            elif item.direction == "to_prospect":
                desk.handoffs.relayed(item.id, T0, "9.9")  # not a post in the thread
            else:
                desk.handoffs.relayed(item.id, T0, next(stamps))
    assert desk.handoffs.posts(handoff.id) == ["1.0", "1.1", "1.2"]
    assert desk.handoffs.posts(opened(desk, "c2", "u2").id) == []


# -- bookkeeping of the consultant's activity --------------------------------------------


def test_the_consultants_texts_count_as_activity(desk: Desk) -> None:
    handoff = opened(desk)
    claimed_at = T0 + timedelta(minutes=1)
    desk.handoffs.claim(handoff.id, "U1", "Bob", claimed_at, [])
    desk.handoffs.relay(handoff.id, [said("hi?")], T0 + timedelta(minutes=2))
    desk.handoffs.relay(
        handoff.id,
        [RelayDraft("to_prospect", "notice", notice="x")],
        T0 + timedelta(minutes=2),
    )
    quiet = desk.handoffs.get(handoff.id)
    assert quiet is not None
    assert (quiet.first_reply_at, quiet.last_rep_at) == (None, None)
    desk.handoffs.relay(handoff.id, [replied("hello")], T0 + timedelta(minutes=3))
    desk.handoffs.relay(handoff.id, [replied("still here")], T0 + timedelta(minutes=7))
    busy = desk.handoffs.get(handoff.id)
    assert busy is not None
    assert (busy.first_reply_at, busy.last_rep_at) == (
        T0 + timedelta(minutes=3),
        T0 + timedelta(minutes=7),
    )


def test_unclaimed_and_silent_handoffs_are_found(desk: Desk) -> None:
    early = opened(desk, "c1", "u1")
    late, _ = desk.handoffs.request(
        NewHandoff("telegram", "c2", "u2", "en", T0 + timedelta(minutes=10)), []
    )
    assert [h.id for h in desk.handoffs.unclaimed_since(T0 + timedelta(minutes=5))] == [early.id]
    assert [h.id for h in desk.handoffs.unclaimed_since(T0 + timedelta(minutes=11))] == [
        early.id,
        late.id,
    ]
    assert desk.handoffs.unclaimed_since(T0) == []
    desk.handoffs.claim(early.id, "U1", "Bob", T0 + timedelta(minutes=1), [])
    assert [h.id for h in desk.handoffs.unclaimed_since(T0 + timedelta(hours=1))] == [late.id]
    assert [h.id for h in desk.handoffs.silent_since(T0 + timedelta(minutes=2))] == [early.id]
    desk.handoffs.relay(early.id, [replied("hello")], T0 + timedelta(minutes=20))
    assert desk.handoffs.silent_since(T0 + timedelta(minutes=15)) == []
    assert [h.id for h in desk.handoffs.silent_since(T0 + timedelta(minutes=21))] == [early.id]
    desk.handoffs.close(early.id, "rep", T0 + timedelta(minutes=30), [])
    assert desk.handoffs.silent_since(T0 + timedelta(days=1)) == []
    desk.handoffs.close(late.id, "unclaimed", T0 + timedelta(minutes=30), [])
    assert desk.handoffs.unclaimed_since(T0 + timedelta(days=1)) == []


def test_a_thread_finds_its_handoff_open_or_closed(desk: Desk) -> None:
    handoff = opened(desk)
    assert desk.handoffs.by_thread("C1", "1.0") is None
    desk.handoffs.threaded(handoff.id, "C1", "1.0")
    found = desk.handoffs.by_thread("C1", "1.0")
    assert found is not None
    assert (found.id, found.thread_channel, found.thread_ts) == (handoff.id, "C1", "1.0")
    desk.handoffs.close(handoff.id, "rep", T0, [])
    closed = desk.handoffs.by_thread("C1", "1.0")
    assert closed is not None
    assert closed.status == "closed"
    assert desk.handoffs.by_thread("C2", "1.0") is None


def test_a_persons_handoffs_are_listed(desk: Desk) -> None:
    first = opened(desk, "c1", "u1")
    desk.handoffs.close(first.id, "rep", T0, [])
    second = opened(desk, "c1", "u1")
    opened(desk, "c2", "u2")
    assert [h.id for h in desk.handoffs.of_person("telegram", "u1")] == [first.id, second.id]
    assert desk.handoffs.of_person("slack", "u1") == []


# -- misses with a reason, lead cards -----------------------------------------------------


def test_a_miss_keeps_its_reason_and_detail_cut_to_size(desk: Desk) -> None:
    desk.questions.record(UnansweredQuestion("telegram", "c1", "u1", "what is this?", "en", T0))
    desk.questions.record(
        UnansweredQuestion(
            "telegram",
            "c1",
            "u1",
            "q" * (MAX_EVENT_TEXT + 1),
            "en",
            T0 + timedelta(seconds=1),
            best_intent="pricing",
            best_score=0.7,
            reason="thumbs_down",
            detail="d" * (MAX_EVENT_TEXT + 9),
        )
    )
    newest, oldest = desk.questions.recent()
    assert (oldest.reason, oldest.detail) == ("fallback", None)
    assert (newest.reason, newest.best_intent) == ("thumbs_down", "pricing")
    assert (newest.text, newest.detail) == ("q" * MAX_EVENT_TEXT, "d" * MAX_EVENT_TEXT)


def test_a_consultants_reply_fills_the_handoff_misses_of_that_conversation(desk: Desk) -> None:
    def asked(conversation: str, seconds: int, reason: MissReason = "handoff") -> None:
        at = T0 + timedelta(seconds=seconds)
        desk.questions.record(
            UnansweredQuestion("web", conversation, "u1", f"q{seconds}", "en", at, reason=reason)
        )

    asked("c1", 0)  # before this handoff: an older one's
    asked("c1", 10)
    asked("c1", 11, "fallback")
    asked("c2", 12)
    assert desk.questions.replied("web", "c1", T0 + timedelta(seconds=5), "We can help.") == 1
    assert desk.questions.replied("web", "c1", T0 + timedelta(seconds=5), "Again") == 0
    details = {(q.conversation_id, q.text): q.detail for q in desk.questions.recent()}
    assert details == {
        ("c1", "q0"): None,
        ("c1", "q10"): "We can help.",
        ("c1", "q11"): None,
        ("c2", "q12"): None,
    }


def test_a_leads_slack_card_is_remembered(desk: Desk) -> None:
    lead = desk.leads.submit(lead_form()).lead
    assert desk.leads.card(lead.id) is None
    desk.leads.set_card(lead.id, "CSALES", "1700000000.000100")
    assert desk.leads.card(lead.id) == ("CSALES", "1700000000.000100")
    assert desk.leads.card(lead.id + 1) is None
    assert desk.leads.cards_of(lead.channel, lead.user_id) == [("CSALES", "1700000000.000100")]
    assert desk.leads.cards_of(lead.channel, "someone else") == []


# -- /mydata and /forget -----------------------------------------------------------------


def test_a_persons_export_shows_their_handoffs_and_events(desk: Desk) -> None:
    handoff = opened(desk)
    desk.handoffs.claim(handoff.id, "U0SECRET", "Bob", T0 + timedelta(minutes=1), [])
    desk.handoffs.relay(handoff.id, [said("my phone is 123")], T0 + timedelta(minutes=2))
    desk.handoffs.relay(handoff.id, [replied("thanks")], T0 + timedelta(minutes=3))
    desk.handoffs.close(handoff.id, "rep", T0 + timedelta(minutes=4), [])
    opened(desk, "c9", "someone else")
    desk.events.add(
        [
            ConversationEvent("telegram", "c1", "u1", "turn", T0, outcome="fallback", text="q?"),
            ConversationEvent("telegram", "c9", "u9", "turn", T0, outcome="match", text="x"),
        ]
    )
    export = desk.privacy.export("telegram", "u1")
    assert export["conversation_events"] == [
        {"kind": "turn", "outcome": "fallback", "at": T0.isoformat(), "text": "q?"}
    ]
    [mine] = export["handoffs"]
    assert mine["rep_name"] == "Bob"
    assert mine["status"] == "closed"
    assert mine["question"] == "can I talk to someone?"
    assert mine["claimed_at"] == (T0 + timedelta(minutes=1)).isoformat()
    assert "U0SECRET" not in repr(mine), "no ids of the staff"
    assert mine["messages"] == [
        {
            "direction": "to_thread",
            "at": (T0 + timedelta(minutes=2)).isoformat(),
            "text": "my phone is 123",
        },
        {
            "direction": "to_prospect",
            "at": (T0 + timedelta(minutes=3)).isoformat(),
            "text": "thanks",
        },
    ]


def test_forgetting_a_person_redacts_their_handoffs_and_keeps_the_deletes(desk: Desk) -> None:
    lead = desk.leads.submit(lead_form("u1")).lead
    handoff, _ = desk.handoffs.request(new(lead_id=lead.id), [OPEN])
    desk.handoffs.relayed(desk.handoffs.due(T0)[0].id, T0, "1.0")
    desk.handoffs.claim(handoff.id, "U1", "Bob", T0, [])
    desk.handoffs.relay(handoff.id, [said("my phone is 123")], T0)
    for item in desk.handoffs.due(T0):
        desk.handoffs.relayed(item.id, T0, "1.1")
    desk.handoffs.close(
        handoff.id,
        "erased",
        T0,
        [RelayDraft("to_thread", "delete", target_ts=ts) for ts in desk.handoffs.posts(handoff.id)]
        + [RelayDraft("to_thread", "notice", notice="erased", params={"name": "Ann"})],
    )
    other = opened(desk, "c2", "u2")
    desk.handoffs.relay(other.id, [said("keep me")], T0)
    desk.events.add(
        [
            ConversationEvent("telegram", "c1", "u1", "turn", T0, text="my question"),
            ConversationEvent("telegram", "c1", "u1", "feedback", T0, outcome="up"),
            ConversationEvent("telegram", "c2", "u2", "turn", T0, answer_key="k2", text="kept"),
        ]
    )

    counts = desk.privacy.erase("telegram", "u1", T0 + timedelta(days=1))

    assert (counts["conversation_events"], counts["handoffs"]) == (2, 1)
    assert desk.privacy.export("telegram", "u1")["conversation_events"] == []
    assert desk.privacy.export("telegram", "u1")["handoffs"] == []
    assert desk.handoffs.of_person("telegram", "u1") == []
    [redacted] = desk.handoffs.of_person("telegram", pseudonym("telegram", "u1"))
    assert (redacted.id, redacted.question, redacted.display_name, redacted.lead_id) == (
        handoff.id,
        None,
        None,
        None,
    )
    assert (redacted.status, redacted.rep_name, redacted.thread_ts) == ("closed", "Bob", None)
    assert desk.handoffs.posts(handoff.id) == ["1.0", "1.1"], "still known, to be deleted"
    pending = desk.handoffs.due(T0 + timedelta(days=1))
    deletes = [i for i in pending if i.handoff_id == handoff.id]
    assert [(i.kind, i.target_ts) for i in deletes] == [("delete", "1.0")]
    for _ in range(3):
        for item in desk.handoffs.due(T0 + timedelta(days=1), lease=timedelta(0)):
            if item.handoff_id == handoff.id:
                desk.handoffs.relayed(item.id, T0 + timedelta(days=1))
                if item.kind == "notice":
                    assert item.text is None
                    assert dict(item.params) == {"name": "Ann"}, "still to be sent: kept"
                else:
                    assert (item.kind, item.text) == ("delete", None)
    assert desk.events.answer("k2") is not None
    if desk.database is not None:
        with desk.database.transaction() as session:
            rows = session.scalars(
                select(RelayItemRow).where(RelayItemRow.handoff_id == handoff.id)
            ).all()
        assert {row.text for row in rows} == {None}
        assert {row.kind for row in rows} == {"open", "text", "delete", "notice"}
        assert all(row.params == {} for row in rows if row.kind != "notice")
    [kept] = [i for i in desk.handoffs.due(T0 + timedelta(days=2)) if i.handoff_id == other.id]
    assert kept.kind == "open"


# -- the migration ------------------------------------------------------------------------


def test_migration_0009_keeps_old_misses_as_fallbacks_and_goes_back(blank: Database) -> None:
    config = blank.alembic_config()
    command.upgrade(config, "0008")
    insert = text(
        "INSERT INTO unanswered_questions (channel, conversation_id, user_id, text, language, at)"
        " VALUES ('telegram', 'c1', 'u1', :text, 'en', :at)"
    )
    with blank.engine.begin() as connection:
        connection.execute(insert, {"text": "old miss", "at": T0})
    command.upgrade(config, "0009")
    assert {"conversation_events", "handoffs", "relay_items"} <= set(
        inspect(blank.engine).get_table_names()
    )
    questions = SqlQuestionLog(blank)
    questions.record(
        UnansweredQuestion("telegram", "c1", "u1", "bad", "en", T0, reason="thumbs_down")
    )
    assert [(q.text, q.reason) for q in questions.recent()] == [
        ("bad", "thumbs_down"),
        ("old miss", "fallback"),
    ]
    command.downgrade(config, "0008")
    tables = set(inspect(blank.engine).get_table_names())
    assert not {"conversation_events", "handoffs", "relay_items"} & tables
    columns = {c["name"] for c in inspect(blank.engine).get_columns("unanswered_questions")}
    assert not {"reason", "detail"} & columns
    with blank.engine.connect() as connection:
        left = connection.execute(text("SELECT text FROM unanswered_questions")).scalars().all()
    assert left == ["old miss"], "misses that were not fallbacks did not exist before 0009"
    blank.upgrade()
    command.check(config)
