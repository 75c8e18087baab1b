"""The handoff relay: delivers what `Handoffs.due()` hands out, each item once, in order per
handoff and direction, from any number of replicas.

`to_thread` items go to the handoff's thread in the sales channel (the first post, what the
prospect wrote, the bot's notices, deleting our posts after an erasure); `to_prospect` items
go to the prospect on their own platform, and into the conversation's transcript, so the lead
keeps the human part of the conversation (and the web chat, which has no push, shows it).

Guarantees: an item is leased by one replica at a time (`due`), so nothing is sent twice in
normal operation; it is settled (`relayed`) only after the platform took it, so nothing is lost
on a restart (a crash between the two sends it again: at least once). A rate limit, a 5xx or a
network error reschedules the item (after `Retry-After` when given); a prospect who cannot be
reached (blocked the bot, chat gone) settles it as failed and is reported in the thread at once.
Items of one destination are sent one after another, destinations side by side.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from bot.adapters import slack_handoff
from bot.channels.handoff_delivery import ProspectChannel, SlackPoster, TryLater, Unreachable
from bot.core.handoff import notice_buttons, notice_text
from bot.core.messages import Language, Reply
from bot.core.ports import LEASE, Handoffs, LeadRepository, StorageUnavailable, TranscriptLog
from bot.core.records import Handoff, Lead, LeadFilter, RelayDraft, RelayItem, TranscriptEntry
from intents.knowledge import KnowledgeBase

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
FIRST_RETRY = timedelta(seconds=5)
LAST_RETRY = timedelta(minutes=10)
ROUNDS = 5  # `due` gives one item per handoff and direction: take a few rounds per run
# How long a replica holds the items it took: a replica that dies holding some delays them
# this long (another one takes them then).
RELAY_LEASE = LEASE
# Transcript entries of relayed messages are marked in `intent_id`: `handoff:rep:<lang>` for a
# consultant's words, `handoff:<notice>:<lang>` for a notice (the web chat re-creates its
# buttons from the name).
MARK = "handoff:"
REP = "rep"


def mark(notice: str | None, language: str) -> str:
    """The transcript mark of a relayed message (a notice's name, or None for the rep)."""
    return f"{MARK}{notice or REP}:{language}"


def unmark(intent_id: str | None) -> tuple[str | None, str] | None:
    """The notice (None: the consultant's words) and language of a relayed message, or None
    when the entry is not one."""
    if not intent_id or not intent_id.startswith(MARK):
        return None
    name, _, lang = intent_id.removeprefix(MARK).partition(":")
    return (None if name == REP else name), lang or "en"


class HandoffRelay:
    """Moves relay items to the sales thread and to prospects."""

    def __init__(
        self,
        handoffs: Handoffs,
        knowledge: KnowledgeBase,
        leads: LeadRepository,
        transcripts: TranscriptLog,
        *,
        slack: SlackPoster,
        sales_channel: str,
        prospects: Mapping[str, ProspectChannel],
        clock: Clock = lambda: datetime.now(UTC),
        lease: timedelta | None = None,
    ) -> None:
        self._handoffs = handoffs
        self._knowledge = knowledge
        self._leads = leads
        self._transcripts = transcripts
        self._slack = slack
        self._sales_channel = sales_channel
        self._prospects = dict(prospects)
        self._clock = clock
        self._lease = lease or RELAY_LEASE
        self._sending: set[asyncio.Future[bool]] = set()

    async def run_once(self, limit: int = 20) -> int:
        """Deliver what is due (a few rounds, so a burst does not wait for the next run);
        how many items were settled as delivered."""
        delivered = 0
        for _ in range(ROUNDS):
            claimed_at = self._clock()
            items = await asyncio.to_thread(self._handoffs.due, claimed_at, limit, self._lease)
            if not items:
                break
            lanes: dict[str, list[RelayItem]] = defaultdict(list)
            for item in items:
                lanes[f"{item.direction}:{item.handoff_id}"].append(item)
            done = await asyncio.gather(*(self._lane(lane, claimed_at) for lane in lanes.values()))
            delivered += sum(done)
        return delivered

    async def finish(self, grace: float) -> None:
        """At shutdown, after the loop was cancelled: let the items being sent settle, so a
        message that went out is not sent again by the next replica."""
        if self._sending:
            await asyncio.wait(list(self._sending), timeout=grace)

    async def _lane(self, items: list[RelayItem], claimed_at: datetime) -> int:
        delivered = 0
        margin = self._lease / 3  # leave an item alone this close to its lease's end
        for item in items:
            if self._clock() >= claimed_at + self._lease - margin:
                break  # another replica may have it by now; it is due again anyway
            # Shielded: cancelling the loop (shutdown) does not cut a send from its settling.
            sending = asyncio.ensure_future(self._one(item))
            self._sending.add(sending)
            sending.add_done_callback(self._sending.discard)
            try:
                if await asyncio.shield(sending):
                    delivered += 1
            except StorageUnavailable:
                log.warning("relay item %d: database unavailable; tried again later", item.id)
            except Exception:  # a bug must not stop the lane, nor hold the item forever
                log.exception("relay item %d failed", item.id)
                await self._later(item, "unexpected error")
        return delivered

    async def _later(self, item: RelayItem, error: str) -> None:
        """Try the item again after a backoff (best effort: its lease runs out anyway)."""
        wait = min(FIRST_RETRY * 2**item.attempts, LAST_RETRY)
        with contextlib.suppress(StorageUnavailable):
            await asyncio.to_thread(
                self._handoffs.relay_failed, item.id, error, self._clock() + wait
            )

    async def _one(self, item: RelayItem) -> bool:
        """Deliver one item and settle it; whether it was delivered."""
        handoff = await asyncio.to_thread(self._handoffs.get, item.handoff_id)
        try:
            posted: str | None = None
            if handoff is not None and item.direction == "to_thread":
                posted = await self._to_thread(item, handoff)
            elif handoff is not None:
                await self._to_prospect(item, handoff)
        except TryLater as exc:
            wait = (
                timedelta(seconds=exc.retry_after)
                if exc.retry_after is not None
                else min(FIRST_RETRY * 2**item.attempts, LAST_RETRY)
            )
            log.warning("relay item %d not delivered (%s); again in %s", item.id, exc.error, wait)
            await asyncio.to_thread(
                self._handoffs.relay_failed, item.id, exc.error, self._clock() + wait
            )
            return False
        except Unreachable as exc:
            log.warning("relay item %d cannot be delivered: %s", item.id, exc.error)
            await asyncio.to_thread(self._handoffs.relay_failed, item.id, exc.error, None)
            if handoff is not None and item.direction == "to_prospect":
                report = RelayDraft(
                    "to_thread",
                    "notice",
                    notice=slack_handoff.UNDELIVERABLE,
                    params={"reason": exc.reason},
                )
                await asyncio.to_thread(self._handoffs.relay, handoff.id, [report], self._clock())
            return False
        await asyncio.to_thread(self._handoffs.relayed, item.id, self._clock(), posted)
        return True

    # -- the thread ------------------------------------------------------------------------

    async def _to_thread(self, item: RelayItem, handoff: Handoff) -> str | None:
        """Post (or delete) in the thread; the ts of our new post, if any."""
        desk = self._knowledge.current.catalog.sales
        if item.kind == "delete":
            channel = item.params.get("channel") or handoff.thread_channel
            if channel and item.target_ts:
                await self._slack.delete(channel, item.target_ts)
            return None
        if handoff.close_reason == "erased" and item.kind in ("open", "text"):
            return None  # erased before it went out: nothing of theirs goes to Slack
        if item.kind == "open":
            return await self._open(handoff)
        if handoff.thread_ts is None or handoff.thread_channel is None:
            raise Unreachable("gone", "the thread was never opened")
        if item.kind == "text":
            if not item.text:
                return None  # redacted (the prospect erased their data) before it went out
            message = slack_handoff.prospect_said(item.text, desk)
        else:
            found = slack_handoff.notice(item.notice or "", item.params, desk)
            if found is None:
                raise Unreachable("refused", f"no words for the notice {item.notice!r}")
            message = found
        return await self._slack.post(handoff.thread_channel, message, handoff.thread_ts)

    async def _open(self, handoff: Handoff) -> str:
        catalog = self._knowledge.current.catalog
        lead = await asyncio.to_thread(self._lead_of, handoff)
        said = await asyncio.to_thread(
            self._transcripts.conversation, handoff.channel, handoff.conversation_id
        )
        message = slack_handoff.opening(handoff, lead, said, catalog.sales, catalog.lead_form)
        ts = await self._slack.post(self._sales_channel, message)
        await asyncio.to_thread(self._handoffs.threaded, handoff.id, self._sales_channel, ts)
        return ts

    def _lead_of(self, handoff: Handoff) -> Lead | None:
        """The prospect's lead (they consented to share it with sales), if they have one."""
        if handoff.lead_id is not None:
            return self._leads.get(handoff.lead_id)
        found = self._leads.find(
            LeadFilter(channel=handoff.channel, user_id=handoff.user_id, limit=1)
        )
        return found[0] if found else None

    # -- the prospect ----------------------------------------------------------------------

    async def _to_prospect(self, item: RelayItem, handoff: Handoff) -> None:
        """Send to the prospect and add it to the transcript."""
        if handoff.close_reason == "erased" or (item.kind == "text" and not item.text):
            return  # the prospect erased their data meanwhile: nothing more goes to them
        channel = self._prospects.get(handoff.channel)
        if channel is None:
            raise Unreachable("refused", f"no way to reach {handoff.channel} prospects here")
        reply = self._reply(item, handoff)
        await channel.deliver(handoff, reply)
        entry = TranscriptEntry(
            handoff.channel,
            handoff.conversation_id,
            handoff.user_id,
            "out",
            reply.text,
            self._clock(),
            intent_id=mark(item.notice if item.kind == "notice" else None, handoff.language),
        )
        await asyncio.to_thread(self._transcripts.append, [entry])

    def _reply(self, item: RelayItem, handoff: Handoff) -> Reply:
        catalog = self._knowledge.current.catalog
        lang: Language = "zh" if handoff.language == "zh" else "en"
        if item.kind == "text":
            said = catalog.sales.handoff.texts.rep_says.format(
                name=handoff.rep_name or "", text=item.text or ""
            )
            return Reply(said, kind="notice")
        name = item.notice or ""
        text = notice_text(catalog, name, lang, dict(item.params))
        return Reply(text, notice_buttons(catalog, name, lang), kind="notice")
