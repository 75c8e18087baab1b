"""A web-chat prospect handed to a consultant in Slack and back, end to end through the ASGI app
(its lifespan running the relay loop): the page has no push, so what the consultant writes
reaches it through `GET /chat/relayed`, which the page polls."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

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
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.telegram_api import FakeBotApi

__all__ = ["fakes", "fast_loop"]  # fixtures


@pytest.fixture
def site(fakes: tuple[FakeBotApi, FakeSlackApi], fast_loop: None, tmp_path: Path) -> Iterator[Site]:
    tg, sl = fakes
    catalog = catalog_with_hours(tmp_path, open_=True)
    with running_site(settings_for(tmp_path / "data", catalog, tg, sl), tg, sl) as running:
        yield running


def say(site: Site, text: str) -> list[dict[str, Any]]:
    response = site.client.post("/chat/messages", json={"text": text})
    assert response.status_code == 200, response.text
    replies: list[dict[str, Any]] = response.json()["replies"]
    return replies


def relayed(site: Site, after: int) -> dict[str, Any]:
    response = site.client.get(f"/chat/relayed?after={after}")
    assert response.status_code == 200
    answer: dict[str, Any] = response.json()
    return answer


def relayed_wait(site: Site, after: int, words: str) -> dict[str, Any]:
    """The first relayed message after `after` containing `words` (waiting for it)."""
    return wait_until(  # type: ignore[no-any-return]
        lambda: next((m for m in relayed(site, after)["messages"] if words in m["text"]), None),
        what=f"relayed {words!r}",
    )


def test_a_web_prospect_reaches_a_consultant_and_back(site: Site) -> None:
    assert "119.5" in say(site, "how big is Lingang?")[0]["text"]
    [asking] = say(site, "I want to talk to a person")
    assert "consultant" in asking["text"]
    ts, post = site.opening()
    assert "· web ·" in str(post["blocks"])
    assert "how big is Lingang?" in str(post["blocks"])

    site.press("handoff:take", ts)
    relayed_wait(site, 0, f"{REP_NAME} from our team has joined")

    assert say(site, "what are the tax rates?") == [], "the bot is silent"
    site.thread_wait(ts, "what are the tax rates?")
    site.rep_says(ts, "note: check the company size first")
    site.rep_says(ts, "The corporate rate is 15%.")
    reply = relayed_wait(site, 1, "corporate rate")
    assert reply["text"] == f"{REP_NAME}: The corporate rate is 15%."
    assert relayed(site, 0)["count"] == 2, "the note stayed in Slack"

    site.rep_says(ts, "close")
    closing = relayed_wait(site, 2, "has ended the chat")
    assert [b["payload"] for b in closing["buttons"]] == ["handoff:request"]
    history = site.client.get("/chat/history").json()
    assert history["relayed"] == 3
    assert any("corporate rate" in m["text"] for m in history["messages"])
    assert "119.5" in say(site, "how big is Lingang?")[0]["text"], "the bot is back"


def test_a_page_without_a_conversation_has_nothing_relayed(site: Site) -> None:
    assert relayed(site, 0) == {"messages": [], "count": 0}


def test_the_thread_keeps_to_slacks_pace_of_a_message_a_second(site: Site) -> None:
    say(site, "I want to talk to a person")
    ts, _ = site.opening()
    for number in range(5):
        assert say(site, f"message {number}") == []
    site.thread_wait(ts, "message 4")
    posts = [c for c in site.slack.calls_of("chat.postMessage") if c.params.get("channel") == SALES]
    said = [c for c in posts if str(c.params.get("text", "")).startswith("message")]
    assert [c.params["text"] for c in said] == [f"message {n}" for n in range(5)], "in order"
    # The opening post and five replies: two at once (the burst), then one a second.
    assert posts[-1].at - posts[0].at >= 3.5
