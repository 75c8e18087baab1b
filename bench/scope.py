"""The scope rule on held-out questions: near misses refused, in-scope questions kept.

    .venv/bin/python bench/scope.py [--set dev|sealed] [--show]

Reads every held-out question of the set (on `dev`: every intent's `tests:`, catalog.yaml's
`out_of_scope:` and `heldout/dev/*.yaml`, among them `scope.yaml`'s near misses and
questions naming a foreign place as the prospect's origin) and asks the scope rule alone
(`Knowledge.scope`, no matcher) whether it is about another place or organisation. Prints,
per language, the out-of-scope questions it refuses and the in-scope questions it refuses by
mistake; `--show` lists the mistakes and the out-of-scope questions left to the matcher. The
rule's cues (intents/scope.yaml) are tuned on `dev`; `sealed` is only reported. Also prints the
time and memory (tracemalloc peak) of building the rule, from the libraries and from the cache.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from intents.catalog import PACKAGED_DIR, load_catalog  # noqa: E402
from intents.heldout import load_heldout  # noqa: E402
from intents.knowledge import catalog_words  # noqa: E402
from intents.scope import Scope, library_gazetteer, scope_file  # noqa: E402


def _build(catalog_dir: Path, cache: Path) -> tuple[Scope, float, float]:
    catalog = load_catalog(catalog_dir)
    library_gazetteer.cache_clear()
    tracemalloc.start()
    started = time.perf_counter()
    scope = Scope.load(scope_file(catalog_dir), *catalog_words(catalog), cache_dir=cache)
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return scope, seconds, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", choices=("dev", "sealed"), default="dev")
    parser.add_argument("--show", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        _, cold, cold_peak = _build(PACKAGED_DIR, Path(folder))
        scope, warm, warm_peak = _build(PACKAGED_DIR, Path(folder))
    print(f"build from the libraries: {cold:.2f} s, peak {cold_peak:.1f} MB (tracemalloc)")
    print(f"build from the cache file: {warm:.2f} s, peak {warm_peak:.1f} MB")
    print(f"cache file against libraries: {cold / warm:.0f}x faster")
    held = load_heldout(load_catalog(PACKAGED_DIR), args.set)
    for lang in ("en", "zh"):
        outside = [q for q in held.out_of_scope if q.lang == lang]
        inside = [q for q in held.questions if q.lang == lang]
        refused = [q for q in outside if scope.outside(q.text)]
        wrong = [(q, found) for q in inside if (found := scope.outside(q.text))]
        print(
            f"{lang}: out of scope refused by the rule {len(refused)}/{len(outside)} "
            f"({len(refused) / max(len(outside), 1):.1%}); in-scope refused by mistake "
            f"{len(wrong)}/{len(inside)} ({len(wrong) / max(len(inside), 1):.1%})"
        )
        if args.show:
            for q, found in wrong:
                print(f"  WRONGLY REFUSED ({found.subject}): {q.text}  [{q.location}]")
            for q in outside:
                if q not in refused:
                    print(f"  left to the matcher: {q.text}")


if __name__ == "__main__":
    main()
