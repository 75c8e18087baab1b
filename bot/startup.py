"""What a command sets up first: logging, the catalog's knowledge and its sentence encoder.

Apart from `bot.app` so that `lingang-bot ask` and `intents ...` start without importing
the database, the web app and the channels (`bot.app` imports these for the rest).
"""

from __future__ import annotations

import logging
from pathlib import Path

from bot.config import Settings
from bot.logs import log_handler
from intents.knowledge import KnowledgeBase
from intents.semantic import EmbeddingCache, Encoder, SemanticUnavailable

log = logging.getLogger(__name__)


def configure_logging(settings: Settings) -> None:
    """Logs go to standard error, at the configured level, as text or JSON lines, with the
    request id, emails and phone numbers masked (`bot.logs`); uvicorn's too."""
    logging.basicConfig(
        level=settings.log_level, handlers=[log_handler(settings.log_format)], force=True
    )
    # Library loggers put whole updates (personal data) in DEBUG lines; keep them quieter.
    for noisy in ("telegram", "slack_bolt", "slack_sdk"):
        logging.getLogger(noisy).setLevel(
            max(logging.INFO, logging.getLevelName(settings.log_level))
        )
    # These log at INFO what must never be logged: httpx every request URL, which holds the
    # Telegram token; SQLAlchemy every statement with its parameters (messages, contacts).
    for secretive in ("httpx", "httpcore", "sqlalchemy.engine"):
        logging.getLogger(secretive).setLevel(logging.WARNING)


def open_encoder(settings: Settings) -> Encoder | None:
    """The sentence-embedding model `LINGANG_MATCHER` asks for, if any.

    Raises `SemanticUnavailable` when `semantic` is required but not installed.
    """
    if settings.matcher == "lexical":
        return None
    from intents.multilingual import UseMultilingualEncoder  # noqa: PLC0415  (numpy model)

    try:
        return UseMultilingualEncoder(settings.resolved_cache_dir)
    except SemanticUnavailable as exc:
        if settings.matcher == "semantic":
            raise
        log.info("semantic matching off: %s", exc)
        return None


def open_knowledge(settings: Settings, directory: Path | None = None) -> KnowledgeBase:
    """The intent catalog (from `directory` or `LINGANG_INTENTS_DIR`) and its matcher, read
    back from the cache folder when an earlier start built the same.

    Raises `CatalogError` for a broken catalog.
    """
    cache = settings.resolved_cache_dir
    return KnowledgeBase(
        directory or settings.intents_dir,
        open_encoder(settings),
        EmbeddingCache(cache),
        gazetteer_cache=cache,
        knowledge_cache=cache,
    )
