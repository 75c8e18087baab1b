"""The weekly list of answers to review in the sales channel: once a week across replicas,
from Monday 09:00 in Shanghai, kept and sent again when Slack is down."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import yaml

import intents
from bot.adapters.slack import MAX_SECTION, SlackMessage
from bot.app import App, build_app, build_slack
from bot.channels.slack import SlackService
from bot.core.ports import StorageUnavailable
from bot.review_digest import JOB, MAX_LISTED, ReviewDigest, digest_message, slack_digest, week_due
from intents.catalog import load_catalog
from intents.review import counts, review_states
from tests.channels.test_slack import SALES, settings_for
from tests.dated import set_dates
from tests.fakes.slack_api import FakeSlackApi

# Monday 7 December 2026, 10:00 in Shanghai.
MONDAY = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)


def dated_catalog(folder: Path) -> Path:
    """A catalog copy where one answer is expired and one overdue."""
    copy = folder / "catalog"
    shutil.copytree(
        Path(intents.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__")
    )
    basics = copy / "faq" / "lingang_basics.yaml"
    set_dates(basics, "lingang_name", reviewed="2026-06-01", valid_until="2026-12-01")
    set_dates(basics, "lingang_legal_basis", reviewed="2026-01-10", review_every="90")
    return copy


def all_current(folder: Path) -> Path:
    """A catalog copy where every answer was just reviewed and holds for good."""
    copy = dated_catalog(folder)
    for path in (copy / "faq").glob("*.yaml"):
        for intent in yaml.safe_load(path.read_text(encoding="utf-8"))["intents"]:
            set_dates(path, intent["id"], reviewed="2026-12-06")
    return copy


@pytest.fixture
def slack_api() -> Iterator[FakeSlackApi]:
    with FakeSlackApi() as fake:
        fake.members[SALES] = ["UBOT"]
        yield fake


def wired(api: FakeSlackApi, folder: Path, catalog: Path) -> App:
    settings = settings_for(api, folder / "data")
    return build_app(settings.model_copy(update={"intents_dir": catalog}))


@pytest.fixture
def app(slack_api: FakeSlackApi, tmp_path: Path) -> Iterator[App]:
    made = wired(slack_api, tmp_path, dated_catalog(tmp_path))
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def slack(app: App) -> SlackService:
    service = build_slack(app)
    assert service is not None
    return service


def digest_at(app: App, slack: SlackService, moment: datetime, replica: str) -> ReviewDigest:
    made = slack_digest(app.settings, app.knowledge, app.storage.periodic, slack)
    assert made is not None
    return ReviewDigest(made.knowledge, made.runs, made.post, lambda: moment, replica)


def test_the_week_is_due_from_monday_nine_in_shanghai() -> None:
    assert week_due(datetime(2026, 12, 7, 0, 59, tzinfo=UTC)) is None  # 08:59 in Shanghai
    assert week_due(datetime(2026, 12, 7, 1, 0, tzinfo=UTC)) == "2026-W50"
    assert week_due(datetime(2026, 12, 6, 15, 0, tzinfo=UTC)) == "2026-W49"  # Sunday 23:00
    assert week_due(datetime(2026, 12, 6, 16, 0, tzinfo=UTC)) is None  # Monday 00:00
    assert week_due(datetime(2027, 1, 1, 12, 0, tzinfo=UTC)) == "2026-W53"


def test_the_message_lists_the_most_urgent_first() -> None:
    catalog = load_catalog()
    name = catalog.intent("lingang_name").model_copy(
        update={"reviewed": date(2026, 6, 1), "valid_until": date(2026, 12, 1)}
    )
    changed = replace(catalog, intents={**catalog.intents, "lingang_name": name})
    states = review_states(changed, date(2026, 12, 7))
    message = digest_message(changed, states, date(2026, 12, 7))
    text = "\n".join(block["text"]["text"] for block in message.blocks)
    tally = counts(states)
    assert message.text.startswith(
        f"*Answers to review* (2026-12-07): {tally['expired']} expired, "
        f"{tally['overdue']} overdue, {tally['due_soon']} due soon."
    )
    assert "/admin/review" in message.text
    lines = text.split("\n")[2:]
    assert len(lines) == min(len(states), MAX_LISTED) + (len(states) > MAX_LISTED)
    assert (
        "• *expired*: `lingang_name` (Lingang's official name), valid until 2026-12-01: "
        "answered with a caveat"
    ) in lines
    # In the order of urgency: every expired answer before any other.
    kinds = [line.split(":")[0] for line in lines if line.startswith("•")]
    assert kinds == sorted(kinds, key=["• *expired*", "• *overdue*", "• due soon"].index)
    assert all(len(block["text"]["text"]) <= MAX_SECTION for block in message.blocks)


def test_one_replica_posts_once_a_week(
    app: App, slack: SlackService, slack_api: FakeSlackApi, tmp_path: Path
) -> None:
    other = wired(slack_api, tmp_path, app.settings.intents_dir or tmp_path)
    try:
        other_slack = build_slack(other)
        assert other_slack is not None
        early = digest_at(app, slack, MONDAY - timedelta(hours=2), "a")
        assert asyncio.run(early.run_once()) == "early"
        first = digest_at(app, slack, MONDAY, "a")
        second = digest_at(other, other_slack, MONDAY + timedelta(minutes=1), "b")
        assert asyncio.run(first.run_once()) == "posted"
        assert asyncio.run(second.run_once()) == "taken"
        assert asyncio.run(first.run_once()) == "taken"
    finally:
        other.close()
    posts = slack_api.sent()
    assert len(posts) == 1
    assert posts[0]["channel"] == SALES
    text = str(posts[0]["blocks"])
    assert "`lingang_name` (Lingang's official name), valid until 2026-12-01" in text
    assert "`lingang_legal_basis`" in text
    assert "check was due 2026-04-10" in text
    next_week = digest_at(app, slack, MONDAY + timedelta(days=7), "b")
    assert asyncio.run(next_week.run_once()) == "posted"
    assert len(slack_api.sent()) == 2
    assert not app.storage.periodic.claim(JOB, "2026-W51", "c", MONDAY)


def test_a_post_slack_refuses_is_kept_and_sent_again(app: App, slack_api: FakeSlackApi) -> None:
    now = [MONDAY]
    token = app.settings.slack_bot_token
    assert token is not None
    slack = SlackService(
        app.engine, app.knowledge, app.storage.leads, app.storage.transcripts,
        app.storage.outgoing, token=token.get_secret_value(), base_url=slack_api.base_url,
        signing_secret=None, app_token="xapp-1-test", sales_channel=SALES,
        clock=lambda: now[0],
    )  # fmt: skip
    slack_api.fail_until("chat.postMessage", "500", 60)
    assert asyncio.run(digest_at(app, slack, MONDAY, "a").run_once()) == "kept"
    assert slack_api.sent() == []
    slack_api.fail_until("chat.postMessage", "500", 0)  # Slack is back
    assert asyncio.run(digest_at(app, slack, MONDAY, "b").run_once()) == "taken"
    now[0] = MONDAY + timedelta(minutes=2)
    assert asyncio.run(slack.resend_kept()) == 1
    posts = slack_api.sent()
    assert len(posts) == 1
    assert posts[0]["channel"] == SALES
    assert "`lingang_name`" in str(posts[0]["blocks"])
    assert asyncio.run(slack.resend_kept()) == 0


def test_nothing_due_means_no_post_and_no_claim(slack_api: FakeSlackApi, tmp_path: Path) -> None:
    made = wired(slack_api, tmp_path, all_current(tmp_path))
    try:
        slack = build_slack(made)
        assert slack is not None
        digest = digest_at(made, slack, MONDAY, "a")
        assert asyncio.run(digest.run_once()) == "nothing due"
        assert slack_api.sent() == []
        assert made.storage.periodic.claim(JOB, "2026-W50", "b", MONDAY)  # still free
    finally:
        made.close()


def test_no_digest_without_a_slack_channel(app: App, slack: SlackService) -> None:
    without = app.settings.model_copy(update={"slack_sales_channel": None})
    assert slack_digest(without, app.knowledge, app.storage.periodic, slack) is None
    assert slack_digest(app.settings, app.knowledge, app.storage.periodic, None) is None


def test_the_admin_channel_gets_the_digest_when_it_is_set(
    app: App, slack: SlackService, slack_api: FakeSlackApi
) -> None:
    admins = app.settings.model_copy(update={"slack_admin_channel": "CADMINS1"})
    made = slack_digest(admins, app.knowledge, app.storage.periodic, slack)
    assert made is not None
    digest = ReviewDigest(made.knowledge, made.runs, made.post, lambda: MONDAY, "a")
    assert asyncio.run(digest.run_once()) == "posted"
    assert [post["channel"] for post in slack_api.sent()] == ["CADMINS1"]


class FlakyRuns:
    """`PeriodicRuns` in memory whose database is down for the first call."""

    def __init__(self) -> None:
        self.calls = 0
        self.claimed: set[tuple[str, str]] = set()

    def claim(self, job: str, period: str, by: str, at: datetime) -> bool:
        del by, at
        self.calls += 1
        if self.calls == 1:
            raise StorageUnavailable
        if (job, period) in self.claimed:
            return False
        self.claimed.add((job, period))
        return True


def test_the_running_app_checks_after_a_while_and_survives_a_database_outage(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    posted: list[SlackMessage] = []
    runs = FlakyRuns()

    async def post(message: SlackMessage) -> bool:
        posted.append(message)
        return True

    async def scenario() -> None:
        digest = ReviewDigest(app.knowledge, runs, post, lambda: MONDAY, "a")
        task = asyncio.create_task(digest.keep_posting(0.2))
        await asyncio.sleep(0.1)
        assert runs.calls == 0  # nothing right at start
        for _ in range(100):
            if runs.calls >= 3:
                break
            await asyncio.sleep(0.05)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    assert runs.calls >= 3  # down, then claimed, then taken
    assert len(posted) == 1
    assert "review digest skipped: database unavailable" in caplog.text
