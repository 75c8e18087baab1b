"""What issue 15 adds to every message: the handoff check at the choke point and the turn event.

    .venv/bin/python bench/handoff.py [--url DATABASE_URL] [--messages N] [--rounds N]

Times, in this process, on one database (a temporary SQLite file, or `--url`):
- the baseline: the engine as before issue 15 (no event log, no handoff desk);
- the same engine with the event log (every answer offers 👍/👎 and writes a turn event);
- with the event log and the handoff desk (one more query per message: who holds the chat);
- a message relayed to a person (the chat is held: the bot is silent, the message is queued).
Each is N questions from N fresh conversations (the lexical matcher, so matching costs little
and the storage work shows); prints the median milliseconds per message and the ratio to the
baseline.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.core.handoff import HandoffDesk  # noqa: E402
from bot.core.messages import Incoming  # noqa: E402
from intents.catalog import PACKAGED_DIR  # noqa: E402
from intents.knowledge import KnowledgeBase  # noqa: E402
from storage.db import Database  # noqa: E402
from tests.chat import sql_stores  # noqa: E402

# A Tuesday, 10:00 in Shanghai: within office hours.
OPEN = datetime(2026, 12, 8, 2, 0, tzinfo=UTC)
QUESTION = "how big is Lingang?"


def timed(run: Callable[[str], object], messages: int, tag: str) -> float:
    """Seconds per message of `messages` fresh conversations."""
    started = time.perf_counter()
    for index in range(messages):
        run(f"{tag}-{index}")
    return (time.perf_counter() - started) / messages


def compare(
    runs: dict[str, Callable[[str], object]], messages: int, rounds: int
) -> dict[str, float]:
    """The median seconds per message of each run, the runs taking turns in every round (so
    that a busy moment of the machine falls on all of them), after one warm-up round."""
    for name, run in runs.items():
        timed(run, min(messages, 20), f"warm-{name}")
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for number in range(rounds):
        for name, run in runs.items():
            seconds[name].append(timed(run, messages, f"{name}-{number}"))
    return {name: statistics.median(values) for name, values in seconds.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a scratch database (default: a temporary SQLite file)")
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.url or f"sqlite:///{Path(folder) / 'bench.db'}"
        database = Database(url)
        database.upgrade()
        knowledge = KnowledgeBase(PACKAGED_DIR)
        stores = sql_stores(database)
        desk = HandoffDesk(stores.handoffs, stores.events, lambda: OPEN)
        engines = {
            "before issue 15 (baseline)": stores.engine(knowledge, clock=lambda: OPEN),
            "with the event log": stores.engine(knowledge, clock=lambda: OPEN, rated=True),
            "with the event log and the desk": stores.engine(
                knowledge, clock=lambda: OPEN, desk=desk
            ),
        }

        def asker(name: str) -> Callable[[str], object]:
            handle = engines[name].handle
            return lambda who: handle(Incoming("bench", who, who, QUESTION))

        held = engines["with the event log and the desk"]
        holding = (args.messages * args.rounds + 20) * 1
        for index in range(holding):  # chats a person holds, one per relayed message
            held.handle(
                Incoming("bench", f"held-{index}", f"held-{index}", "human please", private=True)
            )
        counter = iter(range(holding))

        def relayed(_: str) -> object:
            who = f"held-{next(counter)}"
            return held.handle(Incoming("bench", who, who, "we make chips"))

        runs = {name: asker(name) for name in engines}
        runs["relayed to a person (bot silent)"] = relayed
        results = compare(runs, args.messages, args.rounds)
        database.dispose()
    baseline = results["before issue 15 (baseline)"]
    print(f"{args.messages} messages x {args.rounds} rounds on {url.split(':')[0]}")
    for name, seconds in results.items():
        print(f"{name}: {seconds * 1000:.2f} ms per message, ratio {seconds / baseline:.2f}")


if __name__ == "__main__":
    main()
