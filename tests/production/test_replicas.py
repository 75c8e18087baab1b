"""Several replicas, one truth: two `lingang-bot serve` processes on different ports share one
PostgreSQL database (fresh and empty when they start); conversations move between them,
deliveries are answered once, and an intent edit made through one is served by both.

The tests share one pair of replicas (starting them is the slow part), each test with
prospects of its own; the catalog edit comes last.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import httpx
import pytest

from bot.app import App, build_app
from bot.config import Settings
from bot.staff_cli import first_admin
from tests.chat import copy_catalog
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.slack_requests import dm, encode
from tests.fakes.telegram_api import FakeBotApi, message
from tests.production.cluster import SALES, Cluster, Replica, wait_until
from tests.production.conftest import machine_database_in
from tests.production.prospects import (
    answers,
    assert_complete,
    lead_of,
    slack_form,
    telegram_form,
)

OUTBOX_ROUND = 6.0  # seconds: every replica has looked at the outbox once more (every 5 s)
QUESTION = "how big is Lingang?"
ORIGINAL = "119.5 km²"
EDITED = "Edited answer: the pioneering area is 119.5 km2."


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Two replicas on one fresh PostgreSQL database, each with its own intents and data
    folders (nothing shared but the database)."""
    folder = tmp_path_factory.mktemp("replicas")

    def own(i: int) -> dict[str, str]:
        return {
            "LINGANG_INTENTS_DIR": str(copy_catalog(folder / f"intents-{i}")),
            "LINGANG_DATA_DIR": str(folder / f"var-{i}"),
        }

    with (
        FakeBotApi() as telegram,
        FakeSlackApi() as slack,
        machine_database_in(folder) as url,
    ):
        cluster = Cluster(
            url,
            folder,
            telegram,
            slack,
            LINGANG_CATALOG_POLL_SECONDS="1",
        )
        try:
            cluster.start(2, own)
            yield cluster
        finally:
            cluster.close()


def announced(slack_api: FakeSlackApi) -> list[int]:
    """The lead numbers of the cards posted to the sales channel, in order."""
    cards = [str(p["text"]) for p in slack_api.sent() if p.get("channel") == SALES]
    return [int(n) for card in cards for n in re.findall(r"New lead #(\d+)", card)]


def assert_announced_once(slack_api: FakeSlackApi, lead_id: int) -> None:
    """The sales channel hears of the lead once, however many replicas relay the outbox."""
    wait_until(lambda: lead_id in announced(slack_api), 20, f"the card of lead #{lead_id}")
    time.sleep(OUTBOX_ROUND)
    assert announced(slack_api).count(lead_id) == 1


def first_run(replica: Replica) -> str | None:
    """The first admin's password, if this replica created the first admin."""
    found = re.search(r"as admin@localhost with the password (\S+) \(shown once", replica.log)
    return found.group(1) if found else None


def test_two_replicas_starting_on_an_empty_database_make_one_first_admin(pair: Cluster) -> None:
    wait_until(lambda: any(first_run(r) for r in pair.replicas), 5, "the first-run message")
    assert sum(1 for r in pair.replicas if first_run(r)) == 1, [r.log for r in pair.replicas]
    listed = pair.command("users", "list")
    assert listed.stdout.decode().splitlines() == ["admin@localhost\tadmin\tactive"]


def test_a_telegram_conversation_alternating_between_replicas_completes_a_lead(
    pair: Cluster,
) -> None:
    chat, given = 4711, answers("ann@telegram.example.com")
    for number, step in enumerate(telegram_form(given)):
        texts = pair.telegram_say(number % 2, step.update(chat), step.expect)
        assert any(step.expect in text for text in texts), (step.expect, texts)
    lead = lead_of(pair.database_url, given["email"])
    assert_complete(lead, "telegram", str(chat), given)
    assert_announced_once(pair.slack_api, lead.id)


def test_a_slack_conversation_alternating_between_replicas_completes_a_lead(
    pair: Cluster,
) -> None:
    given = answers("ann@slack.example.com")
    for number, (kind, words, expect) in enumerate(slack_form(given)):
        if kind == "say":
            pair.slack_say(number % 2, words, expect, user="U0ALT", channel="D0ALT")
        else:
            pair.slack_press(number % 2, "D0ALT", words, expect, user="U0ALT")
    lead = lead_of(pair.database_url, given["email"])
    assert_complete(lead, "slack", "U0ALT", given)
    assert_announced_once(pair.slack_api, lead.id)


def test_the_same_telegram_update_delivered_to_both_is_answered_once(pair: Cluster) -> None:
    chats = [5000 + n for n in range(5)]
    for chat in chats:
        update = {"update_id": 90_000 + chat, **message(QUESTION, chat)}
        statuses = pair.at_once(
            partial(pair.telegram, 0, update), partial(pair.telegram, 1, update)
        )
        assert statuses == [200, 200]
    wait_until(lambda: len(pair.telegram_api.texts()) >= len(chats), 20, "the answers")
    time.sleep(0.5)  # time for a second answer to any of them, were there one
    answered = [int(p["chat_id"]) for p in pair.telegram_api.sent() if int(p["chat_id"]) in chats]
    assert sorted(answered) == chats


