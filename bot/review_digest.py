"""The weekly list of answers to review, posted to the team's Slack channel.

Once a week, from Monday 09:00 in Shanghai (or the first check after it that week), one replica
of many posts what is expired, overdue or due soon. Which one is settled in the database
(`PeriodicRuns.claim` of the ISO week), so the channel gets one list a week however many
replicas run. The post goes through `SlackService.send`: when Slack does not take it, the
message is kept in the database and sent again later, so a claimed week is not lost.
A week with nothing to review is not claimed: if an answer falls due later that week (its
`valid_until` passes on a Wednesday), the list goes out then.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from bot.adapters.slack import MAX_SECTION, Place, SlackMessage, escape
from bot.adapters.splitting import chunks
from bot.channels.slack import SlackService
from bot.config import Settings
from bot.core.ports import PeriodicRuns, StorageUnavailable
from intents.catalog import Catalog
from intents.knowledge import KnowledgeBase
from intents.review import SHANGHAI, ReviewState, counts, review_states

log = logging.getLogger(__name__)

JOB = "review_digest"
POST_WEEKDAY = 0  # Monday
POST_HOUR = 9  # from 09:00 in Shanghai
CHECK_SECONDS = 600.0  # how often a running web app asks whether it is time
MAX_LISTED = 50  # answers named in one post; the review page has them all
PAGE = "/admin/review"

Clock = Callable[[], datetime]
Post = Callable[[SlackMessage], Awaitable[bool]]


def week_due(moment: datetime) -> str | None:
    """The ISO week ("2026-W50") whose digest is due at `moment`, or None before Monday
    09:00 (Shanghai), when last week's was the last one due."""
    local = moment.astimezone(SHANGHAI)
    if local.weekday() == POST_WEEKDAY and local.hour < POST_HOUR:
        return None
    year, week, _ = local.isocalendar()
    return f"{year}-W{week:02d}"


def _line(catalog: Catalog, state: ReviewState) -> str:
    texts = catalog.sales.texts
    title = escape(catalog.intent(state.intent_id).title.en)
    name = f"`{state.intent_id}` ({title})"
    if state.status == "expired":
        return texts.review_expired.format(name=name, valid_until=state.valid_until)
    if state.reviewed is None:
        return texts.review_never.format(name=name)
    if state.status == "overdue":
        return texts.review_overdue.format(name=name, review_due=state.review_due)
    if state.ends:
        return texts.review_ends_soon.format(name=name, valid_until=state.valid_until)
    return texts.review_due_soon.format(name=name, review_due=state.review_due)


def digest_message(catalog: Catalog, states: Sequence[ReviewState], on: date) -> SlackMessage:
    """The post: how many of each, then the most urgent answers, one a line (the words are
    in `sales.yaml`)."""
    tally = counts(states)
    texts = catalog.sales.texts
    heading = texts.review_heading.format(
        on=on,
        expired=tally["expired"],
        overdue=tally["overdue"],
        due_soon=tally["due_soon"],
        page=PAGE,
    )
    lines = [_line(catalog, state) for state in states[:MAX_LISTED]]
    if len(states) > MAX_LISTED:
        lines.append(texts.review_more.format(count=len(states) - MAX_LISTED))
    text = "\n".join([heading, "", *lines])
    blocks = tuple(
        {"type": "section", "text": {"type": "mrkdwn", "text": piece}}
        for piece in chunks(text, MAX_SECTION)
    )
    return SlackMessage(heading, blocks)


def _replica() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True, slots=True)
class ReviewDigest:
    """Posts the weekly review list; `run_once` is safe to call as often as one likes."""

    knowledge: KnowledgeBase
    runs: PeriodicRuns
    post: Post
    clock: Clock = lambda: datetime.now(UTC)
    replica: str = field(default_factory=_replica)

    async def run_once(self) -> str:
        """Post this week's list if it is due, something is to review and no replica has
        posted it yet; what happened ("early", "nothing due", "taken", "posted", "kept")."""
        now = self.clock()
        week = week_due(now)
        if week is None:
            return "early"
        catalog = self.knowledge.current.catalog
        on = now.astimezone(SHANGHAI).date()
        states = review_states(catalog, on)
        if not states:
            return "nothing due"
        if not await asyncio.to_thread(self.runs.claim, JOB, week, self.replica, now):
            return "taken"
        message = digest_message(catalog, states, on)
        try:
            posted = await self.post(message)
        except Exception:
            log.exception("review digest of %s claimed but not posted: the week is lost", week)
            return "failed"
        if not posted:
            log.warning("review digest of %s not taken by Slack: kept, to be sent again", week)
            return "kept"
        log.info("review digest of %s posted: %d answers to review", week, len(states))
        return "posted"

    async def keep_posting(self, seconds: float = CHECK_SECONDS) -> None:
        """Check every `seconds` until cancelled, the first time only after `seconds`: a
        process that runs for a moment (a test, a one-off command, a crash loop) posts
        nothing. A failure is logged, not fatal."""
        while True:
            await asyncio.sleep(seconds)
            try:
                await self.run_once()
            except StorageUnavailable:
                log.warning("review digest skipped: database unavailable")
            except Exception:
                log.exception("review digest failed")


def slack_digest(
    settings: Settings,
    knowledge: KnowledgeBase,
    runs: PeriodicRuns,
    slack: SlackService | None,
) -> ReviewDigest | None:
    """The digest to the admin channel (`SLACK_ADMIN_CHANNEL`), else the sales channel, when
    Slack and one of them are configured; else None."""
    channel = settings.slack_admin_channel or settings.slack_sales_channel
    if slack is None or channel is None:
        return None

    async def post(message: SlackMessage) -> bool:
        return await slack.send(Place(channel), "", message)

    return ReviewDigest(knowledge, runs, post)
