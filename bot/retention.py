"""The daily purge that keeps the privacy notice's promise (`LINGANG_RETENTION_DAYS`).

A running web app checks every `CHECK_SECONDS` whether today's purge (UTC day) was done; the
first replica to claim the day (`PeriodicRuns.claim`) runs it, the others skip. The purge
itself (`Retention.purge`, every table) also skips while another one runs, such as a
`lingang-bot leads purge` at the same moment. A claimed day whose purge failed is not tried
again: the next day's purge covers everything the missed one would have deleted.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.core.ports import PeriodicRuns, Retention, StorageUnavailable

log = logging.getLogger(__name__)

JOB = "retention_purge"
CHECK_SECONDS = 3600.0  # how often a running web app asks whether today's purge is done

Clock = Callable[[], datetime]


def summary(counts: Mapping[str, int]) -> str:
    """`table n, ...` for the tables something happened to, or "nothing" (no personal data:
    table names and numbers only)."""
    return ", ".join(f"{table} {n}" for table, n in counts.items() if n) or "nothing"


def _replica() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True, slots=True)
class DailyPurge:
    """Runs the purge once a day on one replica; `run_once` is safe to call as often as one
    likes."""

    retention: Retention
    runs: PeriodicRuns
    clock: Clock = lambda: datetime.now(UTC)
    replica: str = field(default_factory=_replica)

    def run_once(self) -> str:
        """Purge if no replica did today; what happened ("taken", "busy", "purged")."""
        now = self.clock()
        if not self.runs.claim(JOB, now.date().isoformat(), self.replica, now):
            return "taken"
        counts = self.retention.purge(now)
        if counts is None:
            log.info("retention purge skipped: another purge is running")
            return "busy"
        log.info("retention purge done: %s", summary(counts))
        return "purged"

    async def keep_purging(self) -> None:
        """Check every `CHECK_SECONDS` until cancelled, the first time only after a wait: a
        process that runs for a moment (a test, a one-off command, a crash loop) purges
        nothing. A failure is logged, not fatal."""
        while True:
            await asyncio.sleep(CHECK_SECONDS)
            try:
                await asyncio.to_thread(self.run_once)
            except StorageUnavailable:
                log.warning("retention purge skipped: database unavailable")
            except Exception:
                log.exception("retention purge failed: the next day's covers it")
