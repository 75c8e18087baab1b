"""Nothing acknowledged is lost: Telegram updates and Slack events are kept before they are
acknowledged, answered once across two replicas (one database, one shared data folder), and
replayed by the surviving replica when the one that acknowledged them died first."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.app import App, build_app, build_telegram, delivery_spool
from bot.channels.slack import SlackService
from bot.channels.spool import DeliverySpool, private_spool
from bot.channels.telegram import TelegramService
from bot.config import Settings
from bot.core.ports import Delivery, DeliveryLog, StorageUnavailable
from bot.web import app as web_app
from intents.catalog import PACKAGED_DIR
from intents.knowledge import KnowledgeBase
from storage.db import Database
from storage.memory import MemoryDeliveryLog, MemoryOutgoingQueue
from tests.chat import memory_stores, sql_stores
from tests.fakes.slack_api import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET, FakeSlackApi
from tests.fakes.slack_requests import dm, encode, signed_headers
from tests.fakes.slack_socket import FakeSocketMode
from tests.fakes.telegram_api import SECRET, TOKEN, FakeBotApi, message

LEASE = timedelta(seconds=1)
UPDATES = 20


@pytest.fixture(scope="module")
def knowledge() -> KnowledgeBase:
    return KnowledgeBase(PACKAGED_DIR)


class Outage:
    """A delivery log whose database can be switched off."""

    def __init__(self, inner: DeliveryLog) -> None:
        self.inner, self.down = inner, False

    def __getattr__(self, name: str) -> Any:
        if self.down:
            raise StorageUnavailable("switched off")
        return getattr(self.inner, name)

    # The port's methods, checked against the switch first (`__getattr__` serves the rest).
    def first_delivery(self, channel: str, delivery_id: str) -> bool:
        return bool(self.__getattr__("first_delivery")(channel, delivery_id))

    def take_in(
        self, channel: str, delivery_id: str, payload: Mapping[str, Any], lease_until: datetime
    ) -> bool:
        return bool(self.__getattr__("take_in")(channel, delivery_id, payload, lease_until))

    def hold(
        self,
        channel: str,
        delivery_id: str,
        attempt: int,
        lease_until: datetime,
        replies: Sequence[Mapping[str, Any]] | None = None,
    ) -> bool:
        held = self.__getattr__("hold")(channel, delivery_id, attempt, lease_until, replies)
        return bool(held)

    def answered(self, channel: str, delivery_id: str, attempt: int, at: datetime) -> bool:
        return bool(self.__getattr__("answered")(channel, delivery_id, attempt, at))

    def due(
        self, channel: str, now: datetime, lease_until: datetime, limit: int, max_attempts: int
    ) -> list[Delivery]:
        taken: list[Delivery] = self.__getattr__("due")(
            channel, now, lease_until, limit, max_attempts
        )
        return taken

    def file(
        self,
        channel: str,
        delivery_id: str,
        payload: Mapping[str, Any],
        answered_at: datetime | None,
        now: datetime,
    ) -> None:
        self.__getattr__("file")(channel, delivery_id, payload, answered_at, now)


def telegram_replica(
    api: FakeBotApi, knowledge: KnowledgeBase, inbox: DeliveryLog, spool: Path
) -> TelegramService:
    return TelegramService(
        memory_stores().engine(knowledge),
        knowledge,
        MemoryOutgoingQueue(),
        token=TOKEN,
        base_url=api.base_url,
        webhook=True,
        inbox=inbox,
        spool=DeliverySpool(spool),
        lease=LEASE,
    )


@pytest.fixture
async def replicas(
    api: FakeBotApi, knowledge: KnowledgeBase, database: Database, tmp_path: Path
) -> AsyncIterator[tuple[TelegramService, TelegramService]]:
    """Two replicas on one database (each its own connections) and one data folder."""
    other = Database(database.url)
    first = telegram_replica(api, knowledge, sql_stores(database).deliveries, tmp_path)
    second = telegram_replica(api, knowledge, sql_stores(other).deliveries, tmp_path)
    await first.start()
    await second.start()
    try:
        yield first, second
    finally:
        await first.stop(grace=1)
        await second.stop(grace=1)
        other.dispose()


def update(update_id: int, text: str = "how big is Lingang?", chat: int = 777) -> dict[str, Any]:
    return {"update_id": update_id, **message(text, chat=chat)}


async def crash_after_ack(service: TelegramService, data: dict[str, Any]) -> None:
    """The update is acknowledged, then the replica dies before its answer ran."""
    assert await service.receive_webhook(data) == 200
    for task in list(service._work):
        task.cancel()
    await asyncio.sleep(0)


async def settle(*services: TelegramService | SlackService) -> None:
    """Until the answers in hand are done (no sleeping for a fixed time)."""
    for service in services:
        while service._work:
            await asyncio.wait(set(service._work))


async def test_updates_acknowledged_by_a_replica_that_died_are_answered_by_the_other(
    replicas: tuple[TelegramService, TelegramService], api: FakeBotApi
) -> None:
    dying, surviving = replicas
    for number in range(UPDATES):
        await crash_after_ack(dying, update(100 + number, chat=1000 + number))
    await settle(dying)
    assert api.texts() == [], "nothing answered before the crash"
    assert await surviving.recover() == 0, "not while the dead replica's lease runs"
    await asyncio.sleep(LEASE.total_seconds())
    recovered = 0
    while taken := sum(await asyncio.gather(surviving.recover(), dying.recover())):
        recovered += taken
    await settle(dying, surviving)
    assert recovered == UPDATES, "each due update went to one replica"
    assert await surviving.recover() == 0
    answered = sorted(int(m["chat_id"]) for m in api.sent())
    assert answered == list(range(1000, 1000 + UPDATES)), "recovered 20 of 20, once each"
    assert all("119.5 km²" in text for text in api.texts())


async def test_a_replay_sends_the_kept_decision_without_deciding_again(
    replicas: tuple[TelegramService, TelegramService], api: FakeBotApi
) -> None:
    dying, surviving = replicas
    decided = []
    handle = surviving._engine.handle

    def counted(*args: Any, **kwargs: Any) -> Any:
        decided.append(args)
        return handle(*args, **kwargs)

    surviving._engine.handle = counted  # type: ignore[method-assign]

    async def killed(chat: str, user_id: str, body: dict[str, Any]) -> bool:
        raise asyncio.CancelledError  # the process dies while the answer goes out

    dying.send = killed  # type: ignore[method-assign]
    assert await dying.receive_webhook(update(7)) == 200
    await settle(dying)
    await asyncio.sleep(LEASE.total_seconds())
    assert await surviving.recover() == 1
    await settle(surviving)
    [text] = api.texts()
    assert "119.5 km²" in text
    assert decided == [], "the engine decided once, on the replica that died"


async def test_the_same_update_posted_twice_to_each_replica_is_answered_once(
    replicas: tuple[TelegramService, TelegramService], api: FakeBotApi
) -> None:
    first, second = replicas
    for number in range(UPDATES):
        data = update(200 + number, chat=2000 + number)
        statuses = await asyncio.gather(
            *(replica.receive_webhook(dict(data)) for replica in (first, second, first, second))
        )
        assert statuses == [200] * 4
    await settle(first, second)
    await asyncio.sleep(LEASE.total_seconds())
    assert await first.recover() + await second.recover() == 0, "all answered: none due"
    assert sorted(int(m["chat_id"]) for m in api.sent()) == list(range(2000, 2000 + UPDATES))


@pytest.fixture
async def outage(
    api: FakeBotApi, knowledge: KnowledgeBase, tmp_path: Path
) -> AsyncIterator[tuple[Outage, TelegramService, TelegramService]]:
    """Two replicas on one database that is down, and one data folder."""
    database = Outage(MemoryDeliveryLog())
    database.down = True
    first = telegram_replica(api, knowledge, database, tmp_path / "data")
    second = telegram_replica(api, knowledge, database, tmp_path / "data")
    await first.start()
    await second.start()
    try:
        yield database, first, second
    finally:
        await first.stop(grace=1)
        await second.stop(grace=1)


async def test_during_an_outage_a_retry_at_the_other_replica_is_not_answered_again(
    outage: tuple[Outage, TelegramService, TelegramService], api: FakeBotApi
) -> None:
    database, first, second = outage
    for number in range(UPDATES):
        data = update(300 + number, chat=3000 + number)
        assert await first.receive_webhook(dict(data)) == 200
        assert await second.receive_webhook(dict(data)) == 200, "Telegram's retry"
    await settle(first, second)
    assert len(api.texts()) == UPDATES, "FAQ answers need no database"
    database.down = False
    assert await second.recover() == 0, "filed as answered"
    for number in range(UPDATES):  # retries after the outage
        assert await first.receive_webhook(update(300 + number, chat=3000 + number)) == 200
    await settle(first, second)
    await asyncio.sleep(LEASE.total_seconds())
    assert await first.recover() + await second.recover() == 0
    assert sorted(int(m["chat_id"]) for m in api.sent()) == list(range(3000, 3000 + UPDATES))


async def test_an_update_spooled_by_a_replica_that_died_is_answered_once_the_database_is_back(
    outage: tuple[Outage, TelegramService, TelegramService], api: FakeBotApi
) -> None:
    database, dying, surviving = outage
    await crash_after_ack(dying, update(400))
    assert await surviving.receive_webhook(update(400)) == 200, "spooled: a retry is dropped"
    await settle(dying, surviving)
    database.down = False
    await asyncio.sleep(LEASE.total_seconds())
    assert await surviving.recover() == 0, "filed from the spool, due from now"
    await asyncio.sleep(LEASE.total_seconds() / 10)
    assert await surviving.recover() + await dying.recover() == 1
    await settle(dying, surviving)
    [text] = api.texts()
    assert "119.5 km²" in text


async def test_an_update_kept_nowhere_is_refused_so_telegram_sends_it_again(
    api: FakeBotApi, knowledge: KnowledgeBase, tmp_path: Path
) -> None:
    database = Outage(MemoryDeliveryLog())
    database.down = True
    (tmp_path / "not-a-folder").write_text("")
    service = telegram_replica(api, knowledge, database, tmp_path / "not-a-folder")
    await service.start()
    try:
        assert await service.receive_webhook(update(500)) == 503
        database.down = False
        assert await service.receive_webhook(update(500)) == 200, "the retry, kept"
        await settle(service)
    finally:
        await service.stop(grace=1)
    assert len(api.texts()) == 1


# -- Slack --------------------------------------------------------------------------------


def slack_replica(app: App, api: FakeSlackApi, *, grouped: bool = False) -> SlackService:
    """A Slack service on `app`'s storage; `grouped`: each turn in one transaction."""
    return SlackService(
        app.engine, app.knowledge, app.storage.leads, app.storage.transcripts,
        app.storage.outgoing, token=BOT_TOKEN, base_url=api.base_url,
        signing_secret=SIGNING_SECRET, app_token=None,
        inbox=app.storage.deliveries, spool=delivery_spool(app.settings), lease=LEASE,
        units=app.storage.database if grouped else None,
    )  # fmt: skip


