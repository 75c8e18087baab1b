"""Every command run in these tests shares the session's example embeddings, computed once."""

from __future__ import annotations

from pathlib import Path

import pytest

from intents.knowledge import KnowledgeBase
from tests.cli.commands import SHARED_CACHE


@pytest.fixture(scope="session", autouse=True)
def _shared_embedding_cache(knowledge_semantic: KnowledgeBase, cache_dir: Path) -> None:
    del knowledge_semantic  # built for its side effect: the cache is filled
    SHARED_CACHE["LINGANG_CACHE_DIR"] = str(cache_dir)
