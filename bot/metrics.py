"""What `/metrics` tells Prometheus: messages by channel, how they were answered, how long the
engine took, leads by stage, sales notifications waiting, and failed platform API calls.

Each `App` has its own registry, so several apps in one process (tests) never share a count.
The database figures are read when Prometheus scrapes, at most once every few seconds; while
the database cannot be read they are left out and `lingang_database_up` is 0.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.core.ports import StorageUnavailable

log = logging.getLogger(__name__)

EXPOSITION_TYPE = CONTENT_TYPE_LATEST  # the Content-Type of `Metrics.exposition`
READING_TTL = 5.0  # seconds a database reading is served again without asking the database
# From a catalog answer (milliseconds) to a turn that waits for a busy database (seconds).
HANDLING_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass(frozen=True, slots=True)
class DatabaseReading:
    """The figures read from the database at scrape time."""

    leads_by_status: Mapping[str, int]
    outbox_depth: int


ReadDatabase = Callable[[], DatabaseReading]


class DatabaseGauges(Collector):
    """Leads by status and the outbox depth, read at scrape time and kept a few seconds."""

    def __init__(
        self,
        read: ReadDatabase,
        ttl: float = READING_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = read
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._reading: DatabaseReading | None = None
        self._read_at = float("-inf")

    def reading(self) -> DatabaseReading | None:
        """The latest reading, fresh if the kept one is older than the TTL; None while the
        database cannot be read."""
        with self._lock:
            if self._clock() - self._read_at >= self._ttl:
                try:
                    self._reading = self._read()
                except StorageUnavailable:
                    log.warning("metrics: database unavailable")
                    self._reading = None
                self._read_at = self._clock()
            return self._reading

    def collect(self) -> Iterable[Metric]:
        """The gauges, as Prometheus asks for them."""
        reading = self.reading()
        yield GaugeMetricFamily(
            "lingang_database_up",
            "1 when the database answered the latest reading, else 0.",
            value=0 if reading is None else 1,
        )
        if reading is None:
            return
        leads = GaugeMetricFamily("lingang_leads", "Leads by stage (status).", labels=["status"])
        for status, count in reading.leads_by_status.items():
            leads.add_metric([status], count)
        yield leads
        yield GaugeMetricFamily(
            "lingang_outbox_depth",
            "Notifications to sales waiting for delivery.",
            value=reading.outbox_depth,
        )


class Metrics:
    """The registry of one app, and the `TurnObserver` and `PlatformErrors` that fill it."""

    def __init__(self, read: ReadDatabase, ttl: float = READING_TTL) -> None:
        self.registry = CollectorRegistry()
        self._messages = Counter(
            "lingang_messages",
            "Incoming messages handled by the engine.",
            ["channel"],
            registry=self.registry,
        )
        self._answers = Counter(
            "lingang_answers",
            "Handled messages by outcome: match, clarify, fallback (not known), form, "
            "command, notice, refused (bad input), duplicate (a redelivery), feedback (a thumb "
            "pressed), handoff (asking for a person, or a message while a person has the chat).",
            ["channel", "outcome"],
            registry=self.registry,
        )
        self._handling = Histogram(
            "lingang_handling_seconds",
            "Time the engine took for one message.",
            ["channel"],
            buckets=HANDLING_BUCKETS,
            registry=self.registry,
        )
        self._platform_errors = Counter(
            "lingang_platform_api_errors",
            "Telegram and Slack Web API calls that failed, by reason: rate_limited (429), "
            "server_error (5xx), network, refused (the platform turned the call down).",
            ["platform", "reason"],
            registry=self.registry,
        )
        self.registry.register(DatabaseGauges(read, ttl))

    def handled(self, channel: str, outcome: str, seconds: float) -> None:
        """One message went through the engine (`TurnObserver`)."""
        self._messages.labels(channel).inc()
        self._answers.labels(channel, outcome).inc()
        self._handling.labels(channel).observe(seconds)

    def count(self, platform: str, reason: str) -> None:
        """A platform API call failed (`PlatformErrors`)."""
        self._platform_errors.labels(platform, reason).inc()

    def exposition(self) -> bytes:
        """Every metric in Prometheus' text format (reads the database if due)."""
        return generate_latest(self.registry)
