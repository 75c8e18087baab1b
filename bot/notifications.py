"""Delivering sales notifications from the outbox: every new or updated lead, once, even if the
sales channel is down for a while."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.core.ports import LEASE, LeadRepository, Notifier, Outbox
from bot.core.records import Lead

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
FIRST_RETRY = timedelta(seconds=15)
LAST_RETRY = timedelta(hours=1)


class LogNotifier:
    """The notifier when no sales channel is configured: a log line per lead, no personal data."""

    def notify(self, lead: Lead, kind: str) -> None:
        """Log the lead's id, score and status."""
        log.warning(
            "no sales channel configured: %s lead #%d (score %d, %s) waits in the database",
            "new" if kind == "lead_created" else "updated",
            lead.id,
            lead.score,
            lead.status,
        )


@dataclass(frozen=True, slots=True)
class Relay:
    """Moves notifications from the outbox to the notifier; a failure is retried with backoff."""

    outbox: Outbox
    leads: LeadRepository
    notifier: Notifier
    clock: Clock = lambda: datetime.now(UTC)
    lease: timedelta = LEASE

    def run_once(self, limit: int = 20) -> int:
        """Claim the due notifications and try each once; how many were delivered.

        Items still untried when the claim's lease runs out are left alone: another replica
        may have claimed them by then, and they are due again for anyone anyway.
        """
        delivered = 0
        claimed_at = self.clock()
        for item in self.outbox.claim(claimed_at, limit, self.lease):
            if self.clock() >= claimed_at + self.lease:
                break
            lead = self.leads.get(item.lead_id)
            now = self.clock()
            if lead is None:  # erased or purged meanwhile: nothing left to tell
                self.outbox.delivered(item.id, now)
                continue
            try:
                self.notifier.notify(lead, item.kind)
            except Exception as exc:
                wait = min(FIRST_RETRY * 2**item.attempts, LAST_RETRY)
                log.warning("notification %d failed (%s); retrying in %s", item.id, exc, wait)
                self.outbox.failed(item.id, f"{type(exc).__name__}: {exc}", now + wait)
                continue
            self.outbox.delivered(item.id, now)
            delivered += 1
        return delivered
