"""The `chat` test helper: conversations with the engine that read like chats."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from itertools import count
from pathlib import Path

from bot.core.engine import Clock, Engine, utc_now
from bot.core.handoff import HandoffDesk
from bot.core.messages import Button, Incoming, Reply
from bot.core.ports import (
    ConversationStore,
    DeliveryLog,
    EventLog,
    Handoffs,
    LeadRepository,
    Outbox,
    PrivacyRegistry,
    QuestionLog,
    TranscriptLog,
    TurnObserver,
)
from intents.catalog import PACKAGED_DIR
from intents.knowledge import KnowledgeBase
from storage.db import Database
from storage.events import SqlEventLog
from storage.handoffs import SqlHandoffs
from storage.leads import SqlLeadRepository, SqlOutbox
from storage.memory import (
    MemoryConversationStore,
    MemoryDeliveryLog,
    MemoryEventLog,
    MemoryHandoffs,
    MemoryLeadRepository,
    MemoryOutbox,
    MemoryPrivacyRegistry,
    MemoryQuestionLog,
    MemoryTranscriptLog,
)
from storage.privacy import SqlPrivacyRegistry
from storage.repositories import (
    SqlConversationStore,
    SqlDeliveryLog,
    SqlQuestionLog,
    SqlTranscriptLog,
)


@dataclass(frozen=True)
class Stores:
    """One implementation of every storage port."""

    conversations: ConversationStore
    deliveries: DeliveryLog
    transcripts: TranscriptLog
    questions: QuestionLog
    leads: LeadRepository
    outbox: Outbox
    privacy: PrivacyRegistry
    events: EventLog
    handoffs: Handoffs

    def engine(
        self,
        knowledge: KnowledgeBase,
        clock: Clock = utc_now,
        observer: TurnObserver | None = None,
        *,
        rated: bool = False,
        desk: HandoffDesk | None = None,
    ) -> Engine:
        """An engine wired to these stores (and to `observer`, if given); `rated`: with the
        event log (answers offer 👍/👎); `desk`: people can take conversations over."""
        return Engine(
            knowledge,
            conversations=self.conversations,
            deliveries=self.deliveries,
            transcripts=self.transcripts,
            questions=self.questions,
            leads=self.leads,
            privacy=self.privacy,
            retention_days=365,
            clock=clock,
            observer=observer,
            events=self.events if rated or desk is not None else None,
            desk=desk,
        )


def memory_stores() -> Stores:
    """Every port in memory."""
    conversations, transcripts = MemoryConversationStore(), MemoryTranscriptLog()
    questions, leads = MemoryQuestionLog(), MemoryLeadRepository()
    events, handoffs = MemoryEventLog(), MemoryHandoffs()
    privacy = MemoryPrivacyRegistry(
        conversations, transcripts, questions, leads, events=events, handoffs=handoffs
    )
    return Stores(
        conversations,
        MemoryDeliveryLog(),
        transcripts,
        questions,
        leads,
        MemoryOutbox(leads),
        privacy,
        events,
        handoffs,
    )


def sql_stores(database: Database) -> Stores:
    """Every port on `database`."""
    return Stores(
        SqlConversationStore(database),
        SqlDeliveryLog(database),
        SqlTranscriptLog(database),
        SqlQuestionLog(database),
        SqlLeadRepository(database),
        SqlOutbox(database),
        SqlPrivacyRegistry(database),
        SqlEventLog(database),
        SqlHandoffs(database),
    )


def copy_catalog(
    target: Path, faq_files: dict[str, str] | None = None, *, keep_faq: bool = True
) -> Path:
    """A writable catalog: the packaged `catalog.yaml`, its FAQ files (unless `keep_faq` is
    false) and `faq_files` (name to YAML text) on top."""
    directory = target / "catalog"
    (directory / "faq").mkdir(parents=True)
    shutil.copy(PACKAGED_DIR / "catalog.yaml", directory / "catalog.yaml")
    shutil.copy(PACKAGED_DIR / "sales.yaml", directory / "sales.yaml")
    shutil.copytree(PACKAGED_DIR / "forms", directory / "forms")
    if keep_faq:
        for path in (PACKAGED_DIR / "faq").glob("*.yaml"):
            shutil.copy(path, directory / "faq" / path.name)
    for name, text in (faq_files or {}).items():
        (directory / "faq" / name).write_text(text, encoding="utf-8")
    return directory


class Chat:
    """One person talking to the engine: `chat.say("hi")`, `chat.press("中文")`."""

    _ids = count(1)

    def __init__(
        self,
        engine: Engine,
        stores: Stores,
        *,
        channel: str = "test",
        user: str = "user-1",
        language_hint: str | None = None,
    ) -> None:
        self.engine = engine
        self.stores = stores
        self.channel = channel
        self.user = user
        self.language_hint = language_hint
        self.private = True  # one person with the bot (a test may make it a group)
        self.replies: list[Reply] = []

    @classmethod
    def over(cls, knowledge: KnowledgeBase, stores: Stores, **kwargs: str) -> Chat:
        """A chat with a new engine over `stores`."""
        return cls(stores.engine(knowledge), stores, **kwargs)

    def send(self, text: str = "", payload: str | None = None, event_id: str | None = None) -> str:
        """Deliver one message or press; the replies' texts, one per line."""
        incoming = Incoming(
            self.channel,
            conversation_id=self.user,
            user_id=self.user,
            text=text,
            payload=payload,
            language_hint=self.language_hint,
            event_id=event_id,
            private=self.private,
        )
        self.replies = self.engine.handle(incoming)
        return "\n".join(reply.text for reply in self.replies)

    def say(self, text: str) -> str:
        """Type `text`."""
        return self.send(text)

    def press(self, title: str) -> str:
        """Press the button titled `title` among the last replies' buttons."""
        for button in self.buttons:
            if button.title == title:
                return self.send(payload=button.payload)
        raise AssertionError(f"no button {title!r}; shown: {[b.title for b in self.buttons]}")

    @property
    def buttons(self) -> list[Button]:
        """The buttons offered by the last replies."""
        return [button for reply in self.replies for button in reply.buttons]

    @property
    def kinds(self) -> list[str]:
        """The kinds of the last replies."""
        return [reply.kind for reply in self.replies]

    @staticmethod
    def next_event_id() -> str:
        """A delivery id no other test uses."""
        return f"event-{next(Chat._ids)}"


def fill_the_lead_form(chat: Chat, name: str) -> None:
    """Agree and answer every question of the lead form (already started), then confirm."""
    chat.send(payload="form:agree")
    for answer in (name, "Acme GmbH", f"{name.lower()}@acme.de", "Germany", "+49 30 12345678"):
        chat.say(answer)
    chat.send(payload="form:choose:company_setup")
    chat.send(payload="form:choose:within_3_months")
    chat.say("no")
    assert "Thank you" in chat.send(payload="form:confirm")