def slack_settings(folder: Path, api: FakeSlackApi) -> Settings:
    """Replicas of a Slack app (HTTP mode) sharing one database and folder."""
    return Settings(
        _env_file=None,
        LINGANG_DATA_DIR=folder,
        LINGANG_MATCHER="lexical",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=api.base_url,
    )


def signed(event: dict[str, Any]) -> AsyncBoltRequest:
    """An event as Slack posts it to `/slack/events`."""
    raw = encode(event)
    headers: dict[str, str | Sequence[str]] = {**signed_headers(raw)}
    return AsyncBoltRequest(body=raw.decode(), headers=headers)


@pytest.fixture
def slack_api() -> Iterator[FakeSlackApi]:
    with FakeSlackApi() as fake:
        yield fake


async def test_slack_events_whose_listener_died_after_the_ack_are_recovered(
    slack_api: FakeSlackApi, tmp_path: Path
) -> None:
    settings = slack_settings(tmp_path, slack_api)
    apps = build_app(settings), build_app(settings)  # two replicas, one database and folder
    dying, surviving = (slack_replica(app, slack_api) for app in apps)
    try:
        await dying.start()
        await surviving.start()

        crashed: list[object] = []

        def crash(*args: object, **__: object) -> list[Any]:
            crashed.append(args)
            raise RuntimeError("the replica dies after the acknowledgement")

        dying._engine.handle = crash  # type: ignore[method-assign]
        events = [dm("how big is Lingang?", event_id=f"Ev0CRASH{n:03}") for n in range(5)]
        for event in events:
            response = await dying.app.async_dispatch(signed(event))
            assert response.status == 200, "acknowledged once kept"
        while len(crashed) < len(events):  # the listeners ran after the acknowledgement
            await asyncio.sleep(0.01)
        await settle(dying)
        assert slack_api.sent() == [], "plain slack-bolt would have lost all five"
        await asyncio.sleep(LEASE.total_seconds())
        assert await surviving.recover() == len(events)
        await asyncio.to_thread(slack_api.wait_for, len(events))
        await settle(surviving)
        await asyncio.sleep(LEASE.total_seconds())
        assert await surviving.recover() + await dying.recover() == 0
        assert len(slack_api.sent()) == len(events), "recovered 5 of 5, once each"
        assert all("119.5 km²" in text for text in slack_api.texts())
        assert (await surviving.app.async_dispatch(signed(events[0]))).status == 200
        await asyncio.sleep(0.3)  # time for a second answer, were there one
        assert len(slack_api.sent()) == len(events), "a retry after recovery: dropped"
    finally:
        await dying.stop(grace=1)
        await surviving.stop(grace=1)
        for app in apps:
            app.close()


