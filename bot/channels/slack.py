"""The Slack connection: slack-bolt's async app for events, buttons and slash commands (HTTP at
`POST /slack/events`, or Socket Mode), the adapters for translation, the engine for every
decision, and the sales desk for the team.

Guarantees: every request is acknowledged before the work is done (Slack wants an answer within
3 s); every event, press and command is kept (its whole body) before it is acknowledged or
handled: a global middleware stores it in the inbox, or in the spool the replicas share while
the database is down, before slack-bolt's listener runner acknowledges it (`bot.channels.inbox`).
A retry (or a second delivery to another replica) is acknowledged and dropped; one that can be
kept nowhere gets a 503, so Slack sends it again; one whose replica died before answering it is
dispatched again through the same listeners by another replica (`recover`). Web API calls retry
429s after `Retry-After` and connection errors; a reply that still fails is kept in the
database and sent again later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters import slack_desk
from bot.adapters.slack import (
    CHANNEL,
    Identity,
    Place,
    SlackMessage,
    action_blocks,
    action_to_incoming,
    command_to_incoming,
    escape,
    event_to_incoming,
    pressed,
    pressed_title,
    render,
)
from bot.channels.inbox import INBOX_LEASE, ClaimsOnly, Intake, Ticket, Unkept
from bot.channels.slack_handoff import SalesThreads
from bot.channels.spool import DeliverySpool, private_spool
from bot.core.answers import answer
from bot.core.engine import FEEDBACK, Engine
from bot.core.handoff import HandoffDesk
from bot.core.messages import Incoming, Reply
from bot.core.ports import (
    Delivery,
    DeliveryLog,
    Handoffs,
    LeadRepository,
    OutgoingQueue,
    PlatformErrors,
    StorageUnavailable,
    Transactions,
    TranscriptLog,
)
from bot.core.records import LEAD_STATUSES, LeadFilter, LeadStatus, OutgoingMessage
from intents.knowledge import KnowledgeBase
from intents.sales import SALES_ACTIONS, SalesAction
from intents.text import guess_language

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
CLAIM_BUDGET = 2.0  # seconds keeping a delivery may take before it is acknowledged anyway
KEEP_RETRY = timedelta(minutes=1)
LAST_RETRY = timedelta(hours=1)
POST_ACTION = "lingang-post"  # the "post to the channel" button of /lingang's private answer
SALES_ACTION = re.compile(r"^sales:")
MEMBERS_TTL = 60.0  # seconds a sales-team membership list is trusted
LIST_LIMIT = 15
# What slack-manifest.yml must subscribe to and declare (a test holds the two together).
COMMANDS = ("/lingang", "/leads", "/lead")
EVENTS = ("app_mention", "message.im")
STATUS_OF: dict[SalesAction, LeadStatus] = {
    "contacted": "contacted",
    "qualified": "qualified",
    "lost": "lost",
}


class TakenOver(Exception):
    """Another replica replays the delivery now (this one's lease ended): leave it to it."""


@dataclass(frozen=True, slots=True)
class Taking:
    """The delivery a listener works on: its body, and the taking-in of it (a ticket, or
    None for a delivery taken in before)."""

    body: dict[str, Any]
    taken: asyncio.Future[Ticket | None]

    def ticket(self) -> Ticket | None:
        """The ticket, once the delivery is kept (None before, or if it was not new)."""
        if not self.taken.done() or self.taken.cancelled() or self.taken.exception():
            return None
        return self.taken.result()


# The delivery a listener's task works on: from bolt's context (`_in_background`), or set by
# `_replay` before it dispatches a kept delivery again.
DELIVERY: ContextVar[Taking | None] = ContextVar("slack_delivery", default=None)
TAKING = "lingang_taking"  # the key of the `Taking` in bolt's context


def retrying_client(token: str | None, base_url: str) -> AsyncWebClient:
    """A Web API client that waits out 429s (`Retry-After`) and retries connection errors."""
    client = AsyncWebClient(token=token, base_url=base_url)
    client.retry_handlers = [
        AsyncConnectionErrorRetryHandler(max_retry_count=2),
        AsyncRateLimitErrorRetryHandler(max_retry_count=3),
    ]
    return client


def failure_reason(exc: Exception) -> str:
    """What a failed Web API call counts as: rate_limited, server_error, refused or network."""
    if not isinstance(exc, SlackApiError):
        return "network"
    status = int(getattr(exc.response, "status_code", 200))
    if status == 429:
        return "rate_limited"
    return "server_error" if status >= 500 else "refused"


def delivery_key(body: dict[str, Any]) -> str | None:
    """What makes a request unique: the event id, or the trigger of a press or a command."""
    if body.get("type") == "event_callback" and body.get("event_id"):
        return str(body["event_id"])
    if body.get("type") == "block_actions":
        action = (body.get("actions") or [{}])[0]
        return f"action:{body.get('trigger_id') or action.get('action_ts')}"
    if body.get("command") and body.get("trigger_id"):
        return f"command:{body['trigger_id']}"
    return None


class SalesTeam:
    """Who may use the sales desk: the members of the sales channel and of a user group."""

    def __init__(
        self,
        client: AsyncWebClient,
        channel: str | None,
        usergroup: str | None,
        clock: Callable[[], float] = lambda: asyncio.get_running_loop().time(),
    ) -> None:
        self._client = client
        self.channel = channel
        self._usergroup = usergroup
        self._clock = clock
        self._members: frozenset[str] = frozenset()
        self._fetched = float("-inf")

    @property
    def configured(self) -> bool:
        """Whether a sales channel or user group is set."""
        return self.channel is not None or self._usergroup is not None

    async def has(self, user_id: str) -> bool:
        """Whether `user_id` is on the team (lists are re-read at most once a minute)."""
        if self._clock() - self._fetched > MEMBERS_TTL:
            self._members = await self._fetch()
            self._fetched = self._clock()
        return user_id in self._members

    async def _fetch(self) -> frozenset[str]:
        members: set[str] = set()
        if self.channel is not None:
            cursor = None
            while True:
                page = await self._client.conversations_members(
                    channel=self.channel, cursor=cursor, limit=1000
                )
                members.update(page.get("members") or [])
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    break
        if self._usergroup is not None:
            listed = await self._client.usergroups_users_list(usergroup=self._usergroup)
            members.update(listed.get("users") or [])
        return frozenset(members)


class SlackService:
    """One Slack app: prospects' conversations and the sales team's desk."""

    def __init__(
        self,
        engine: Engine,
        knowledge: KnowledgeBase,
        leads: LeadRepository,
        transcripts: TranscriptLog,
        queue: OutgoingQueue,
        *,
        token: str,
        base_url: str,
        signing_secret: str | None,
        app_token: str | None,
        sales_channel: str | None = None,
        sales_usergroup: str | None = None,
        clock: Clock = lambda: datetime.now(UTC),
        errors: PlatformErrors | None = None,
        handoff: tuple[HandoffDesk, Handoffs] | None = None,
        inbox: DeliveryLog | None = None,
        spool: DeliverySpool | None = None,
        lease: timedelta = INBOX_LEASE,
        units: Transactions | None = None,
    ) -> None:
        """`inbox` and `spool` keep deliveries until they are answered (`bot.channels.inbox`);
        without them, deliveries are only claimed through the engine, and spooled in a folder
        of this process. `units` makes each delivery's turn one transaction."""
        self._engine = engine
        self._knowledge = knowledge
        self._leads = leads
        self._transcripts = transcripts
        self._queue = queue
        self._clock = clock
        self._errors = errors
        self._app_token = app_token
        self.client = retrying_client(token, base_url)
        self.socket_mode = app_token is not None
        self._token = token
        self._session: aiohttp.ClientSession | None = None  # from `start` to `stop`

        async def authorize(
            enterprise_id: str | None, team_id: str | None, user_id: str | None
        ) -> AuthorizeResult:  # slack-bolt passes arguments by these names
            return await self._authorize(enterprise_id, team_id, user_id)

        self.app = AsyncApp(
            # No token here: `_authorize` hands slack-bolt the token and who the bot is, so
            # that it never calls auth.test on a request (and drops the request when Slack's
            # API is down at that moment).
            client=retrying_client(None, base_url),
            authorize=authorize,
            signing_secret=signing_secret or "",
            # Its own check would repeat ours: every HTTP request is verified before bolt sees
            # it (bot.web.slack_events); Socket Mode and replays of kept deliveries are not
            # HTTP, and bolt checks no signature on them either.
            request_verification_enabled=False,
            ignoring_self_events_enabled=True,
            # No listener takes the assistant's kwargs (say_stream, set_status ...), which
            # bolt would otherwise build for every direct message.
            attaching_conversation_kwargs_enabled=False,
        )
        self.team = SalesTeam(self.client, sales_channel, sales_usergroup)
        # Conversations handed to the sales team: their threads (bot.channels.slack_handoff).
        self._threads = (
            SalesThreads(*handoff, knowledge, self.client, team=self.team, channel=sales_channel)
            if handoff is not None and sales_channel is not None
            else None
        )
        self._handler: AsyncSocketModeHandler | None = None
        self._me = Identity("", "")
        self._work: set[asyncio.Task[Any]] = set()
        self._intake = Intake(
            CHANNEL,
            inbox or ClaimsOnly(engine.claim),
            spool or private_spool(),
            clock=clock,
            lease=lease,
            units=units,
        )
        self._wire()

    # -- life cycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Learn who the bot is (auth.test); in Socket Mode, connect.

        When Slack's API cannot be reached now, the bot starts all the same (Telegram and the
        web chat need no Slack) and asks again with the next Slack request.
        """
        self._connect()
        try:
            await self._identify()
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("slack auth.test failed (%s); asking again later", failure_reason(exc))
        if self._app_token is not None:
            self._handler = AsyncSocketModeHandler(self.app, self._app_token)
            await self._handler.connect_async()  # type: ignore[no-untyped-call]
        log.info("slack app started (%s)", "socket mode" if self.socket_mode else "http")

    def _connect(self) -> None:
        """One HTTP session for every Web API call of the service, so that calls reuse its
        kept-alive connections (slack_sdk opens a session, and a connection, per call
        otherwise); slack-bolt's per-request clients take the session of its client."""
        if self._session is None or self._session.closed:
            timeout = aiohttp.ClientTimeout(total=self.client.timeout)
            self._session = aiohttp.ClientSession(timeout=timeout)
            self.client.session = self._session
            self.app.client.session = self._session

    async def _identify(self) -> Identity:
        """Who the bot is, from auth.test once it has answered."""
        if not self._me.user_id:
            who = await self.client.auth_test()
            self._me = Identity(str(who.get("user_id", "")), str(who.get("bot_id", "")))
        return self._me

    async def _authorize(
        self, enterprise_id: str | None, team_id: str | None, user_id: str | None
    ) -> AuthorizeResult:
        """slack-bolt's `authorize`: this workspace's bot token and the bot's ids."""
        me = await self._identify()
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id,
            bot_user_id=me.user_id,
            bot_id=me.bot_id,
            bot_token=self._token,
            user_id=user_id,
        )

    async def stop(self, grace: float = 20.0) -> None:
        """Stop receiving, then let the work in hand finish."""
        if self._handler is not None:
            await self._handler.close_async()  # type: ignore[no-untyped-call]
        if self._work:
            await asyncio.wait(list(self._work), timeout=grace)
        await self._intake.close()
        if self._session is not None:
            await self._session.close()

    def _wire(self) -> None:
        app = self.app
        app.middleware(self._once)
        if self._threads is not None:  # before the DM listener: the first match takes it
            self._threads.register(app, self._claimed, self._in_background)
        app.event("message")(self._on_event)
        app.event("app_mention")(self._on_event)
        app.action(re.compile(r"^lingang:"))(self._on_press)
        app.action(POST_ACTION)(self._on_post)
        app.action(SALES_ACTION)(self._on_sales_press)
        ask, leads, lead = COMMANDS
        app.command(ask)(self._on_ask)
        app.command(leads)(self._on_leads)
        app.command(lead)(self._on_lead)

    async def _in_background(
        self, work: Coroutine[Any, Any, None], context: AsyncBoltContext
    ) -> None:
        """Run a listener's work, known to `stop`, so that shutdown waits for it; once it is
        done, its delivery (which `_once` put in the `context`) is marked answered."""
        task = asyncio.current_task()
        if task is not None:
            self._work.add(task)
        taking: Taking | None = context.get(TAKING)
        if taking is not None:
            # In the listener's own task: slack-bolt runs it after the middleware returned.
            DELIVERY.set(taking)
        try:
            await work
            ticket = taking.ticket() if taking is not None else None
            if taking is not None and ticket is not None:
                body = taking.body
                await self._intake.mark_answered(ticket, lambda: body)
        except TakenOver:
            log.warning("slack delivery taken over by another replica")
        finally:
            if task is not None:
                self._work.discard(task)

    # -- receiving: once per delivery -------------------------------------------------------

    async def _once(
        self,
        body: dict[str, Any],
        context: AsyncBoltContext,
        resp: BoltResponse,
        next: Callable[[], Awaitable[None]],
    ) -> BoltResponse:
        """Keep the delivery before it is acknowledged and handled; a repeat is acknowledged
        and dropped, one that can be kept nowhere refused (503: Slack sends it again)."""
        key = delivery_key(body)
        replayed = DELIVERY.get()
        if key is None or replayed is not None:  # not a delivery, or a replay
            context[TAKING] = replayed
            await next()
            return resp
        taken = asyncio.ensure_future(asyncio.to_thread(self._intake.take, key, body))
        try:
            ticket = await asyncio.wait_for(asyncio.shield(taken), CLAIM_BUDGET)
        except TimeoutError:
            # The database is slow: acknowledge in time, and let the listener wait for it.
            ticket = None
        except Unkept:
            return BoltResponse(status=503, body="")
        else:
            if ticket is None:
                log.info("duplicate slack delivery dropped")
                return BoltResponse(status=200, body="")
        # For the listener (`_in_background`): slack-bolt runs it once every middleware has
        # returned, so a context variable set here would not reach it; bolt's context does.
        context[TAKING] = Taking(body, taken)
        await next()
        return resp

    @staticmethod
    async def _claimed(context: AsyncBoltContext) -> bool:
        """Whether this listener answers its delivery: waits for a taking-in still in
        progress at the acknowledgement (the database was slow)."""
        taking = DELIVERY.get()
        if taking is None:
            return True
        try:
            ticket = await taking.taken
        except Unkept:
            return True  # acknowledged already: answer rather than lose it
        return ticket is not None

    async def recover(self) -> int:
        """Dispatch again, through the same listeners, the deliveries whose replica kept but
        did not answer them (and file those spooled while the database was down); how many
        were taken up."""
        due = await asyncio.to_thread(self._intake.recover)
        for delivery in due:
            log.info("replaying slack delivery (attempt %d)", delivery.attempt)
            task = asyncio.create_task(self._replay(delivery))
            self._work.add(task)
            task.add_done_callback(self._work.discard)
        return len(due)

    async def _replay(self, delivery: Delivery) -> None:
        taken: asyncio.Future[Ticket | None] = asyncio.get_running_loop().create_future()
        taken.set_result(Ticket.of(delivery))
        DELIVERY.set(Taking(dict(delivery.payload), taken))
        # As Socket Mode does: a request from our own store needs no signature.
        request = AsyncBoltRequest(body=dict(delivery.payload), mode="socket_mode")
        await self.app.async_dispatch(request)

    # -- prospects --------------------------------------------------------------------------

    async def _on_event(
        self, event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        await self._in_background(self._answer_event(event, context, body), context)

    async def _answer_event(
        self, event: dict[str, Any], context: AsyncBoltContext, body: dict[str, Any]
    ) -> None:
        commands = frozenset(c.command for c in self._knowledge.current.catalog.settings.commands)
        translated = event_to_incoming(event, self._me, commands, body)  # body: the app's id
        if translated is None or not await self._claimed(context):
            return
        incoming, place = translated
        replies = await self._decide(incoming)
        for reply in replies:
            for message in render(reply):
                await self.send(place, incoming.user_id, message)

    async def _decide(self, incoming: Incoming) -> list[Reply]:
        """The engine's replies, kept with the delivery before they are sent (a replay sends
        the kept ones: the engine does not decide twice), in one transaction with its turn."""
        taking = DELIVERY.get()
        ticket = taking.ticket() if taking is not None else None
        if ticket is not None and ticket.decided is not None:
            return ticket.decided
        if ticket is None:
            return await asyncio.to_thread(self._engine.handle, incoming, claimed=True)

        def decide(first: bool) -> list[Reply]:
            return self._engine.handle(incoming, claimed=True, observed=first)

        replies = await asyncio.to_thread(self._intake.decide, ticket, decide)
        if replies is None:
            raise TakenOver(ticket.delivery_id)
        return replies

    async def _on_press(
        self, ack: Callable[..., Awaitable[None]], body: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        await ack()
        await self._in_background(self._answer_press(body, context), context)

    async def _answer_press(self, body: dict[str, Any], context: AsyncBoltContext) -> None:
        translated = action_to_incoming(body)
        if translated is None or not await self._claimed(context):
            return
        incoming, place = translated
        ephemeral = bool((body.get("container") or {}).get("is_ephemeral"))
        if not (ephemeral and (incoming.payload or "").startswith(FEEDBACK)):
            # A private answer cannot be rebuilt around its note (Slack sends only its
            # buttons): a thumb pressed under it leaves the answer as it is.
            await self._disable_buttons(body, incoming.user_id)
        replies = await self._decide(incoming)
        respond = self._respond_for(body) if place.private_to else None
        for reply in replies:
            for message in render(reply):
                if respond is not None:
                    await self._privately(respond, message)
                else:
                    await self.send(place, incoming.user_id, message)

    async def _disable_buttons(self, body: dict[str, Any], user_id: str) -> None:
        """The pressed message loses its buttons, so nothing is pressed twice."""
        title = pressed_title(body)
        lang = guess_language(title) or "en"
        note = escape(
            self._knowledge.current.catalog.settings.slack.chosen.get(lang).format(
                user=f"<@{user_id}>", title=title
            )
        ).replace(escape(f"<@{user_id}>"), f"<@{user_id}>")
        container = body.get("container") or {}
        message = body.get("message") or {}
        try:
            if container.get("is_ephemeral"):
                await self._respond_for(body)(
                    replace_original=True, text=note, blocks=[{"type": "context", "elements": [
                        {"type": "mrkdwn", "text": note}]}],
                )  # fmt: skip
            elif message:
                await self.client.chat_update(
                    channel=str(container.get("channel_id")),
                    ts=str(container.get("message_ts")),
                    text=str(message.get("text") or note),
                    blocks=pressed(message.get("blocks") or [], note),
                )
        except SlackApiError as exc:
            self._failed(exc)
            log.warning("could not remove the pressed buttons: %s", exc.response.get("error"))

    def _respond_for(self, body: dict[str, Any]) -> AsyncRespond:
        return AsyncRespond(response_url=str(body.get("response_url", "")))

    async def _privately(self, respond: AsyncRespond, message: SlackMessage) -> None:
        try:
            await respond(
                text=message.text,
                blocks=list(message.blocks),
                response_type="ephemeral",
                replace_original=False,
            )
        except Exception as exc:
            self._failed(exc)
            log.warning("private answer not delivered: %s", type(exc).__name__)

    async def _on_ask(
        self, ack: Callable[..., Awaitable[None]], body: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        await ack()
        await self._in_background(self._answer_ask(body, context), context)

    async def _answer_ask(self, body: dict[str, Any], context: AsyncBoltContext) -> None:
        if not await self._claimed(context):
            return
        incoming, _ = command_to_incoming(body)
        respond = self._respond_for(body)
        texts = self._knowledge.current.catalog.settings.slack
        question = incoming.text.strip()
        lang = guess_language(question) or "en"
        if not question:
            await self._privately(respond, render(Reply(texts.ask_usage.get(lang)))[0])
            return
        replies = await self._decide(incoming)
        messages = [message for reply in replies for message in render(reply)]
        if messages:
            post = action_blocks([(texts.post_button.get(lang), question[:1900])], prefix="post")
            post[0]["elements"][0]["action_id"] = POST_ACTION
            last = messages[-1]
            messages[-1] = SlackMessage(last.text, (*last.blocks, *post))
        for message in messages:
            await self._privately(respond, message)

    async def _on_post(
        self, ack: Callable[..., Awaitable[None]], body: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        await ack()
        await self._in_background(self._post_answer(body, context), context)

    async def _post_answer(self, body: dict[str, Any], context: AsyncBoltContext) -> None:
        """Post a privately answered question, with its answer, for the whole channel."""
        if not await self._claimed(context):
            return
        question = str((body.get("actions") or [{}])[0].get("value") or "")
        user = str((body.get("user") or {}).get("id", ""))
        channel = str((body.get("channel") or {}).get("id") or "")
        result = answer(self._knowledge.current, question)
        lang = guess_language(question) or "en"
        intro = self._knowledge.current.catalog.settings.slack.posted.get(lang)
        heading = escape(intro.format(user="\x00", question=question)).replace("\x00", f"<@{user}>")
        for number, message in enumerate(render(Reply(result.reply.text))):
            text = f"{heading}\n\n{message.text}" if number == 0 else message.text
            await self.send(Place(channel), user, SlackMessage(text, ({"type": "section",
                "text": {"type": "mrkdwn", "text": text[:3000]}},)))  # fmt: skip
        with contextlib.suppress(Exception):
            await self._respond_for(body)(delete_original=True)

    # -- sending ----------------------------------------------------------------------------

    def _failed(self, exc: Exception) -> None:
        """Count a failed Web API call (the metrics)."""
        if self._errors is not None:
            self._errors.count(CHANNEL, failure_reason(exc))

    async def send(self, place: Place, user_id: str, message: SlackMessage) -> bool:
        """Post a message, or keep it in the database to try again later."""
        body: dict[str, Any] = {"channel": place.channel, **message.body()}
        if place.thread_ts:
            body["thread_ts"] = place.thread_ts
        failure = await self._attempt(body)
        if failure is None:
            return True
        log.warning("slack message to %s kept for retry: %s", place.channel, failure)
        kept = OutgoingMessage(CHANNEL, place.channel, user_id, body, self._clock())
        try:
            await asyncio.to_thread(self._queue.keep, kept, self._clock() + KEEP_RETRY)
        except StorageUnavailable:
            log.error(
                "slack message to %s lost: neither Slack nor the database took it", place.channel
            )
        return False

    async def _attempt(self, body: dict[str, Any]) -> str | None:
        """Post once (the client retries 429s and connection errors); None when posted."""
        try:
            await self.client.chat_postMessage(**body)
        except SlackApiError as exc:
            self._failed(exc)
            error = str(exc.response.get("error"))
            if error in {"channel_not_found", "not_in_channel", "is_archived", "invalid_blocks"}:
                log.error("slack refused a message to %s: %s", body.get("channel"), error)
                return None  # trying again cannot help
            return error
        except Exception as exc:
            self._failed(exc)
            return f"{type(exc).__name__}: {exc}"
        return None

    async def resend_kept(self) -> int:
        """Claim the kept messages that are due and try each once; how many went out."""
        due = await asyncio.to_thread(self._queue.claim, CHANNEL, self._clock())
        sent = 0
        for message in due:
            failure = await self._attempt(dict(message.body))
            now = self._clock()
            if failure is None:
                await asyncio.to_thread(self._queue.sent, message.id or 0, now)
                sent += 1
                continue
            wait = min(KEEP_RETRY * 2 ** (message.attempts + 1), LAST_RETRY)
            await asyncio.to_thread(self._queue.failed, message.id or 0, failure, now + wait)
        return sent

    # -- the sales desk ---------------------------------------------------------------------

    async def _allowed(self, user_id: str, command: str, respond: AsyncRespond) -> bool:
        desk = self._knowledge.current.catalog.sales
        if not self.team.configured:
            await self._privately(respond, render(Reply(desk.texts.not_configured))[0])
            return False
        if await self.team.has(user_id):
            return True
        log.info("sales desk refused to a non-member (%s)", command)
        await self._privately(respond, render(Reply(desk.texts.refused.format(command=command)))[0])
        return False

    async def _on_sales_press(
        self, ack: Callable[..., Awaitable[None]], body: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        await ack()
        await self._in_background(self._work_lead(body, context), context)

    async def _work_lead(self, body: dict[str, Any], context: AsyncBoltContext) -> None:
        if not await self._claimed(context):
            return
        action = (body.get("actions") or [{}])[0]
        user = str((body.get("user") or {}).get("id", ""))
        kind = str(action.get("action_id", "")).removeprefix("sales:")
        if kind not in SALES_ACTIONS or not str(action.get("value", "")).isdigit():
            return
        if not await self._allowed(user, "the lead buttons", self._respond_for(body)):
            return
        lead_id, sales_action = int(action["value"]), _action(kind)
        catalog = self._knowledge.current.catalog
        container = body.get("container") or {}
        message = body.get("message") or {}
        try:
            if sales_action == "claim":
                lead = await asyncio.to_thread(self._leads.claim, lead_id, f"slack:{user}")
            else:
                status = STATUS_OF[sales_action]
                lead = await asyncio.to_thread(
                    self._leads.set_status, lead_id, status, f"slack:{user}", None
                )
            blocks = slack_desk.after_action(
                message.get("blocks") or [], lead, catalog.sales, sales_action, user
            )
        except KeyError:
            blocks = slack_desk.gone(message.get("blocks") or [], lead_id, catalog.sales)
        try:
            await self.client.chat_update(
                channel=str(container.get("channel_id")),
                ts=str(container.get("message_ts")),
                text=str(message.get("text") or f"#{lead_id}"),
                blocks=blocks,
            )
        except SlackApiError as exc:
            self._failed(exc)
            log.warning("lead message not updated: %s", exc.response.get("error"))

    async def _on_leads(
        self,
        ack: Callable[..., Awaitable[None]],
        body: dict[str, Any],
        respond: AsyncRespond,
        context: AsyncBoltContext,
    ) -> None:
        await ack()
        await self._in_background(self._list_leads(body, respond), context)

    async def _list_leads(self, body: dict[str, Any], respond: AsyncRespond) -> None:
        if not await self._allowed(str(body.get("user_id")), "/leads", respond):
            return
        words = str(body.get("text") or "").split()
        status = words[0].lower() if words and words[0].lower() in LEAD_STATUSES else None
        search = " ".join(words[1:] if status else words) or None
        criteria = LeadFilter(status=_status(status), search=search, limit=LIST_LIMIT)
        leads = await asyncio.to_thread(self._leads.find, criteria)
        await self._privately(
            respond, slack_desk.lead_list(leads, self._knowledge.current.catalog.sales)
        )

    async def _on_lead(
        self,
        ack: Callable[..., Awaitable[None]],
        body: dict[str, Any],
        respond: AsyncRespond,
        context: AsyncBoltContext,
    ) -> None:
        await ack()
        await self._in_background(self._show_lead(body, respond), context)

    async def _show_lead(self, body: dict[str, Any], respond: AsyncRespond) -> None:
        if not await self._allowed(str(body.get("user_id")), "/lead", respond):
            return
        catalog = self._knowledge.current.catalog
        text = str(body.get("text") or "").strip().lstrip("#")
        if not text.isdigit():
            await self._privately(respond, render(Reply(catalog.sales.texts.lead_usage))[0])
            return
        lead = await asyncio.to_thread(self._leads.get, int(text))
        if lead is None:
            gone = catalog.sales.texts.gone.format(id=int(text))
            await self._privately(respond, render(Reply(gone))[0])
            return
        history = await asyncio.to_thread(self._leads.history, lead.id)
        said = await asyncio.to_thread(
            self._transcripts.conversation, lead.channel, lead.conversation_id
        )
        detail = slack_desk.lead_detail(lead, history, said, catalog.sales, catalog.lead_form)
        await self._privately(respond, detail)


def _action(kind: str) -> SalesAction:
    return next(action for action in SALES_ACTIONS if action == kind)


def _status(word: str | None) -> LeadStatus | None:
    return next((status for status in LEAD_STATUSES if status == word), None)
