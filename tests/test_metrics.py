"""The database gauges are read at scrape time and kept for a few seconds; a database that
cannot be read leaves them out and sets `lingang_database_up` to 0 until it answers again."""

from __future__ import annotations

from bot.core.ports import StorageUnavailable
from bot.metrics import DatabaseGauges, DatabaseReading


class Database:
    """Readings on demand, or a failure while `down`."""

    def __init__(self) -> None:
        self.reads = 0
        self.down = False
        self.new_leads = 1

    def read(self) -> DatabaseReading:
        self.reads += 1
        if self.down:
            raise StorageUnavailable("down")
        return DatabaseReading({"new": self.new_leads, "lost": 0}, outbox_depth=2)


def exposed(gauges: DatabaseGauges) -> dict[tuple[str, tuple[str, ...]], float]:
    return {
        (sample.name, tuple(sample.labels.values())): sample.value
        for family in gauges.collect()
        for sample in family.samples
    }


def test_a_reading_is_kept_for_the_ttl_then_read_again() -> None:
    database, now = Database(), [100.0]
    gauges = DatabaseGauges(database.read, ttl=5, clock=lambda: now[0])
    assert exposed(gauges) == {
        ("lingang_database_up", ()): 1,
        ("lingang_leads", ("new",)): 1,
        ("lingang_leads", ("lost",)): 0,
        ("lingang_outbox_depth", ()): 2,
    }
    database.new_leads = 3
    now[0] += 4
    assert exposed(gauges)[("lingang_leads", ("new",))] == 1
    assert database.reads == 1
    now[0] += 1
    assert exposed(gauges)[("lingang_leads", ("new",))] == 3
    assert database.reads == 2


def test_while_the_database_is_down_only_its_state_is_exposed() -> None:
    database, now = Database(), [100.0]
    gauges = DatabaseGauges(database.read, ttl=5, clock=lambda: now[0])
    database.down = True
    assert exposed(gauges) == {("lingang_database_up", ()): 0}
    database.down = False
    now[0] += 5
    assert exposed(gauges)[("lingang_database_up", ())] == 1