@pytest.mark.parametrize("grouped", [False, True], ids=["own-transactions", "one-unit"])
async def test_a_slack_event_answered_is_not_answered_again_after_its_lease(
    slack_api: FakeSlackApi, tmp_path: Path, grouped: bool
) -> None:
    # The listener runs after bolt's middleware returned: the delivery reaches it through
    # bolt's context, so its replies are kept and it is marked answered (it used not to be,
    # and every replica's replay loop answered it again once its lease was over).
    settings = slack_settings(tmp_path, slack_api)
    apps = build_app(settings), build_app(settings)
    first, second = (slack_replica(app, slack_api, grouped=grouped) for app in apps)
    try:
        await first.start()
        await second.start()
        events = [dm("how big is Lingang?", event_id=f"Ev0ANSWERED{n:03}") for n in range(3)]
        for event in events:
            assert (await first.app.async_dispatch(signed(event))).status == 200
        await asyncio.to_thread(slack_api.wait_for, len(events))
        await settle(first)
        await first.stop(grace=1)  # writes the marks still waiting
        await asyncio.sleep(LEASE.total_seconds() + 0.2)
        assert await second.recover() == 0, "nothing left to replay"
        assert len(slack_api.sent()) == len(events)
    finally:
        await first.stop(grace=1)
        await second.stop(grace=1)
        for app in apps:
            app.close()


