"""The composition root: the one place that turns settings into a wired object graph."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bot.catalog_edits import CatalogEditor
from bot.catalog_sync import CatalogSync, serving_folder
from bot.channels.spool import DeliverySpool
from bot.config import Settings
from bot.core.engine import Engine, utc_now
from bot.core.handoff import HandoffDesk
from bot.core.ports import Notifier, RetentionRules
from bot.metrics import DatabaseReading, Metrics
from bot.notifications import LogNotifier, Relay
from bot.startup import open_knowledge
from intents.catalog import CatalogError
from intents.knowledge import KnowledgeBase
from storage.catalogs import SqlCatalogRevisions, SqlPeriodicRuns
from storage.dashboard import SqlDashboard
from storage.db import Database
from storage.events import SqlEventLog
from storage.feed import SqlLeadFeed
from storage.handoffs import SqlHandoffs
from storage.leads import SqlLeadRepository, SqlOutbox
from storage.outgoing import SqlOutgoingQueue
from storage.privacy import SqlPrivacyRegistry
from storage.ratebudget import SqlRateBudget
from storage.repositories import (
    SqlConversationStore,
    SqlDeliveryLog,
    SqlQuestionLog,
    SqlTranscriptLog,
)
from storage.retention import SqlRetention
from storage.staff import SqlStaff
from storage.unanswered import SqlUnanswered

if TYPE_CHECKING:
    # The platforms' SDKs (python-telegram-bot, slack-bolt, aiohttp) take about 0.75 s to
    # import: only what runs them imports them (the terminal chat and `ask` do not).
    from bot.channels.handoff_relay import HandoffRelay
    from bot.channels.slack import SlackService
    from bot.channels.slack_sales import Cards
    from bot.channels.telegram import TelegramService

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Storage:
    """The database and every store on it."""

    database: Database
    conversations: SqlConversationStore
    deliveries: SqlDeliveryLog
    transcripts: SqlTranscriptLog
    questions: SqlQuestionLog
    leads: SqlLeadRepository
    outbox: SqlOutbox
    privacy: SqlPrivacyRegistry
    outgoing: SqlOutgoingQueue
    staff: SqlStaff
    dashboard: SqlDashboard
    unanswered: SqlUnanswered
    feed: SqlLeadFeed
    catalogs: SqlCatalogRevisions
    periodic: SqlPeriodicRuns
    telegram_budget: SqlRateBudget
    web_chat_budget: SqlRateBudget  # the web chat's per-client limits
    events: SqlEventLog
    handoffs: SqlHandoffs
    retention: SqlRetention

    def close(self) -> None:
        """Release the database connections."""
        self.database.dispose()


@dataclass(frozen=True, slots=True)
class App:
    """Everything a command or a server needs, built once per process."""

    settings: Settings
    knowledge: KnowledgeBase
    storage: Storage
    engine: Engine
    relay: Relay
    catalog: CatalogSync
    metrics: Metrics
    editor: CatalogEditor
    desk: HandoffDesk | None = None  # a person can take chats over (Slack sales channel set)

    @property
    def leads(self) -> SqlLeadRepository:
        """The leads."""
        return self.storage.leads

    def close(self) -> None:
        """Release the database connections."""
        self.storage.close()


def open_database(settings: Settings) -> Database:
    """The database, with its schema made current (SQLite) or checked (PostgreSQL)."""
    database = Database(settings.resolved_database_url)
    try:
        database.ensure_schema()
    except Exception:
        database.dispose()
        raise
    return database


def open_storage(settings: Settings) -> Storage:
    """The database (schema made current or checked) and its stores."""
    database = open_database(settings)
    return Storage(
        database,
        SqlConversationStore(database),
        SqlDeliveryLog(database),
        SqlTranscriptLog(database),
        SqlQuestionLog(database),
        SqlLeadRepository(database),
        SqlOutbox(database),
        SqlPrivacyRegistry(database),
        SqlOutgoingQueue(database),
        SqlStaff(database),
        SqlDashboard(database),
        SqlUnanswered(database),
        SqlLeadFeed(database),
        SqlCatalogRevisions(database),
        SqlPeriodicRuns(database),
        SqlRateBudget(database, "telegram"),
        SqlRateBudget(database, "web"),
        SqlEventLog(database),
        SqlHandoffs(database),
        SqlRetention(database, retention_rules(settings)),
    )


def retention_rules(settings: Settings) -> RetentionRules:
    """How long things are kept, from the settings."""
    return RetentionRules(
        personal=timedelta(days=settings.retention_days),
        session_idle=timedelta(minutes=settings.session_idle_minutes),
        session_lifetime=timedelta(hours=settings.session_max_hours),
    )


def open_desk(settings: Settings, storage: Storage) -> HandoffDesk | None:
    """The handoff desk, when there is a Slack sales channel to hand conversations to."""
    if settings.slack_bot_token is None or settings.slack_sales_channel is None:
        return None
    return HandoffDesk(storage.handoffs, storage.events, utc_now, storage.questions)


def build_app(settings: Settings) -> App:
    """Wire the catalog, the database and the engine."""
    storage = open_storage(settings)
    try:
        knowledge = open_catalog(settings, storage)
    except BaseException:
        storage.close()
        raise
    metrics = Metrics(lambda: read_database(storage))
    desk = open_desk(settings, storage)
    engine = Engine(
        knowledge,
        conversations=storage.conversations,
        deliveries=storage.deliveries,
        transcripts=storage.transcripts,
        questions=storage.questions,
        leads=storage.leads,
        privacy=storage.privacy,
        retention_days=settings.retention_days,
        observer=metrics,
        events=storage.events,
        desk=desk,
    )
    notifier = open_notifier(settings, knowledge, metrics, cards=storage.leads)
    relay = Relay(storage.outbox, storage.leads, notifier)
    catalog = CatalogSync(knowledge, storage.catalogs, catalog_workspace(settings))
    catalog.start(settings.intents_dir)
    editor = CatalogEditor(catalog)
    return App(settings, knowledge, storage, engine, relay, catalog, metrics, editor, desk)


def catalog_workspace(settings: Settings) -> Path:
    """Where this process writes the catalog revisions it serves: beside the database they
    come from, not in the cache folder that other checkouts share."""
    return settings.data_dir / "catalog"


def open_catalog(settings: Settings, storage: Storage) -> KnowledgeBase:
    """The knowledge of the newest catalog revision in the database (the shipped files for
    an empty one), built once; a revision that does not load here falls back to the shipped
    files, with an error in the log (an admin's rollback then repairs it)."""
    shipped = settings.intents_dir
    folder = serving_folder(storage.catalogs, shipped, catalog_workspace(settings))
    try:
        return open_knowledge(settings, folder)
    except CatalogError as exc:
        if folder == shipped:
            raise
        log.error("the newest catalog revision does not load here (%s); serving %s", exc, shipped)
        return open_knowledge(settings)


def read_database(storage: Storage) -> DatabaseReading:
    """What the metrics read from the database: leads by status, notifications waiting."""
    return DatabaseReading(storage.dashboard.by_status(), storage.outbox.depth())


def open_notifier(
    settings: Settings,
    knowledge: KnowledgeBase,
    metrics: Metrics | None = None,
    *,
    cards: Cards | None = None,
) -> Notifier:
    """Where new leads are announced: the Slack sales channel (keeping where each card went
    in `cards`), or else the log."""
    if settings.slack_bot_token is None or settings.slack_sales_channel is None:
        return LogNotifier()
    from bot.channels.slack_sales import SlackSalesNotifier  # noqa: PLC0415  (see above)

    return SlackSalesNotifier(
        knowledge,
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        channel=settings.slack_sales_channel,
        errors=metrics,
        cards=cards,
    )


def delivery_spool(settings: Settings) -> DeliverySpool:
    """Where deliveries wait while the database is down: the data folder, which the replicas
    share (docker-compose's `data` volume)."""
    return DeliverySpool(settings.data_dir / "spool")


def build_telegram(app: App) -> TelegramService | None:
    """The Telegram bot, when `TELEGRAM_BOT_TOKEN` is set (webhook mode with a webhook URL)."""
    settings = app.settings
    if settings.telegram_bot_token is None:
        return None
    from bot.channels.ratelimit import ChatRateLimiter  # noqa: PLC0415  (see the imports)
    from bot.channels.telegram import TelegramService  # noqa: PLC0415

    return TelegramService(
        app.engine,
        app.knowledge,
        app.storage.outgoing,
        token=settings.telegram_bot_token.get_secret_value(),
        base_url=settings.telegram_api_base_url,
        webhook=settings.telegram_webhook_url is not None,
        limiter=ChatRateLimiter(
            settings.telegram_messages_per_second, budget=app.storage.telegram_budget
        ),
        errors=app.metrics,
        inbox=app.storage.deliveries,
        units=app.storage.database,
        spool=delivery_spool(settings),
    )


def build_slack(app: App) -> SlackService | None:
    """The Slack app, when `SLACK_BOT_TOKEN` is set (Socket Mode with an app token, else HTTP)."""
    settings = app.settings
    if settings.slack_bot_token is None:
        return None
    from bot.channels.slack import SlackService  # noqa: PLC0415  (see the imports)

    secret, app_token = settings.slack_signing_secret, settings.slack_app_token
    return SlackService(
        app.engine,
        app.knowledge,
        app.storage.leads,
        app.storage.transcripts,
        app.storage.outgoing,
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        signing_secret=secret.get_secret_value() if secret else None,
        app_token=app_token.get_secret_value() if app_token else None,
        sales_channel=settings.slack_sales_channel,
        sales_usergroup=settings.slack_sales_usergroup,
        errors=app.metrics,
        handoff=(app.desk, app.storage.handoffs) if app.desk is not None else None,
        inbox=app.storage.deliveries,
        units=app.storage.database,
        spool=delivery_spool(settings),
    )


def build_handoff_relay(
    app: App,
    telegram: TelegramService | None,
    slack: SlackService | None,
    clock: Callable[[], datetime] = utc_now,
) -> HandoffRelay | None:
    """The relay of handed-off conversations (sales thread <-> prospects), when there is a
    desk (a Slack sales channel); Slack posts share a rate budget across replicas."""
    settings = app.settings
    token, channel = settings.slack_bot_token, settings.slack_sales_channel
    if app.desk is None or slack is None or token is None or channel is None:
        return None
    from bot.channels.handoff_delivery import (  # noqa: PLC0415  (see the imports)
        ProspectChannel,
        SlackPoster,
        SlackProspects,
        TelegramProspects,
        WebProspects,
        relay_client,
    )
    from bot.channels.handoff_relay import HandoffRelay  # noqa: PLC0415

    poster = SlackPoster(
        relay_client(token.get_secret_value(), settings.slack_api_url),
        SqlRateBudget(app.storage.database, "slack"),
    )
    prospects: dict[str, ProspectChannel] = {"slack": SlackProspects(poster), "web": WebProspects()}
    if telegram is not None:
        prospects["telegram"] = TelegramProspects(telegram.bot)
    return HandoffRelay(
        app.storage.handoffs,
        app.knowledge,
        app.storage.leads,
        app.storage.transcripts,
        slack=poster,
        sales_channel=channel,
        prospects=prospects,
        clock=clock,
    )
