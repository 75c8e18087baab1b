"""What the bot remembers about one conversation between two messages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from bot.core.messages import Language


@dataclass(frozen=True, slots=True)
class ConversationState:
    """The state of one conversation, keyed by `(channel, conversation_id)`.

    `version` counts saves: 0 means never saved. A store accepts a save only if the stored
    version is still the one this state was loaded with (optimistic concurrency).
    """

    channel: str
    conversation_id: str
    user_id: str
    language: Language | None = None
    language_chosen: bool = False
    form: Mapping[str, object] | None = None
    source: str | None = None
    last_question: str | None = None
    version: int = 0

    def speaking(self, language: Language, *, chosen: bool = False) -> ConversationState:
        """This state with the conversation's language set (and locked when the user chose it)."""
        return replace(self, language=language, language_chosen=chosen or self.language_chosen)

    def content_equals(self, other: ConversationState) -> bool:
        """Whether two states differ only in their version."""
        return replace(self, version=0) == replace(other, version=0)
