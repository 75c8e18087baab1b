"""The misses inbox under abuse: its page with 10,000 open questions against the page with 100.

    .venv/bin/python bench/inbox.py [--matcher lexical|semantic] [--questions N] [--baseline N]
    .venv/bin/python bench/inbox.py --tune [--matcher lexical|semantic]

For each kind of flood (`nonsense`: long distinct strings of random words, cut to 300
characters as they are stored; `realistic`: the catalog's own example questions in English
and Chinese with small variations), in one process on a fresh SQLite file:
- the baseline: `GET /admin/questions` (group + render, logged in as an admin) with `--baseline`
  open questions, all filed;
- the first load with `--questions` open and none filed (it files a bounded share);
- filing the whole backlog (`SqlUnanswered.group_pending`), per question;
- the page once everything is filed.
Prints the median seconds of each page and its ratio to the baseline.

`--tune` builds a development set from the catalog's examples (three per language of every
intent: the same intent's should meet in one group, different intents' should not), sweeps the
grouping threshold on half of the intents and reports pairwise precision and recall on the
other half at the threshold chosen: the lowest whose precision on the tuning half is at least
`--precision` (a wrong merge hides a question; a split only shows it twice).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fastapi.testclient import TestClient  # noqa: E402

from bot.app import App, build_app  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.core.questions import (  # noqa: E402
    MAX_QUESTION,
    CharacterGrams,
    assign,
    embed_questions,
    pairwise_quality,
    threshold_for,
)
from bot.web.app import create_app  # noqa: E402
from bot.web.security import hash_password  # noqa: E402
from intents.catalog import Catalog, load_catalog  # noqa: E402
from intents.multilingual import UseMultilingualEncoder  # noqa: E402
from intents.semantic import Encoder  # noqa: E402
from storage.models import UnansweredQuestionRow  # noqa: E402

BASE_URL = "http://127.0.0.1:8000"
EMAIL, PASSWORD = "bench@example.com", "bench bench bench bench"
START = datetime(2026, 11, 1, tzinfo=UTC)
WORDS = [
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "consectetur",
    "adipiscing",
    "elit",
    "sed",
    "do",
    "eiusmod",
    "tempor",
]


def _stable(text: str) -> int:
    return zlib.crc32(text.encode())


def nonsense(count: int, seed: int) -> list[str]:
    """Long distinct questions of random letters and words (each as stored: 300 characters)."""
    rnd = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    texts = []
    for _ in range(count):
        words = [
            rnd.choice(WORDS) if rnd.random() < 0.3 else "".join(rnd.sample(letters, 6))
            for _ in range(80)
        ]
        texts.append(" ".join(words)[:MAX_QUESTION])
    return texts


def realistic(catalog: Catalog, count: int, seed: int) -> list[str]:
    """The catalog's example questions (both languages), with small variations."""
    rnd = random.Random(seed)
    examples = [text for intent in catalog.intents.values() for _, text in intent.examples.items()]
    endings = ["", "?", " please", " thanks", "？", " asap", "!!"]
    return [rnd.choice(examples) + rnd.choice(endings) for _ in range(count)]


def add_questions(app: App, texts: list[str], first_minute: int) -> None:
    """Open misses, written in one transaction (the bot writes them one by one)."""
    with app.storage.database.transaction() as session:
        session.add_all(
            UnansweredQuestionRow(
                channel="web",
                conversation_id=f"c{first_minute + n}",
                user_id=f"u{first_minute + n}",
                text=text[:MAX_QUESTION],
                language="zh" if any("\u4e00" <= c <= "\u9fff" for c in text) else "en",
                at=START + timedelta(seconds=first_minute + n),
                reason=("fallback", "thumbs_down", "clarify", "handoff")[n % 4],
            )
            for n, text in enumerate(texts)
        )


def _timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def page_seconds(client: TestClient, loads: int) -> float:
    """The median seconds of `loads` loads of the inbox page."""
    times = []
    for _ in range(loads):
        started = time.perf_counter()
        response = client.get("/admin/questions")
        times.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise SystemExit(f"the inbox page answered {response.status_code}")
    return statistics.median(times)


def file_all(app: App, encoder: Encoder) -> float:
    """File every waiting miss; the seconds it took."""
    return _timed(lambda: app.storage.unanswered.group_pending(encoder, limit=10**9))


