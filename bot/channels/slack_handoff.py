"""The sales team's side of a handoff in Slack: "Take it" and "Close" on the thread's first post,
and the team's messages in the thread (to the prospect, or internal with `note:`).

Every decision is `HandoffDesk`'s; this module only turns Slack requests into its calls. The
handoff is always found from the inbound request itself (the thread a message was written
in; the button's value, checked against the message it was on), never from shared state, so
one prospect's reply cannot land in another's conversation. Requests come through
`SlackService`'s de-duplication (`_once`), so a retried event is handled once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any, Protocol

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters import slack_handoff
from bot.adapters.slack import PERSON_SUBTYPES, escape
from bot.adapters.slack_desk import person
from bot.core.handoff import HandoffDesk
from bot.core.ports import Handoffs
from bot.core.records import Handoff
from intents.knowledge import KnowledgeBase

log = logging.getLogger(__name__)

# What slack-manifest.yml must subscribe to for this (beside bot.channels.slack.EVENTS):
# messages in the sales channel's threads, public or private.
EVENTS = ("message.channels", "message.groups")
NAMES_TTL = 300.0  # seconds a consultant's display name is trusted
Claimed = Callable[[AsyncBoltContext], Awaitable[bool]]
Background = Callable[[Coroutine[Any, Any, None], AsyncBoltContext], Awaitable[None]]
Ack = Callable[..., Awaitable[None]]


class Team(Protocol):
    """Who is on the sales team (`bot.channels.slack.SalesTeam`)."""

    async def has(self, user_id: str) -> bool:
        """Whether `user_id` is on the team."""
        ...


class SalesThreads:
    """Take it, Close, and the consultants' messages in the threads of the sales channel."""

    def __init__(
        self,
        desk: HandoffDesk,
        handoffs: Handoffs,
        knowledge: KnowledgeBase,
        client: AsyncWebClient,
        *,
        team: Team,
        channel: str,
        clock: Callable[[], float] = lambda: asyncio.get_running_loop().time(),
    ) -> None:
        self._desk = desk
        self._handoffs = handoffs
        self._knowledge = knowledge
        self._client = client
        self._team = team
        self._channel = channel
        self._clock = clock
        self._names: dict[str, tuple[str, float]] = {}

    def register(self, app: AsyncApp, claimed: Claimed, background: Background) -> None:
        """Add the listeners; before the app's own `message` listener, which answers DMs."""

        async def in_a_thread(event: dict[str, Any]) -> bool:
            return self._in_a_thread(event)

        async def on_message(event: dict[str, Any], context: AsyncBoltContext) -> None:
            await background(self._said(event, context, claimed), context)

        async def on_take(ack: Ack, body: dict[str, Any], context: AsyncBoltContext) -> None:
            await ack()
            await background(self._take(body, context, claimed), context)

        async def on_close(ack: Ack, body: dict[str, Any], context: AsyncBoltContext) -> None:
            await ack()
            await background(self._close(body, context, claimed), context)

        async def mentioned(event: dict[str, Any], context: AsyncBoltContext) -> None:
            # "@Lingang Bot" in a sales thread is the team talking (its `message` event is
            # the one relayed): the bot does not answer it as if it were a prospect. Through
            # `background` all the same, so its delivery is marked answered in the inbox.
            async def ignored() -> None:
                log.debug("a mention in a sales thread is not answered")

            await background(ignored(), context)

        app.event("message", matchers=[in_a_thread])(on_message)
        app.event("app_mention", matchers=[in_a_thread])(mentioned)
        app.action(slack_handoff.TAKE)(on_take)
        app.action(slack_handoff.CLOSE)(on_close)

    def _in_a_thread(self, event: Mapping[str, Any]) -> bool:
        """A reply in a thread of the sales channel (not the thread's first message)."""
        thread = event.get("thread_ts")
        return event.get("channel") == self._channel and bool(thread) and thread != event.get("ts")

    # -- messages in the thread -------------------------------------------------------------

    async def _said(
        self, event: dict[str, Any], context: AsyncBoltContext, claimed: Claimed
    ) -> None:
        user = event.get("user")
        if not user or event.get("bot_id") or event.get("subtype") not in PERSON_SUBTYPES:
            return
        if not await claimed(context):
            return
        channel, thread = str(event["channel"]), str(event["thread_ts"])
        handoff = await asyncio.to_thread(self._handoffs.by_thread, channel, thread)
        if handoff is None:
            return  # a thread of something else (a lead card, a conversation among the team)
        text = str(event.get("text") or "")
        catalog = self._knowledge.current.catalog
        said = await asyncio.to_thread(self._desk.rep_said, catalog, handoff, str(user), text)
        if said == "not_holder":
            texts = self._knowledge.current.catalog.sales.handoff.texts
            hint = texts.take_first if handoff.open else texts.not_open
            await self._privately(channel, str(user), hint, thread)

    async def _privately(self, channel: str, user: str, text: str, thread: str | None) -> None:
        message = slack_handoff.hint(text)
        try:
            await self._client.chat_postEphemeral(
                channel=channel, user=user, thread_ts=thread, **message.body()
            )
        except SlackApiError as exc:
            log.warning("hint not shown: %s", exc.response.get("error"))

    # -- the buttons ------------------------------------------------------------------------

    async def _pressed(
        self, body: dict[str, Any], context: AsyncBoltContext, claimed: Claimed
    ) -> tuple[Handoff, str] | None:
        """The handoff of the pressed post (checked against the post it was on) and who
        pressed, when they are on the sales team."""
        if not await claimed(context):
            return None
        action = (body.get("actions") or [{}])[0]
        user = str((body.get("user") or {}).get("id", ""))
        value = str(action.get("value", ""))
        container = body.get("container") or {}
        channel, ts = str(container.get("channel_id", "")), str(container.get("message_ts", ""))
        if not value.isdigit() or not user:
            return None
        handoff = await asyncio.to_thread(self._handoffs.get, int(value))
        if handoff is None or (handoff.thread_channel, handoff.thread_ts) != (channel, ts):
            return None
        if not await self._team.has(user):
            desk = self._knowledge.current.catalog.sales
            title = str((action.get("text") or {}).get("text") or "")
            await self._privately(channel, user, desk.texts.refused.format(command=title), ts)
            return None
        return handoff, user

    async def _take(
        self, body: dict[str, Any], context: AsyncBoltContext, claimed: Claimed
    ) -> None:
        pressed = await self._pressed(body, context, claimed)
        if pressed is None:
            return
        handoff, user = pressed
        texts = self._knowledge.current.catalog.sales.handoff.texts
        name = await self._name(user)
        taken = await asyncio.to_thread(self._desk.claim, handoff.id, user, name)
        if taken is not None:
            await self._show(body, handoff, texts.taken.format(rep=person(user)), open_=True)
            return
        now = await asyncio.to_thread(self._handoffs.get, handoff.id)
        if now is not None and now.open and now.claimed_by:
            line = texts.taken_already.format(rep=person(now.claimed_by))
            await self._show(body, handoff, line, open_=True)
        else:
            await self._show(body, handoff, escape(texts.ended), open_=False)

    async def _close(
        self, body: dict[str, Any], context: AsyncBoltContext, claimed: Claimed
    ) -> None:
        pressed = await self._pressed(body, context, claimed)
        if pressed is None:
            return
        handoff, user = pressed
        texts = self._knowledge.current.catalog.sales.handoff.texts
        closed = await asyncio.to_thread(self._desk.close, handoff.id, "rep")
        line = texts.closed_by.format(rep=person(user)) if closed else escape(texts.ended)
        await self._show(body, handoff, line, open_=False)

    async def _show(
        self, body: dict[str, Any], handoff: Handoff, line: str, *, open_: bool
    ) -> None:
        """The first post brought up to date after a press."""
        message = body.get("message") or {}
        desk = self._knowledge.current.catalog.sales
        blocks = slack_handoff.after_press(
            message.get("blocks") or [], handoff.id, desk, line, open_=open_
        )
        try:
            await self._client.chat_update(
                channel=str(handoff.thread_channel),
                ts=str(handoff.thread_ts),
                text=str(message.get("text") or line),
                blocks=blocks,
            )
        except SlackApiError as exc:
            log.warning("handoff post not updated: %s", exc.response.get("error"))

    async def _name(self, user: str) -> str:
        """The consultant's display name (users.info, kept a few minutes); their id if Slack
        does not say."""
        known = self._names.get(user)
        if known is not None and self._clock() - known[1] < NAMES_TTL:
            return known[0]
        try:
            answer = await self._client.users_info(user=user)
        except SlackApiError as exc:
            log.warning("users.info failed: %s", exc.response.get("error"))
            return known[0] if known else user
        found = answer.get("user") or {}
        profile = found.get("profile") or {}
        name = str(
            profile.get("display_name")
            or profile.get("real_name")
            or found.get("real_name")
            or found.get("name")
            or user
        )
        self._names[user] = (name, self._clock())
        return name
