"""The catalog in use and its matcher, swapped as one when an admin reloads the files."""

from __future__ import annotations

import ctypes
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from intents import knowledge_cache
from intents.catalog import Catalog, CatalogError, load_catalog
from intents.leadrequests import LeadRequests, lead_requests_file
from intents.matcher import Matcher
from intents.scope import Scope, scope_file
from intents.semantic import EmbeddingCache, Encoder
from intents.sourcefile import SourceError

_WORD = re.compile(r"[^\W\d_]+")


@dataclass(frozen=True, slots=True)
class Knowledge:
    """A catalog together with the matcher built from it."""

    catalog: Catalog
    matcher: Matcher
    lead_requests: LeadRequests
    scope: Scope


def build_knowledge(
    directory: Path,
    encoder: Encoder | None = None,
    cache: EmbeddingCache | None = None,
    gazetteer_cache: Path | None = None,
) -> Knowledge:
    """Load the catalog under `directory` and build its matcher and scope rule (raises
    `CatalogError`); the place index is kept in `gazetteer_cache` when given."""
    catalog = load_catalog(directory)
    try:
        scope = Scope.load(
            scope_file(directory), *catalog_words(catalog), cache_dir=gazetteer_cache
        )
    except SourceError as exc:
        raise CatalogError([exc]) from exc
    leads = [intent.id for intent in catalog.intents.values() if "lead" in intent.tags]
    try:
        lead_requests = LeadRequests.load(lead_requests_file(directory), leads, _Elsewhere(scope))
    except SourceError as exc:
        raise CatalogError([exc]) from exc
    matcher = Matcher.for_catalog(catalog, encoder, cache)
    return Knowledge(catalog, matcher, lead_requests, scope)


def catalog_words(catalog: Catalog) -> tuple[set[str], str]:
    """The catalog's own English words as written and its Chinese text (examples, titles,
    answers): the scope rule reads a place name the catalog uses as a word as that word."""
    english: set[str] = set()
    chinese: list[str] = []
    for intent in catalog.intents.values():
        for text in (*intent.examples.en, intent.title.en, intent.answer.en):
            english.update(_WORD.findall(text))
        chinese.extend((*intent.examples.zh, intent.title.zh, intent.answer.zh))
    return english, "\n".join(chinese)


@dataclass(frozen=True, slots=True)
class _Elsewhere:
    """Whether a message is about a place outside the scope (a plain object, not a lambda, so
    that a built `Knowledge` can be kept in the cache)."""

    scope: Scope

    def __call__(self, text: str) -> bool:
        return self.scope.outside(text) is not None


class KnowledgeBase:
    """Holds the current `Knowledge`; readers take `current` once per message."""

    def __init__(
        self,
        directory: Path,
        encoder: Encoder | None = None,
        cache: EmbeddingCache | None = None,
        gazetteer_cache: Path | None = None,
        knowledge_cache: Path | None = None,
    ) -> None:
        """Build the knowledge of `directory`; with `knowledge_cache`, read it from there
        when an earlier start built it (a start then takes a tenth of the time)."""
        self._directory = directory
        self._encoder = encoder
        self._cache = cache
        self._gazetteer_cache = gazetteer_cache
        self._lock = threading.Lock()
        if knowledge_cache is None:
            self._current = build_knowledge(directory, encoder, cache, gazetteer_cache)
        else:
            self._current = knowledge_cache_read(
                knowledge_cache,
                directory,
                encoder,
                lambda: build_knowledge(directory, encoder, cache, gazetteer_cache),
            )
        _return_freed_memory()

    @property
    def current(self) -> Knowledge:
        """The knowledge to answer the next message with."""
        return self._current

    @property
    def encoder(self) -> Encoder | None:
        """The sentence-embedding model the matcher uses, if any (the misses inbox groups
        questions by meaning with it, across English and Chinese)."""
        return self._encoder

    def reload(self) -> Knowledge:
        """Build from the files again and swap; on `CatalogError` the old one stays in use."""
        return self.install(self.build(self._directory))

    def build(self, directory: Path) -> Knowledge:
        """Knowledge from the catalog under `directory` with this base's matcher settings,
        not yet in use (raises `CatalogError`)."""
        return build_knowledge(directory, self._encoder, self._cache, self._gazetteer_cache)

    def install(self, knowledge: Knowledge) -> Knowledge:
        """Answer from `knowledge` from the next message on; later reloads read its folder."""
        with self._lock:
            self._current = knowledge
            self._directory = knowledge.catalog.directory
        _return_freed_memory()
        return knowledge


def knowledge_cache_read(
    folder: Path, directory: Path, encoder: Encoder | None, build: Callable[[], Knowledge]
) -> Knowledge:
    """The knowledge of `directory` kept in `folder`, or `build()` (then kept there)."""
    return knowledge_cache.cached(folder, directory, encoder, build, Knowledge)


def _return_freed_memory() -> None:
    """Hand the build's garbage back to the system (glibc keeps freed heap otherwise).

    Building an index allocates tens of MB of short-lived objects (n-grams, a cache file's
    rows); without this a replica holds about 25 MB more for nothing (docs/models.md).
    """
    # The process's own symbols (libc among them): `ctypes.util.find_library` would run
    # `ldconfig -p` in a child process, a fork of this whole process at each start.
    trim = getattr(ctypes.CDLL(None), "malloc_trim", None)  # glibc only
    if trim is not None:
        trim(0)
