"""The catalog in use and its matcher, swapped as one when an admin reloads the files."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from intents.catalog import Catalog, load_catalog
from intents.matcher import Matcher
from intents.semantic import EmbeddingCache, Encoder


@dataclass(frozen=True, slots=True)
class Knowledge:
    """A catalog together with the matcher built from it."""

    catalog: Catalog
    matcher: Matcher


def build_knowledge(
    directory: Path, encoder: Encoder | None = None, cache: EmbeddingCache | None = None
) -> Knowledge:
    """Load the catalog under `directory` and build its matcher (raises `CatalogError`)."""
    catalog = load_catalog(directory)
    return Knowledge(catalog, Matcher.for_catalog(catalog, encoder, cache))


class KnowledgeBase:
    """Holds the current `Knowledge`; readers take `current` once per message."""

    def __init__(
        self, directory: Path, encoder: Encoder | None = None, cache: EmbeddingCache | None = None
    ) -> None:
        self._directory = directory
        self._encoder = encoder
        self._cache = cache
        self._lock = threading.Lock()
        self._current = build_knowledge(directory, encoder, cache)

    @property
    def current(self) -> Knowledge:
        """The knowledge to answer the next message with."""
        return self._current

    def reload(self) -> Knowledge:
        """Build from the files again and swap; on `CatalogError` the old one stays in use."""
        with self._lock:
            fresh = build_knowledge(self._directory, self._encoder, self._cache)
            self._current = fresh
            return fresh
