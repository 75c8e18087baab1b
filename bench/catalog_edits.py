"""What an admin waits for: checking a draft, saving it, and another replica following it.

    .venv/bin/python bench/catalog_edits.py [--matcher lexical|semantic] [--rounds N]

Each round adds a new example to one intent (a different one each round, so every draft is a
catalog never built before) and times, in this process:
- the baseline: building the knowledge of the unchanged catalog from its folder, warm
  (`intents.knowledge.build_knowledge`, what a replica does at start);
- Check: `CatalogEditor.draft` (the catalog written with the edit, built, the intent and its
  neighbours checked, the diff);
- Save: `CatalogEditor.save` right after (the checked draft is reused, then stored);
- Follow: a second replica's `CatalogSync.follow` of that revision (files from the store,
  written to its folder, built).
Prints the median seconds of each and its ratio to the baseline. Revisions are kept in memory
(the database's share is a few small queries); embeddings in var/bench-cache.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.catalog_edits import CatalogEditor  # noqa: E402
from bot.catalog_sync import CatalogSync  # noqa: E402
from intents.catalog import PACKAGED_DIR  # noqa: E402
from intents.drafts import etag, faq_intents  # noqa: E402
from intents.knowledge import KnowledgeBase, build_knowledge  # noqa: E402
from intents.multilingual import UseMultilingualEncoder  # noqa: E402
from intents.semantic import EmbeddingCache, Encoder  # noqa: E402
from storage.memory import MemoryCatalogRevisions  # noqa: E402

INTENTS = ("lingang_area", "lingang_history", "wfoe", "bank_account", "pricing")


def _timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def _edit(editor: CatalogEditor, other: CatalogSync, round_: int) -> dict[str, float]:
    """One new example checked, saved and followed; the seconds of each."""
    intent_id = INTENTS[round_ % len(INTENTS)]
    files = editor.sync.files()
    data = faq_intents(files)[intent_id].data
    examples = data["examples"]
    added = f"benchmark question {round_} {time.time_ns()} about {intent_id}"
    data["examples"] = {**examples, "en": [*examples.get("en", []), added]}
    seen = etag(files, intent_id)
    spent = {
        "check": _timed(lambda: editor.draft(intent_id, data)),
        "save": _timed(lambda: editor.save(intent_id, data, seen, "bench", comment="bench")),
        "follow": _timed(other.follow),
    }
    if other.version != editor.sync.version:
        raise SystemExit("the other replica did not follow the revision")
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--matcher", choices=("lexical", "semantic"), default="semantic")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    cache = ROOT / "var" / "bench-cache"  # not the bot's own cache folder
    cache.mkdir(parents=True, exist_ok=True)
    encoder: Encoder | None = None
    embeddings: EmbeddingCache | None = None
    if args.matcher == "semantic":
        encoder, embeddings = UseMultilingualEncoder(cache), EmbeddingCache(cache)
    work = Path(tempfile.mkdtemp(prefix="bench-catalog-"))
    revisions = MemoryCatalogRevisions()
    admin = CatalogSync(KnowledgeBase(PACKAGED_DIR, encoder, embeddings), revisions, work / "a")
    admin.start(PACKAGED_DIR)
    other = CatalogSync(KnowledgeBase(PACKAGED_DIR, encoder, embeddings), revisions, work / "b")
    other.start(PACKAGED_DIR)
    editor = CatalogEditor(admin)
    times: dict[str, list[float]] = {"baseline": [], "check": [], "save": [], "follow": []}
    for round_ in range(args.rounds):
        times["baseline"].append(_timed(lambda: build_knowledge(PACKAGED_DIR, encoder, embeddings)))
        for name, seconds in _edit(editor, other, round_).items():
            times[name].append(seconds)
    base = statistics.median(times["baseline"])
    print(f"{args.matcher} matcher, {args.rounds} rounds (median seconds, ratio to baseline)")
    for name, values in times.items():
        middle = statistics.median(values)
        print(f"  {name:<8} {middle:6.2f} s  x{middle / base:5.2f}")


if __name__ == "__main__":
    main()
