"""Faults, each as it happens in production, against real `lingang-bot serve` processes: the
database stopped in the middle of a lead form, a replica killed, the platforms' APIs failing
for a minute, and SIGTERM with a request in flight."""

from __future__ import annotations

import re
import signal
import threading
import time

import httpx

from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.slack_requests import dm
from tests.fakes.telegram_api import FakeBotApi, message
from tests.production.cluster import SALES, Cluster, wait_until
from tests.production.conftest import MakeCluster
from tests.production.pgserver import ThrowawayPostgres
from tests.production.prospects import (
    answers,
    assert_complete,
    lead_of,
    leads_in,
    telegram_form,
)

CHAT = 4242
QUESTION = "how big is Lingang?"
ANSWER = "119.5 km²"
NOT_SAVED = "couldn't"  # in both `not_saved` texts of the catalog
DB_OUTAGE = 30.0  # seconds, as the issue says
API_OUTAGE = 60.0
OUTBOX_ROUND = 6.0  # seconds: the outbox has been looked at once more (every 5 s)


def announced(slack_api: FakeSlackApi) -> list[int]:
    """The lead numbers of the cards posted to the sales channel, in order."""
    cards = [str(p["text"]) for p in slack_api.sent() if p.get("channel") == SALES]
    return [int(n) for card in cards for n in re.findall(r"New lead #(\d+)", card)]


def ready(cluster: Cluster, i: int) -> bool:
    """Whether replica `i` reports its database reachable."""
    try:
        return httpx.get(f"{cluster.replicas[i].url}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_a_database_outage_in_the_middle_of_a_lead_form_loses_nothing(
    throwaway_postgres: ThrowawayPostgres,
    throwaway_database: str,
    make_cluster: MakeCluster,
    slack_api: FakeSlackApi,
) -> None:
    cluster = make_cluster(throwaway_database)
    cluster.start(1)
    given = answers("ann@outage.example.com")
    steps = telegram_form(given)
    for step in steps[:5]:  # consent, name, company, email: the country is asked next
        assert any(
            step.expect in text for text in cluster.telegram_say(0, step.update(CHAT), step.expect)
        )

    throwaway_postgres.stop()
    stopped = time.monotonic()
    wait_until(lambda: not ready(cluster, 0), 10, "the replica to notice the outage")
    [faq] = cluster.telegram_say(0, message(QUESTION, CHAT))
    assert ANSWER in faq, "FAQ answers need no database"
    [sorry] = cluster.telegram_say(0, steps[5].update(CHAT))  # the country
    assert NOT_SAVED in sorry, "the prospect is told the answer was not saved"
    slack_faq = cluster.slack_say(0, QUESTION, ANSWER, user="U0OUT", channel="D0OUT")
    assert len(slack_faq) == 1
    time.sleep(max(0.0, DB_OUTAGE - (time.monotonic() - stopped)))
    throwaway_postgres.start()
    wait_until(lambda: ready(cluster, 0), 20, "the replica to reach the database again")

    # The prospect sends again what was not saved, and goes on.
    for step in steps[5:]:
        texts = cluster.telegram_say(0, step.update(CHAT), step.expect)
        assert any(step.expect in text for text in texts), (step.expect, texts)
    lead = lead_of(throwaway_database, given["email"])
    assert_complete(lead, "telegram", str(CHAT), given)
    wait_until(lambda: lead.id in announced(slack_api), 20, "the sales notification")
    time.sleep(OUTBOX_ROUND)
    assert announced(slack_api) == [lead.id]


def test_a_replica_killed_mid_conversation_the_other_one_continues(
    machine_database: str, make_cluster: MakeCluster, slack_api: FakeSlackApi
) -> None:
    cluster = make_cluster(machine_database)
    first, _ = cluster.start(2)
    given = answers("ann@killed.example.com")
    steps = telegram_form(given)
    for step in steps[:6]:
        assert any(
            step.expect in text for text in cluster.telegram_say(0, step.update(CHAT), step.expect)
        )
    first.kill()
    assert first.process.returncode == -signal.SIGKILL
    for step in steps[6:]:
        texts = cluster.telegram_say(1, step.update(CHAT), step.expect)
        assert any(step.expect in text for text in texts), (step.expect, texts)
    lead = lead_of(machine_database, given["email"])
    assert_complete(lead, "telegram", str(CHAT), given)
    wait_until(lambda: lead.id in announced(slack_api), 20, "the sales notification")