def test_the_same_slack_event_delivered_to_both_is_answered_once(pair: Cluster) -> None:
    channels = [f"D0DUP{n}" for n in range(5)]
    before = len(pair.slack_api.sent())
    for number, channel in enumerate(channels):
        body = encode(dm(QUESTION, user=f"U0DUP{number}", channel=channel))
        statuses = pair.at_once(partial(pair.slack, 0, body), partial(pair.slack, 1, body))
        assert statuses == [200, 200]
    pair.slack_api.wait_for(before + len(channels), timeout=20)
    time.sleep(0.5)  # a second answer would be on its way by now
    answered = [str(p["channel"]) for p in pair.slack_api.sent()[before:]]
    assert sorted(answered) == channels


def answers_with(cluster: Cluster, i: int, words: str) -> bool:
    """Whether replica `i` answers the question with `words` now."""
    texts = cluster.telegram_say(i, message(QUESTION, 6000))
    return any(words in text for text in texts)


def reload_through(replica: Replica, password: str) -> None:
    """Log in to the admin console as the first admin and reload the catalog from disk."""
    with httpx.Client(base_url=replica.url, timeout=30) as browser:
        form = {"email": "admin@localhost", "password": password, "next": "/admin/intents"}
        assert browser.post("/login", data=form).status_code == 303
        page = browser.get("/admin/intents")
        assert page.status_code == 200
        found = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert found, "the page carries the CSRF token"
        reloaded = browser.post("/admin/intents/reload", data={"csrf": found.group(1)})
        assert reloaded.status_code == 303, reloaded.text


def test_files_reloaded_through_one_replica_are_served_by_the_other_within_its_poll(
    pair: Cluster,
) -> None:
    [(i, password)] = [(i, p) for i, r in enumerate(pair.replicas) if (p := first_run(r))]
    other = 1 - i
    assert answers_with(pair, i, ORIGINAL)
    assert answers_with(pair, other, ORIGINAL)

    # Only the admin's replica has the new file: the other learns it from the database.
    faq = Path(pair.replicas[i].settings["LINGANG_INTENTS_DIR"]) / "faq" / "lingang_basics.yaml"
    text = faq.read_text(encoding="utf-8")
    before = 'en: "The pioneering (start-up) area is 119.5 km², covering'
    assert before in text
    faq.write_text(text.replace(before, f'en: "{EDITED} It covers'), encoding="utf-8")
    assert answers_with(pair, other, ORIGINAL), "nothing changes before the reload"

    reload_through(pair.replicas[i], password)
    assert answers_with(pair, i, EDITED)
    started = time.monotonic()
    wait_until(lambda: answers_with(pair, other, EDITED), 10, "the other replica to follow")
    assert time.monotonic() - started < 5, "within a few poll intervals (1 s here)"


def test_an_intent_saved_through_the_api_of_one_replica_is_served_by_the_other(
    pair: Cluster,
) -> None:
    created = pair.command("tokens", "create", "automation", "--scope", "catalog:admin")
    assert created.returncode == 0, created.stderr.decode()
    secret = created.stdout.decode().strip().split("Bearer ", 1)[1].rstrip("'")
    bearer = {"Authorization": f"Bearer {secret}"}
    first, second = pair.replicas
    with httpx.Client(base_url=first.url, timeout=30, headers=bearer) as api:
        read = api.get("/api/intents/lingang_history")
        assert read.status_code == 200, read.text
        intent = read.json()["intent"]
        intent["answer"]["en"] = "Saved through the API: " + intent["answer"]["en"]
        saved = api.put(
            "/api/intents/lingang_history",
            json={"intent": intent, "comment": "from a script"},
            headers={"If-Match": read.headers["etag"]},
        )
        assert saved.status_code == 200, saved.text
        stale = api.put(
            "/api/intents/lingang_history",
            json={"intent": intent},
            headers={"If-Match": read.headers["etag"]},
        )
        assert stale.status_code == 412, "the same etag twice: the second save is refused"

    def served_by_second() -> bool:
        texts = pair.telegram_say(1, message("when was Lingang set up?", 6001))
        return any("Saved through the API: " in text for text in texts)

    wait_until(served_by_second, 10, "the other replica to serve the saved answer")
    with httpx.Client(base_url=second.url, timeout=30, headers=bearer) as api:
        history = api.get("/api/catalog/revisions").json()
    newest = history["revisions"][0]
    assert (newest["actor"], newest["kind"], newest["comment"]) == (
        "token:automation",
        "edit",
        "from a script",
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[App]:
    """A wired app on an empty database (no staff users yet), on each backend in turn."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'lingang.db'}"
    else:
        url = request.getfixturevalue("machine_database")
    settings = Settings(
        _env_file=None,
        LINGANG_DATA_DIR=tmp_path,
        LINGANG_DATABASE_URL=url,
        LINGANG_MATCHER="lexical",
    )
    wired = build_app(settings)
    try:
        yield wired
    finally:
        wired.close()


def test_the_replica_that_loses_the_first_admin_race_starts_without_one(
    empty_app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both replicas counted no users; the other one then created the admin first.
    monkeypatch.setattr(empty_app.storage.staff, "count_users", lambda: 0)
    won, lost = first_admin(empty_app), first_admin(empty_app)
    assert won is not None
    assert lost is None
    assert [user.email for user in empty_app.storage.staff.users()] == ["admin@localhost"]
