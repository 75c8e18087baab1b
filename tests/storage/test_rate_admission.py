"""`RateBudget.admit`: take a slot only when it is free now, in memory and on each database;
two replicas (two connection pools) together never admit more than the budget."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.core.ports import Budget, RateBudget
from storage.db import Database
from storage.memory import MemoryRateBudget
from storage.ratebudget import SqlRateBudget
from tests.conftest import BACKENDS, _open

THREE_A_MINUTE = Budget("chat:client", 20.0, burst=3)


@pytest.fixture(params=["memory", *BACKENDS])
def budget(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RateBudget]:
    """The port in memory and on each database in turn."""
    if request.param == "memory":
        yield MemoryRateBudget()
        return
    database = _open(request, str(request.param), tmp_path)
    try:
        yield SqlRateBudget(database, "web")
    finally:
        database.dispose()


def test_a_burst_is_admitted_then_refused_until_a_slot_frees(budget: RateBudget) -> None:
    assert [budget.admit(THREE_A_MINUTE, 1000.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert budget.admit(THREE_A_MINUTE, 1000.0) == pytest.approx(20.0)
    assert budget.admit(THREE_A_MINUTE, 1010.0) == pytest.approx(10.0)
    assert budget.admit(THREE_A_MINUTE, 1020.0) == 0.0, "refusals took nothing"
    assert budget.admit(THREE_A_MINUTE, 1020.0) == pytest.approx(20.0)


def test_clients_are_counted_apart(budget: RateBudget) -> None:
    one = Budget("chat:one", 60.0)
    assert budget.admit(one, 1000.0) == 0.0
    assert budget.admit(one, 1000.0) == pytest.approx(60.0)
    assert budget.admit(Budget("chat:two", 60.0), 1000.0) == 0.0


def test_two_replicas_at_once_admit_only_the_burst(database: Database) -> None:
    pools = [Database(database.url) for _ in range(2)]
    admitted: list[float] = []
    lock = threading.Lock()

    def send(replica: SqlRateBudget) -> None:
        for _ in range(10):
            wait = replica.admit(Budget("chat:busy", 60.0, burst=5), 1000.0)
            with lock:
                admitted.append(wait)

    try:
        threads = [threading.Thread(target=send, args=(SqlRateBudget(p, "web"),)) for p in pools]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for pool in pools:
            pool.dispose()
    assert admitted.count(0.0) == 5