def test_the_spool_takes_each_delivery_once(tmp_path: Path) -> None:
    spool = DeliverySpool(tmp_path)
    assert spool.take("telegram", "1", {"update_id": 1})
    assert not spool.take("telegram", "1", {"update_id": 1})
    [entry] = spool.entries("telegram")
    assert (entry.delivery_id, entry.answered_at) == ("1", None)
    spool.answered("telegram", "1")
    assert spool.entries("telegram")[0].answered_at is not None
    spool.remove("telegram", "1")
    assert spool.entries("telegram") == []
    assert [p.name for p in tmp_path.iterdir()] == []


async def test_a_polled_update_whose_handling_failed_is_answered_by_a_replay(
    api: FakeBotApi, knowledge: KnowledgeBase
) -> None:
    inbox = MemoryDeliveryLog()
    stores = memory_stores()
    service = TelegramService(
        stores.engine(knowledge), knowledge, MemoryOutgoingQueue(), token=TOKEN,
        base_url=api.base_url, webhook=False, inbox=inbox, spool=private_spool(), lease=LEASE,
    )  # fmt: skip
    handle = service._engine.handle
    failures = [RuntimeError("the process dies while deciding")]

    def dies_once(*args: Any, **kwargs: Any) -> Any:
        if failures:
            raise failures.pop()
        return handle(*args, **kwargs)

    service._engine.handle = dies_once  # type: ignore[method-assign]
    await service.start()
    try:
        polled = api.push(message("how big is Lingang?"))
        while failures:  # until the handler ran (and failed): Telegram counts it delivered
            await asyncio.sleep(0.01)
        await asyncio.sleep(LEASE.total_seconds())
        assert await service.recover() == 1
        await asyncio.to_thread(api.wait_for, 1)
        api.push(dict(polled))  # fetched again (say, after a restart before the offset moved)
        await asyncio.sleep(0.3)
    finally:
        await service.stop(grace=1)
    [text] = api.texts()
    assert "119.5 km²" in text


