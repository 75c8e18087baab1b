"""Two replicas (two app instances on one PostgreSQL database, each running the relay loop) share
a handoff: the prospect and the consultant reach either one, one replica restarts in the
middle; every message arrives once, in order."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from functools import partial
from pathlib import Path

import pytest

from bot.channels import handoff_relay
from bot.config import Settings
from storage.db import Database
from tests.channels.handoff_site import (
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
from tests.databases import PostgresUnreachable, fresh_postgres, unavailable
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.telegram_api import FakeBotApi

__all__ = ["fakes", "fast_loop"]  # fixtures
ROUNDS = 6


def said(site: Site, text: str) -> bool:
    """Whether the prospect's message is in the conversation's transcript."""
    entries = site.app.storage.transcripts.conversation("telegram", "777")
    return any(e.text == text for e in entries)


def queued(site: Site, count: int) -> bool:
    """Whether `count` of the consultant's messages were queued for the prospect."""
    exported = site.app.storage.privacy.export("telegram", "777")
    messages: list[dict[str, object]] = [
        message
        for handoff in exported.get("handoffs", [])
        for message in handoff["messages"]  # type: ignore[attr-defined]
    ]
    return count <= len([m for m in messages if m["direction"] == "to_prospect"])


@pytest.fixture
def postgres() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database of its own."""
    try:
        with fresh_postgres("lingang_handoff") as url:
            database = Database(url)
            database.upgrade()
            database.dispose()
            yield url
    except PostgresUnreachable as exc:
        unavailable(str(exc))


def test_two_replicas_and_a_restart_lose_nothing_and_send_nothing_twice(
    fakes: tuple[FakeBotApi, FakeSlackApi],
    fast_loop: None,
    postgres: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Items a stopped replica held come back to the other after a short lease here.
    monkeypatch.setattr(handoff_relay, "RELAY_LEASE", timedelta(seconds=6))
    tg, sl = fakes
    catalog = catalog_with_hours(tmp_path, open_=True)

    def settings(name: str) -> Settings:
        return settings_for(tmp_path / name, catalog, tg, sl, postgres)

    with running_site(settings("a"), tg, sl) as a:
        b_running = running_site(settings("b"), tg, sl)
        b: Site = b_running.__enter__()
        b.updates = 6000  # Telegram numbers each update once, whoever receives it
        try:
            a.prospect_says("I want to talk to a person")
            ts, _ = b.opening()
            b.press("handoff:take", ts)
            a.telegram_wait(f"{REP_NAME} from our team has joined")
            for number in range(ROUNDS):
                if number == ROUNDS // 2:  # B restarts, holding whatever it was sending
                    b_running.__exit__(None, None, None)
                    b_running = running_site(settings("b"), tg, sl)
                    b = b_running.__enter__()
                    b.updates = 7000
                # Each side writes after the other's message was taken in (acknowledged
                # events are handled in the background, so two at once may swap places).
                question = f"question {number}"
                (a if number % 2 else b).prospect_says(question)
                wait_until(partial(said, a, question), what=question)
                (b if number % 2 else a).rep_says(ts, f"answer {number}")
                wait_until(partial(queued, a, number + 1), what=f"answer {number}")
            a.thread_wait(ts, f"question {ROUNDS - 1}")
            a.telegram_wait(f"answer {ROUNDS - 1}")
        finally:
            b_running.__exit__(None, None, None)

    questions = [
        str(p["text"]) for p in a.thread_posts(ts) if str(p["text"]).startswith("question")
    ]
    assert questions == [f"question {n}" for n in range(ROUNDS)], "each once, in order"
    answers = [t for t in a.telegram_texts() if "answer" in t]
    assert answers == [f"{REP_NAME}: answer {n}" for n in range(ROUNDS)], "each once, in order"
    joined = [t for t in a.telegram_texts() if "has joined" in t]
    assert len(joined) == 1
    openings = [p for p in sl.sent() if p.get("channel") == SALES and "thread_ts" not in p]
    assert len(openings) == 1