def test_platform_apis_failing_for_a_minute_deliver_everything_once_afterwards(
    machine_database: str, make_cluster: MakeCluster, api: FakeBotApi, slack_api: FakeSlackApi
) -> None:
    cluster = make_cluster(machine_database)
    cluster.start(1)
    given = answers("ann@api-outage.example.com")
    steps = telegram_form(given)
    for step in steps[:-1]:  # up to the summary
        assert any(
            step.expect in text for text in cluster.telegram_say(0, step.update(CHAT), step.expect)
        )
    telegram_before = len(api.texts())
    # The Slack prospect has been talking with the bot already.
    cluster.slack_say(0, "hello", "", user="U0API", channel="D0API")
    slack_before = len(slack_api.sent())

    api.fail_until("*", "500", API_OUTAGE)
    slack_api.fail_until("*", "500", API_OUTAGE)
    slack_api.fail_until("chat.postMessage", "429", API_OUTAGE)
    started = time.monotonic()
    # A Slack prospect asks (the reply is kept in the database) ...
    assert cluster.slack(0, dm(QUESTION, user="U0API", channel="D0API")) == 200
    # ... and half-way through, a Telegram prospect asks and confirms the lead form: the
    # replies are kept, the sales notification waits in the outbox.
    time.sleep(max(0.0, API_OUTAGE / 2 - (time.monotonic() - started)))
    assert cluster.telegram(0, message(QUESTION, CHAT)) == 200
    assert cluster.telegram(0, steps[-1].update(CHAT)) == 200
    wait_until(
        lambda: any(lead.email == given["email"] for lead in leads_in(machine_database)),
        25,  # after the question's reply: its attempts to reach Telegram, then kept
        "the confirmed lead in the database",
    )
    assert api.texts()[telegram_before:] == [], "nothing gets through to Telegram"
    assert len(slack_api.sent()) == slack_before, "nothing gets through to Slack"
    assert time.monotonic() - started < API_OUTAGE, "all of this happened during the outage"
    lead = lead_of(machine_database, given["email"])
    assert_complete(lead, "telegram", str(CHAT), given)

    def telegram_after() -> list[str]:
        return api.texts()[telegram_before:]

    def slack_replies() -> list[str]:
        return [str(p["text"]) for p in slack_api.sent()[slack_before:] if p["channel"] == "D0API"]

    def all_delivered() -> bool:
        telegram = telegram_after()
        return (
            any(ANSWER in text for text in telegram)
            and any(f"Thank you, {given['name']}" in text for text in telegram)
            and bool(slack_replies())
            and lead.id in announced(slack_api)
        )

    wait_until(all_delivered, API_OUTAGE + 90, "everything kept to be delivered")
    time.sleep(OUTBOX_ROUND)
    telegram = telegram_after()
    assert sum(ANSWER in text for text in telegram) == 1
    assert sum(f"Thank you, {given['name']}" in text for text in telegram) == 1
    assert len(slack_replies()) == 1
    assert ANSWER in slack_replies()[0]
    assert announced(slack_api) == [lead.id]


def test_sigterm_lets_the_request_in_flight_finish_then_exits_within_the_grace_period(
    machine_database: str, make_cluster: MakeCluster, api: FakeBotApi
) -> None:
    grace = 5.0
    cluster = make_cluster(machine_database, LINGANG_GRACE_SECONDS=str(int(grace)))
    [replica] = cluster.start(1)
    api.slow_seconds = 3.0
    api.fail_next("sendMessage", "slow")
    statuses: list[int] = []
    request = threading.Thread(
        target=lambda: statuses.append(cluster.telegram(0, message(QUESTION, CHAT)))
    )
    request.start()
    api.wait_arrived("sendMessage")  # the reply is on its way: the request is in flight
    replica.terminate()
    signalled = time.monotonic()
    code = replica.finish(timeout=grace + 10)
    took = time.monotonic() - signalled
    request.join(timeout=10)
    assert statuses == [200], "the request in flight was answered"
    assert len(api.texts()) == 1
    assert ANSWER in api.texts()[0], "its reply was sent"
    # uvicorn re-raises the signal once it has shut down, so the exit status says SIGTERM
    assert code == -signal.SIGTERM, replica.log
    assert took < grace, f"exited {took:.1f} s after SIGTERM"
    assert "Application shutdown complete" in replica.log