def test_every_replica_replays_due_deliveries_in_the_background(
    api: FakeBotApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(web_app, "REPLAY_INTERVAL", 0.05)
    settings = Settings(
        _env_file=None,
        LINGANG_DATA_DIR=tmp_path,
        LINGANG_MATCHER="lexical",
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=api.base_url,
        TELEGRAM_WEBHOOK_URL="https://bot.example.com/telegram/webhook",
        TELEGRAM_WEBHOOK_SECRET=SECRET,
    )
    app = build_app(settings)
    try:
        # Taken in by a replica that died: its lease is over.
        past = datetime.now(UTC) - timedelta(seconds=1)
        app.storage.deliveries.take_in("telegram", "900", update(900), past)
        telegram = build_telegram(app)
        assert telegram is not None
        with TestClient(web_app.create_app(app, telegram)):
            api.wait_for(1)
            time.sleep(0.3)  # a few more rounds of the loop: no second answer
        assert not app.storage.deliveries.take_in("telegram", "900", {}, past)
    finally:
        app.close()
    [text] = api.texts()
    assert "119.5 km²" in text


async def test_a_socket_mode_event_whose_listener_died_is_recovered(
    slack_api: FakeSlackApi, tmp_path: Path
) -> None:
    settings = Settings(
        _env_file=None,
        LINGANG_DATA_DIR=tmp_path,
        LINGANG_MATCHER="lexical",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_APP_TOKEN=APP_TOKEN,
        SLACK_API_URL=slack_api.base_url,
    )
    app = build_app(settings)
    with FakeSocketMode() as socket:
        slack_api.socket_url = socket.url
        service = SlackService(
            app.engine, app.knowledge, app.storage.leads, app.storage.transcripts,
            app.storage.outgoing, token=BOT_TOKEN, base_url=slack_api.base_url,
            signing_secret=None, app_token=APP_TOKEN, inbox=app.storage.deliveries,
            spool=delivery_spool(settings), lease=LEASE,
        )  # fmt: skip
        handle = service._engine.handle
        crashed: list[object] = []

        def dies_once(*args: Any, **kwargs: Any) -> Any:
            if not crashed:
                crashed.append(args)
                raise RuntimeError("the process dies after the acknowledgement")
            return handle(*args, **kwargs)

        service._engine.handle = dies_once  # type: ignore[method-assign]
        await service.start()
        try:
            await asyncio.to_thread(socket.wait_connected)
            envelope = socket.send("events_api", dm("how big is Lingang?", event_id="Ev0SOCK01"))
            await asyncio.to_thread(socket.wait_acked, envelope)
            while not crashed:
                await asyncio.sleep(0.01)
            await asyncio.sleep(LEASE.total_seconds())
            assert await service.recover() == 1
            await asyncio.to_thread(slack_api.wait_for, 1)
            await settle(service)
            await asyncio.sleep(LEASE.total_seconds())
            assert await service.recover() == 0
        finally:
            await service.stop(grace=1)
            app.close()
    [text] = slack_api.texts()
    assert "119.5 km²" in text
