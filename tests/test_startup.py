"""Quick start: the cache is per user (not per working folder), read back instead of rebuilt,
and `ask`/`chat` import neither the web app nor the channels' SDKs."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

import intents.knowledge
import intents.multilingual
from bot import startup
from bot.config import Settings
from bot.core.answers import answer
from intents import knowledge_cache
from intents.catalog import PACKAGED_DIR
from intents.features import FloatArray
from intents.knowledge import KnowledgeBase
from intents.multilingual import UseMultilingualEncoder
from intents.semantic import EmbeddingCache, SemanticUnavailable

ROOT = Path(__file__).resolve().parent.parent


class CountingEncoder:
    """A cheap stand-in for the model: a vector from each text's hash; records what it embeds."""

    name = "counting-test-encoder"

    def __init__(self) -> None:
        self.texts: list[str] = []

    def encode(self, texts: Sequence[str]) -> FloatArray:
        self.texts.extend(texts)
        rows = []
        for text in texts:
            seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")
            row = np.random.default_rng(seed).standard_normal(16).astype(np.float32)
            rows.append(row / np.linalg.norm(row))
        return np.stack(rows) if rows else np.zeros((0, 16), np.float32)


def test_the_cache_folder_is_the_users_not_the_working_folders(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    monkeypatch.chdir(tmp_path / "a")
    first = Settings(_env_file=None).resolved_cache_dir
    monkeypatch.chdir(tmp_path / "b")
    assert Settings(_env_file=None).resolved_cache_dir == first == tmp_path / "xdg" / "lingang-bot"
    # The database and the chat history stay in the data folder.
    assert Settings(_env_file=None).data_dir == Path("var")


def test_without_xdg_cache_home_the_cache_is_in_the_home_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert Settings(_env_file=None).resolved_cache_dir == tmp_path / ".cache" / "lingang-bot"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")  # the spec says: ignore it
    assert Settings(_env_file=None).resolved_cache_dir == tmp_path / ".cache" / "lingang-bot"


def test_lingang_cache_dir_still_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("LINGANG_CACHE_DIR", str(tmp_path / "mine"))
    assert Settings(_env_file=None).resolved_cache_dir == tmp_path / "mine"


def test_a_second_working_folder_embeds_no_catalog_example(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """What `ask` and `chat` open (`bot.startup.open_knowledge`) from two folders in turn."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    encoder = CountingEncoder()
    monkeypatch.setattr(startup, "open_encoder", lambda settings: encoder)
    for folder in ("first", "second"):
        (tmp_path / folder).mkdir()
    monkeypatch.chdir(tmp_path / "first")
    startup.open_knowledge(Settings(_env_file=None))
    assert len(encoder.texts) > 100  # the catalog's examples, embedded once
    encoder.texts.clear()

    monkeypatch.chdir(tmp_path / "second")
    # Not built again either: the knowledge itself is read from the user's cache.
    monkeypatch.setattr(intents.knowledge, "build_knowledge", _no_build)
    knowledge = startup.open_knowledge(Settings(_env_file=None))
    assert encoder.texts == []
    assert answer(knowledge.current, "What is Lingang?").match is not None
    assert not (tmp_path / "first" / "var").exists()
    assert not (tmp_path / "second" / "var").exists()


def _no_build(*args: object) -> None:
    raise AssertionError("built again instead of read from the cache")


def test_the_knowledge_read_back_answers_as_the_one_built(tmp_path: Path) -> None:
    encoder = CountingEncoder()
    built = KnowledgeBase(PACKAGED_DIR, encoder, EmbeddingCache(tmp_path), tmp_path, tmp_path)
    read = KnowledgeBase(PACKAGED_DIR, encoder, EmbeddingCache(tmp_path), tmp_path, tmp_path)
    assert read.current is not built.current
    assert read.current.matcher.semantic
    for question in ("What is Lingang?", "临港在哪里", "tax rates in Paris", "hello"):
        ours, theirs = answer(built.current, question), answer(read.current, question)
        assert ours.reply == theirs.reply
        assert ours.match == theirs.match


def test_a_changed_catalog_is_built_again(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog"
    (catalog / "faq").mkdir(parents=True)
    for path in [*PACKAGED_DIR.glob("*.yaml"), *PACKAGED_DIR.glob("faq/*.yaml")]:
        target = catalog / path.relative_to(PACKAGED_DIR)
        target.write_bytes(path.read_bytes())
    if (PACKAGED_DIR / "forms").is_dir():
        (catalog / "forms").mkdir()
        for path in (PACKAGED_DIR / "forms").glob("*.yaml"):
            (catalog / "forms" / path.name).write_bytes(path.read_bytes())
    cache = tmp_path / "cache"
    before = knowledge_cache.cache_key(catalog, None)
    KnowledgeBase(catalog, knowledge_cache=cache)
    faq = sorted((catalog / "faq").glob("*.yaml"))[0]
    faq.write_text(faq.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    assert knowledge_cache.cache_key(catalog, None) != before
    assert knowledge_cache.cache_key(catalog, CountingEncoder()) != before
    KnowledgeBase(catalog, knowledge_cache=cache)
    assert len(list(cache.glob("knowledge-*.pickle"))) == 2


def test_a_damaged_cache_file_is_built_again(tmp_path: Path) -> None:
    KnowledgeBase(PACKAGED_DIR, knowledge_cache=tmp_path)
    [file] = tmp_path.glob("knowledge-*.pickle")
    file.write_bytes(file.read_bytes()[:1000])
    again = KnowledgeBase(PACKAGED_DIR, knowledge_cache=tmp_path)
    assert answer(again.current, "What is Lingang?").match is not None
    assert file.stat().st_size > 1_000_000  # written whole again


def test_writes_are_atomic_and_leave_no_partial_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def broken(self: object, obj: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(knowledge_cache._Pickler, "dump", broken)
    KnowledgeBase(PACKAGED_DIR, knowledge_cache=tmp_path)  # still starts
    assert list(tmp_path.iterdir()) == []


def test_only_the_newest_knowledge_files_are_kept(tmp_path: Path) -> None:
    for index in range(knowledge_cache.KEEP_FILES + 2):
        stale = tmp_path / f"knowledge-{index:032d}.pickle"
        stale.write_bytes(b"")
        os.utime(stale, (index, index))
    KnowledgeBase(PACKAGED_DIR, knowledge_cache=tmp_path)
    kept = sorted(p.name for p in tmp_path.glob("knowledge-*.pickle"))
    assert len(kept) == knowledge_cache.KEEP_FILES
    assert f"knowledge-{knowledge_cache.KEEP_FILES + 1:032d}.pickle" in kept


def test_the_model_is_read_back_without_loading_the_package_again(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, cache_dir: Path
) -> None:
    try:
        loaded = UseMultilingualEncoder(tmp_path)
    except SemanticUnavailable as exc:
        pytest.skip(str(exc))
    assert list(tmp_path.glob("use-m3-model-*.pickle"))

    def no_check(package_dir: Path) -> None:
        raise AssertionError("loaded from the package again")

    monkeypatch.setattr(intents.multilingual, "_check_files", no_check)
    read = UseMultilingualEncoder(tmp_path)
    texts = ["What is Lingang?", "临港在哪里", "外商独资企业注册要多久"]
    np.testing.assert_array_equal(read.encode(texts), loaded.encode(texts))
    assert isinstance(read._model._model.table, np.memmap)  # the table stays mapped


def test_ask_and_chat_import_no_web_app_database_or_sdk() -> None:
    probe = (
        "import sys, bot.cli;"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules} & {'fastapi', "
        "'starlette', 'uvicorn', 'telegram', 'slack_bolt', 'slack_sdk', 'argon2', 'jinja2', "
        "'sqlalchemy', 'alembic', 'storage', 'sklearn', 'httpx'})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == []


def test_a_cache_folder_that_cannot_be_written_does_not_stop_the_start(tmp_path: Path) -> None:
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("")  # a file where the cache folder should be: nothing can go there
    encoder = CountingEncoder()
    base = KnowledgeBase(PACKAGED_DIR, encoder, EmbeddingCache(blocked), blocked, blocked)
    assert answer(base.current, "What is Lingang?").match is not None
    assert base.current.matcher.semantic


def test_a_cache_file_others_can_write_is_not_unpickled(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A pickle runs code when read: a folder shared with other users is never trusted."""
    shared = tmp_path / "shared"
    shared.mkdir()
    KnowledgeBase(PACKAGED_DIR, knowledge_cache=shared)
    [file] = shared.glob("knowledge-*.pickle")
    assert knowledge_cache.trusted(file)
    shared.chmod(0o777)
    assert not knowledge_cache.trusted(file)
    monkeypatch.setattr(intents.knowledge, "build_knowledge", _no_build)
    with pytest.raises(AssertionError, match="built again"):
        KnowledgeBase(PACKAGED_DIR, knowledge_cache=shared)
    shared.chmod(0o755)
    file.chmod(0o666)
    assert not knowledge_cache.trusted(file)
