"""A Telegram prospect handed to a consultant in Slack and back, end to end: the real app (its
lifespan running the relay loop), Telegram by webhook against the fake Bot API, Slack over
HTTP against the fake Web API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.channels.handoff_site import (
    OTHER_REP,
    REP,
    REP_NAME,
    SALES,
    Site,
    catalog_with_hours,
    fakes,
    fast_loop,
    running_site,
    settings_for,
    wait_until,
)
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.slack_requests import channel_message
from tests.fakes.telegram_api import FakeBotApi

__all__ = ["fakes", "fast_loop"]  # fixtures


@pytest.fixture
def site(fakes: tuple[FakeBotApi, FakeSlackApi], fast_loop: None, tmp_path: Path) -> Iterator[Site]:
    tg, sl = fakes
    catalog = catalog_with_hours(tmp_path, open_=True)
    with running_site(settings_for(tmp_path / "data", catalog, tg, sl), tg, sl) as running:
        yield running


def asked_for_a_person(site: Site) -> str:
    """The prospect asks a question, then for a person; the thread's first post's ts."""
    site.prospect_says("how big is Lingang?")
    site.telegram_wait("119.5")
    site.prospect_says("I want to talk to a person")
    site.telegram_wait("consultant")
    ts, _ = site.opening()
    return ts


def taken(site: Site) -> str:
    ts = asked_for_a_person(site)
    site.press("handoff:take", ts)
    site.telegram_wait(f"{REP_NAME} from our team has joined")
    return ts


def test_the_thread_opens_with_who_where_and_the_conversation_so_far(site: Site) -> None:
    ts = asked_for_a_person(site)
    post = site.slack.message(SALES, ts)
    assert post is not None
    shown = str(post["blocks"])
    # Who: the adapters do not pass the platform's display name yet, so "A prospect".
    assert "asks to talk to a person · telegram · en" in shown
    assert "how big is Lingang?" in shown, "the conversation so far"
    assert "119.5" in shown
    assert "No contact form" in shown
    handoff = site.app.storage.handoffs.by_thread(SALES, ts)
    assert handoff is not None
    assert handoff.status == "waiting"


def test_a_claim_tells_the_prospect_who_joined_and_updates_the_post(site: Site) -> None:
    ts = taken(site)
    site.thread_wait(ts, f"<@{REP}> took it")
    post = wait_until(lambda: (m := site.slack.message(SALES, ts)) and "edited" in m and m)
    assert f"Taken by <@{REP}>" in str(post["blocks"])
    assert "handoff:take" not in str(post["blocks"]), "nobody takes it twice"


def test_both_directions_relay_and_a_note_stays_internal_while_the_bot_is_silent(
    site: Site,
) -> None:
    ts = taken(site)
    before = len(site.telegram_texts())
    site.prospect_says("what are the tax rates?")
    site.thread_wait(ts, "what are the tax rates?")
    site.rep_says(ts, "note: hot lead, semiconductors")
    site.rep_says(ts, "Hi! The corporate rate here is 15%.")
    reply = site.telegram_wait("corporate rate")
    assert reply == f"{REP_NAME}: Hi! The corporate rate here is 15%."
    texts = site.telegram_texts()[before:]
    assert texts == [reply], "only the consultant's reply: no bot answer, no note"
    said = site.app.storage.transcripts.conversation("telegram", "777")
    assert any(e.direction == "out" and "corporate rate" in e.text for e in said)
    assert not any("hot lead" in e.text for e in said)


def test_someone_else_writing_in_the_thread_is_told_to_take_it_first(site: Site) -> None:
    ts = taken(site)
    site.rep_says(ts, "I can answer this one", user=OTHER_REP)
    hint = wait_until(lambda: site.slack.sent("chat.postEphemeral"))
    assert hint[0]["user"] == OTHER_REP
    assert hint[0]["thread_ts"] == ts
    assert "Take it" in hint[0]["text"]
    assert not any("answer this one" in t for t in site.telegram_texts())


def test_a_close_word_in_the_thread_gives_the_conversation_back_to_the_bot(site: Site) -> None:
    ts = taken(site)
    site.rep_says(ts, "close")
    site.telegram_wait(f"{REP_NAME} has ended the chat")
    site.thread_wait(ts, "the bot has the conversation again")
    site.prospect_says("how big is Lingang?")
    wait_until(lambda: sum("119.5" in t for t in site.telegram_texts()) == 2, what="the bot")


def test_the_close_button_ends_it_too(site: Site) -> None:
    ts = taken(site)
    site.press("handoff:close", ts)
    site.telegram_wait(f"{REP_NAME} has ended the chat")
    post = wait_until(lambda: (m := site.slack.message(SALES, ts)) and "Closed by" in str(m) and m)
    assert "handoff:" not in str(post["blocks"]), "no buttons left"


def test_a_silent_consultant_hands_back_to_the_bot_after_the_set_time(site: Site) -> None:
    ts = taken(site)
    later = datetime.now(UTC) + timedelta(minutes=21)
    assert site.sweep_at(later) == 1
    site.telegram_wait(f"{REP_NAME} seems to be away")
    site.thread_wait(ts, "No reply for a while")


def test_nobody_taking_it_in_time_offers_the_contact_form(site: Site) -> None:
    ts = asked_for_a_person(site)
    later = datetime.now(UTC) + timedelta(minutes=11)
    assert site.sweep_at(later) == 1
    site.telegram_wait("no consultant is free")
    sent = next(p for p in site.telegram.sent() if "no consultant is free" in str(p["text"]))
    assert "form:lead" in str(sent["reply_markup"])
    site.thread_wait(ts, "Nobody took it in time")


def test_a_prospect_who_blocked_the_bot_is_reported_in_the_thread(site: Site) -> None:
    ts = taken(site)
    site.telegram.blocked.add(777)
    site.rep_says(ts, "Are you still there?")
    site.thread_wait(ts, "blocked the bot")
    items = site.app.storage.handoffs.due(datetime.now(UTC) + timedelta(hours=1))
    assert items == [], "the message is settled as failed, not retried"


def test_the_prospect_can_end_it_themselves(site: Site) -> None:
    ts = taken(site)
    site.prospect_says("end")
    site.telegram_wait("back with me")
    site.thread_wait(ts, "The prospect ended the chat")


@pytest.fixture
def closed_site(
    fakes: tuple[FakeBotApi, FakeSlackApi], fast_loop: None, tmp_path: Path
) -> Iterator[Site]:
    tg, sl = fakes
    catalog = catalog_with_hours(tmp_path, open_=False)
    with running_site(settings_for(tmp_path / "data", catalog, tg, sl), tg, sl) as running:
        yield running


def test_outside_office_hours_the_prospect_gets_the_form_and_the_thread_says_so(
    closed_site: Site,
) -> None:
    site = closed_site
    site.prospect_says("I want to talk to a person")
    text = site.telegram_wait("nobody can join right now")
    assert text
    ts, post = site.opening()
    site.thread_wait(ts, "Asked outside office hours")
    handoff = site.app.storage.handoffs.by_thread(SALES, ts)
    assert handoff is not None
    assert handoff.status == "closed"
    site.prospect_says("how big is Lingang?")
    site.telegram_wait("119.5")
    assert post


def test_forget_deletes_our_posts_in_the_thread(site: Site) -> None:
    ts = taken(site)
    site.prospect_says("my company makes chips")
    said = site.thread_wait(ts, "my company makes chips")
    assert said
    site.prospect_says("/forget")
    site.telegram_wait("cannot be undone")
    site.prospect_presses("privacy:erase")
    site.telegram_wait("Done: erased")
    site.thread_wait(ts, "erased their data")
    deleted = {str(p["ts"]) for p in site.slack.sent("chat.delete")}
    assert ts in deleted, "the first post, with the conversation so far"
    left = [m for (c, _), m in site.slack.messages.items() if c == SALES]
    assert not any("chips" in str(m) or "119.5" in str(m) for m in left)
    assert site.app.storage.transcripts.conversation("telegram", "777") == []


def test_a_retried_slack_event_relays_the_reply_once(site: Site) -> None:
    ts = taken(site)
    envelope = channel_message("Only once, please.", REP, SALES, thread_ts=ts)
    site.slack_post(envelope)
    site.slack_post(envelope)  # Slack's retry of the same event_id
    site.telegram_wait("Only once, please.")
    site.rep_says(ts, "And this after it.")
    site.telegram_wait("And this after it.")
    assert sum("Only once" in t for t in site.telegram_texts()) == 1


def test_only_the_sales_team_can_take_it(site: Site) -> None:
    ts = asked_for_a_person(site)
    site.press("handoff:take", ts, user="U0STRANGER")
    refusal = wait_until(lambda: site.slack.sent("chat.postEphemeral"))
    assert refusal[0]["user"] == "U0STRANGER"
    assert "Only members of the sales channel" in refusal[0]["text"]
    handoff = site.app.storage.handoffs.by_thread(SALES, ts)
    assert handoff is not None
    assert handoff.status == "waiting"


def test_the_second_taker_is_told_someone_else_has_it(site: Site) -> None:
    ts = asked_for_a_person(site)
    seen = site.slack.message(SALES, ts)  # on the other consultant's screen, not updated yet
    site.press("handoff:take", ts)
    site.telegram_wait(f"{REP_NAME} from our team has joined")
    site.press("handoff:take", ts, user=OTHER_REP, shown=seen)
    post = wait_until(
        lambda: (m := site.slack.message(SALES, ts)) and "Already taken" in str(m) and m
    )
    assert f"Already taken by <@{REP}>" in str(post["blocks"])
    handoff = site.app.storage.handoffs.by_thread(SALES, ts)
    assert handoff is not None
    assert handoff.claimed_by == REP


def test_a_telegram_429_is_waited_out_and_the_reply_sent_once(site: Site) -> None:
    ts = taken(site)
    site.telegram.fail_next("sendMessage", "429")
    site.rep_says(ts, "After the pause.")
    site.telegram_wait("After the pause.")
    limited = [c for c in site.telegram.calls if c.params.get("fault") == "429"]
    assert len(limited) == 1
    assert sum("After the pause." in t for t in site.telegram_texts()) == 1
