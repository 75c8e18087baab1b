"""What the funnel page costs as the event log grows.

    .venv/bin/python bench/funnel.py [--url DATABASE_URL] [--conversations N] [--rounds N]

Fills an empty database (a temporary SQLite file, or `--url`, e.g. a scratch PostgreSQL
database: its conversation_events and handoffs are emptied first) with N conversations over
60 days, about 8 events each (turns, 👍/👎, handoffs, leads), then times, in this process:
- the baseline: counting the turn events of the last 30 days (one range scan of the
  (kind, at) index: the least any per-period number costs);
- the funnel of the last 30 days, of all conversations, and of one language and channel.
Prints the median seconds of each and its ratio to the baseline. The tables are analyzed after
the load, as autovacuum would soon after (PostgreSQL's plans need the statistics).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import delete, func, select, text  # noqa: E402

from bot.core.dashboard import FunnelQuery, Period  # noqa: E402
from bot.core.records import ConversationEvent, EventKind  # noqa: E402
from storage.dashboard import SqlDashboard  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.events import SqlEventLog  # noqa: E402
from storage.models import ConversationEventRow, HandoffRow  # noqa: E402

END = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
STEPS: list[tuple[EventKind, str]] = [
    ("turn", "match"),
    ("turn", "match"),
    ("turn", "match"),
    ("turn", "clarify"),
    ("turn", "fallback"),
    ("turn", "form"),
    ("turn", "command"),
    ("feedback", "up"),
    ("feedback", "down"),
    ("handoff", "requested"),
    ("handoff", "claimed"),
    ("lead", "created"),
]


def fill(database: Database, conversations: int, seed: int = 7) -> int:
    """`conversations` conversations over the 60 days before `END`; how many events."""
    rng = random.Random(seed)
    log, batch, total, keys = SqlEventLog(database), [], 0, 0
    channels = ("telegram", "web", "slack")
    for number in range(conversations):
        at = END - timedelta(minutes=rng.randint(0, 60 * 24 * 60))
        channel, language = rng.choice(channels), rng.choice(("en", "en", "zh"))
        for _ in range(rng.randint(3, 13)):
            kind, outcome = rng.choice(STEPS)
            key = None
            if kind == "turn" and outcome == "match":
                keys += 1
                key = f"k{keys}"
            elif kind == "feedback":
                key = f"k{rng.randint(1, max(keys, 1))}"
            batch.append(
                ConversationEvent(
                    channel, f"c{number}", f"u{number}", kind, at, outcome=outcome,
                    language=language if kind == "turn" else None, answer_key=key,
                    intent_id=f"intent_{rng.randint(1, 80)}" if outcome == "match" else None,
                    text="what is the best pizza?" if outcome == "fallback" else None,
                )
            )  # fmt: skip
            at += timedelta(minutes=rng.randint(1, 30))
        if len(batch) >= 5000:
            log.add(batch)
            total, batch = total + len(batch), []
    log.add(batch)
    return total + len(batch)


def median_seconds(work: Callable[[], object], rounds: int) -> float:
    """The median wall time of `work` over `rounds` runs (after one warm-up)."""
    work()
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    """Fill, time, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a scratch database (default: a temporary SQLite file)")
    parser.add_argument("--conversations", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        database = Database(args.url or f"sqlite:///{Path(folder) / 'bench.db'}")
        database.upgrade()
        with database.transaction() as session:
            session.execute(delete(ConversationEventRow))
            session.execute(delete(HandoffRow))
        events = fill(database, args.conversations)
        # What autovacuum does within a minute of a bulk load: without statistics, PostgreSQL
        # plans the funnel for a near-empty table (nested loops over every feedback event).
        with database.engine.begin() as connection:
            connection.execute(text("ANALYZE"))
        period = Period.last_days(30, END.date())
        board = SqlDashboard(database)

        def baseline() -> int:
            counted = select(func.count()).where(
                ConversationEventRow.kind == "turn",
                ConversationEventRow.at >= period.since,
                ConversationEventRow.at < period.until,
            )
            with database.transaction() as session:
                return int(session.scalar(counted) or 0)

        base = median_seconds(baseline, args.rounds)
        everyone = board.funnel(FunnelQuery(period))
        print(f"{database.safe_url}: {events} events, {args.conversations} conversations")
        print(f"cohort of the last 30 days: {everyone.conversations} conversations")
        print(f"baseline (count the period's turns): {base:.4f} s")
        for name, query in (
            ("funnel, all", FunnelQuery(period)),
            ("funnel, zh on telegram", FunnelQuery(period, language="zh", channel="telegram")),
        ):
            took = median_seconds(lambda q=query: board.funnel(q), args.rounds)  # type: ignore[misc]
            print(f"{name}: {took:.4f} s ({took / base:.1f} x the baseline)")
        database.dispose()


if __name__ == "__main__":
    main()
