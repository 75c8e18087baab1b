"""One catalog for every replica: a reload on one is published in the database, and the others
follow it by reloading the same files (on a volume they share) from disk.

The published fingerprint tells a follower whether its files are the ones the admin reloaded;
when they are not, the volume is not shared and the follower says so in the log.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from bot.core.ports import CatalogVersion, CatalogVersions
from intents.catalog import CatalogError
from intents.knowledge import KnowledgeBase

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


class CatalogSync:
    """Publishes this replica's reloads and follows the others'."""

    def __init__(
        self,
        knowledge: KnowledgeBase,
        versions: CatalogVersions,
        clock: Clock = lambda: datetime.now(UTC),
    ) -> None:
        self._knowledge = knowledge
        self._versions = versions
        self._clock = clock
        self._lock = threading.Lock()
        self._version: int | None = None  # the published version this process serves
        self._failed: int | None = None  # the last version whose reload failed here

    @property
    def version(self) -> int | None:
        """The published catalog version this process serves (None before it knows one)."""
        return self._version

    def publish(self, actor: str) -> CatalogVersion:
        """Announce the catalog this process has just reloaded, so the others follow."""
        with self._lock:
            digest = self._knowledge.current.catalog.fingerprint
            published = self._versions.publish(digest, actor, self._clock())
            self._version = max(self._version or 0, published.version)
            log.info("catalog version %d published (%s)", published.version, digest)
            return published

    def follow(self) -> bool:
        """Reload from disk if a newer version was published; whether the catalog changed.

        A catalog that does not load keeps the old one in use and is tried again next time.
        """
        with self._lock:
            latest = self._versions.latest()
            if latest is None or latest.version <= (self._version or 0):
                return False
            if latest.digest == self._knowledge.current.catalog.fingerprint:
                self._version = latest.version  # already serving these files
                return False
            try:
                fresh = self._knowledge.reload()
            except CatalogError as exc:
                if self._failed != latest.version:
                    self._failed = latest.version
                    log.warning(
                        "catalog version %d does not load here (%d problems); the old one "
                        "stays in use",
                        latest.version,
                        len(exc.problems),
                    )
                return False
            self._version = latest.version
            digest = fresh.catalog.fingerprint
            if digest != latest.digest:
                log.warning(
                    "catalog version %d was published with files %s, but the files here are "
                    "%s: is the intents folder shared by every replica?",
                    latest.version,
                    latest.digest,
                    digest,
                )
            else:
                log.info("catalog version %d loaded (%s)", latest.version, digest)
            return True