def run(kind: str, args: argparse.Namespace, encoder: Encoder | None) -> None:
    """One flood of `kind`, timed against the baseline page, in a fresh app."""
    with tempfile.TemporaryDirectory(prefix="bench-inbox-") as folder:
        settings = Settings(
            _env_file=None, LINGANG_DATA_DIR=Path(folder), LINGANG_MATCHER=args.matcher
        )
        app = build_app(settings)
        try:
            if encoder is not None and getattr(app.knowledge, "encoder", None) is None:
                # Until `KnowledgeBase.encoder` exists, give the inbox the matcher's encoder.
                app.knowledge.encoder = encoder  # type: ignore[attr-defined]
            grouping: Encoder = encoder or CharacterGrams()
            texts = (
                nonsense(args.questions, 1)
                if kind == "nonsense"
                else realistic(app.knowledge.current.catalog, args.questions, 1)
            )
            app.storage.staff.add_user(EMAIL, "admin", hash_password(PASSWORD), "bench")
            client = TestClient(create_app(app), base_url=BASE_URL, follow_redirects=False)
            with client:
                login = client.post(
                    "/login", data={"email": EMAIL, "password": PASSWORD, "next": "/"}
                )
                if login.status_code != 303:
                    raise SystemExit("could not log in")
                add_questions(app, texts[: args.baseline], 0)
                file_all(app, grouping)
                client.get("/admin/questions")  # warm: templates, the matcher's first calls
                base = page_seconds(client, args.loads)
                add_questions(app, texts[args.baseline :], args.baseline)
                first = _timed(lambda: client.get("/admin/questions"))
                waiting = app.storage.unanswered.pending(grouping.name)
                backlog = file_all(app, grouping)
                filed = page_seconds(client, args.loads)
        finally:
            app.close()
    n, b = args.questions, args.baseline
    print(f"{kind}, {grouping.name}: page with {b} open questions: {base:.3f} s (baseline)")
    print(
        f"{kind}: first page with {n} open, none filed: {first:.3f} s, ratio {first / base:.2f}"
        f" ({n - b - waiting} filed by it)"
    )
    print(
        f"{kind}: filing the other {waiting}: {backlog:.2f} s,"
        f" {backlog / max(waiting, 1) * 1000:.2f} ms each"
    )
    print(f"{kind}: page with {n} open, all filed: {filed:.3f} s, ratio {filed / base:.2f}")


def dev_set(catalog: Catalog, half: int, per_language: int) -> list[tuple[str, str, str]]:
    """(intent, language, question) of the intents of one half, a few per language, shuffled."""
    found = []
    for intent in catalog.intents.values():
        if _stable(intent.id) % 2 != half:
            continue
        for lang, texts in (("en", intent.examples.en), ("zh", intent.examples.zh)):
            found += [(intent.id, lang, t) for t in sorted(texts, key=_stable)[:per_language]]
    return sorted(found, key=lambda item: _stable(item[2]))


def quality(
    encoder: Encoder, items: list[tuple[str, str, str]], threshold: float
) -> tuple[float, ...]:
    """Pairwise precision and recall of grouping `items` at `threshold`, the recall of the
    English-Chinese pairs alone, and the number of groups made."""
    vectors = embed_questions(encoder, [text for _, _, text in items])
    done = assign(vectors, np.zeros((0, vectors.shape[1]), np.float32), threshold)
    precision, recall = pairwise_quality([intent for intent, _, _ in items], done.labels)
    crossed = met = 0
    for i, (intent, lang, _) in enumerate(items):
        for j in range(i + 1, len(items)):
            if items[j][0] == intent and items[j][1] != lang:
                crossed += 1
                met += done.labels[i] == done.labels[j]
    return precision, recall, met / max(crossed, 1), float(len(done.new_heads))


def tune(encoder: Encoder, floor: float, per_language: int) -> None:
    """Sweep thresholds on one half of the intents; report the other half at the choice."""
    catalog = load_catalog()
    tuning, held = dev_set(catalog, 0, per_language), dev_set(catalog, 1, per_language)
    print(f"{encoder.name}: tuning on {len(tuning)} questions, held apart {len(held)}")
    chosen = None
    for step in range(30, 90, 5):
        threshold = step / 100
        precision, recall, crossed, groups = quality(encoder, tuning, threshold)
        print(
            f"  {threshold:.2f}: precision {precision:.3f} recall {recall:.3f}"
            f" (English-Chinese {crossed:.3f}), {groups:.0f} groups"
        )
        if chosen is None and precision >= floor:
            chosen = threshold
    if chosen is None:
        print(f"  no threshold reaches precision {floor}")
        return
    in_use = threshold_for(encoder)
    print(f"chosen {chosen:.2f} (in use {in_use:.2f})")
    for threshold in sorted({chosen, in_use}):
        precision, recall, crossed, groups = quality(encoder, held, threshold)
        print(
            f"held apart at {threshold:.2f}: precision {precision:.3f} recall {recall:.3f}"
            f" (English-Chinese {crossed:.3f}), {groups:.0f} groups for {len(held)} questions"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--matcher", choices=("lexical", "semantic"), default="lexical")
    parser.add_argument("--questions", type=int, default=10_000)
    parser.add_argument("--baseline", type=int, default=100)
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--kinds", default="nonsense,realistic")
    parser.add_argument("--tune", action="store_true")
    parser.add_argument("--precision", type=float, default=0.5)
    parser.add_argument("--per-language", type=int, default=3)
    args = parser.parse_args()
    encoder: Encoder | None = None
    if args.matcher == "semantic":
        cache = ROOT / "var" / "bench-cache"  # not the bot's own cache folder
        cache.mkdir(parents=True, exist_ok=True)
        encoder = UseMultilingualEncoder(cache)
    if args.tune:
        tune(encoder or CharacterGrams(), args.precision, args.per_language)
        return
    for kind in args.kinds.split(","):
        run(kind, args, encoder)


if __name__ == "__main__":
    main()
