"""Replicas on the machine's PostgreSQL (a fresh database per test, migrated as an operator
migrates it), or on a throwaway server of their own for the tests that stop the database."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.cli.commands import run
from tests.databases import PostgresUnreachable, fresh_postgres, unavailable
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.telegram_api import FakeBotApi
from tests.production.cluster import Cluster
from tests.production.pgserver import PostgresUnavailable, ThrowawayPostgres

MakeCluster = Callable[..., Cluster]


def migrate(url: str, folder: Path) -> None:
    """`lingang-bot db upgrade`, as an operator runs it before starting replicas."""
    done = run("db", "upgrade", env={"LINGANG_DATABASE_URL": url}, cwd=folder)
    assert done.returncode == 0, done.stderr.decode()


@contextmanager
def machine_database_in(folder: Path) -> Iterator[str]:
    """A fresh database on the machine's PostgreSQL, migrated by `lingang-bot db upgrade`
    (run in `folder`); dropped afterwards."""
    with contextlib.ExitStack() as stack:
        try:
            url = stack.enter_context(fresh_postgres("lingang_replicas"))
        except PostgresUnreachable as exc:
            unavailable(str(exc))
        migrate(url, folder)
        yield url


@pytest.fixture
def machine_database(tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database on the machine's PostgreSQL for one test."""
    with machine_database_in(tmp_path) as url:
        yield url


@pytest.fixture
def throwaway_postgres() -> Iterator[ThrowawayPostgres]:
    """A PostgreSQL server of the test's own, which the test may stop and start."""
    try:
        server = ThrowawayPostgres()
    except PostgresUnavailable as exc:
        unavailable(str(exc))
    try:
        yield server.create()
    finally:
        server.remove()


@pytest.fixture
def throwaway_database(throwaway_postgres: ThrowawayPostgres, tmp_path: Path) -> str:
    """A migrated database on the throwaway server."""
    url = throwaway_postgres.create_database("lingang")
    migrate(url, tmp_path)
    return url


@pytest.fixture
def slack_api() -> Iterator[FakeSlackApi]:
    """A fake Slack Web API on 127.0.0.1."""
    with FakeSlackApi() as fake:
        yield fake


@pytest.fixture
def make_cluster(api: FakeBotApi, slack_api: FakeSlackApi, tmp_path: Path) -> Iterator[MakeCluster]:
    """Build a cluster on a database URL (replicas killed at the end of the test)."""
    made: list[Cluster] = []

    def make(database_url: str, **settings: str) -> Cluster:
        cluster = Cluster(database_url, tmp_path, api, slack_api, **settings)
        made.append(cluster)
        return cluster

    try:
        yield make
    finally:
        for cluster in made:
            cluster.close()
