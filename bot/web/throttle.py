"""Back-off after failed logins, per account and per client, across replicas.

A few failures are free; after them, the next attempt is allowed only once a delay has passed
since the latest failure, a delay that doubles with each further failure up to a cap. Attempts
refused while held back are not counted, so nobody can keep a lock sliding by knocking on it,
and a held-back attempt costs no password hash. A successful login ends its account's back-off
(not its client's: one valid login would otherwise reset a guesser's budget);
`lingang-bot users unlock` ends it too.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

IPV6_CLIENT_PREFIX = 64  # one subscriber's network: a client that rotates addresses inside it
_MAX_DOUBLINGS = 20  # beyond this the cap applies anyway; keeps the arithmetic small


class FailureLog(Protocol):
    """Where failed logins are counted (`storage.staff.SqlStaff`)."""

    def record_failure(self, keys: list[str], now: datetime) -> None: ...
    def failures_since(self, key: str, since: datetime) -> tuple[int, datetime | None]: ...
    def clear_failures(self, key: str) -> int: ...


@dataclass(frozen=True, slots=True)
class Backoff:
    """How a key is held back: `free` failures without delay, then `first`, doubling with
    each further failure up to `cap`; failures older than `memory` no longer count."""

    free: int
    first: timedelta
    cap: timedelta
    memory: timedelta

    def delay(self, failures: int) -> timedelta:
        """How long after the latest of `failures` failures the next attempt waits."""
        if failures < self.free:
            return timedelta(0)
        return min(self.cap, self.first * (1 << min(failures - self.free, _MAX_DOUBLINGS)))


# An account is remembered for a day, so a guesser at the cap stays at the cap; a client (which
# may be an office behind one address) for an hour.
ACCOUNT = Backoff(
    free=5, first=timedelta(seconds=30), cap=timedelta(minutes=15), memory=timedelta(days=1)
)
CLIENT = Backoff(
    free=20, first=timedelta(seconds=30), cap=timedelta(minutes=15), memory=timedelta(hours=1)
)
# The oldest failure any key still counts: the daily purge keeps them at least this long
# (`storage.retention.LOGIN_FAILURES`).
FAILURE_MEMORY = max(ACCOUNT.memory, CLIENT.memory)


def account_key(email: str) -> str:
    """The key of the address a login tried (any case, any surrounding spaces)."""
    return f"email:{email.strip().casefold()}"


def client_key(host: str) -> str:
    """The key of the client: an IPv4 address as is, an IPv6 address by its /64 network (a
    subscriber gets a whole /64 and can pick any address inside it)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return f"client:{host}"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return f"client:{address.ipv4_mapped}"
        network = ipaddress.IPv6Network((address, IPV6_CLIENT_PREFIX), strict=False)
        return f"client:{network}"
    return f"client:{address}"


@dataclass(frozen=True, slots=True)
class Attempt:
    """Who tries to log in: the keys of the account and of the client."""

    account: str
    client: str

    @classmethod
    def of(cls, email: str, host: str) -> Attempt:
        """The keys of a login with `email` from the client address `host`."""
        return cls(account_key(email), client_key(host))


class Throttle:
    """Decide whether an attempt must wait, and count failures."""

    def __init__(
        self, log: FailureLog, account: Backoff = ACCOUNT, client: Backoff = CLIENT
    ) -> None:
        self._log = log
        self._account = account
        self._client = client

    def wait(self, attempt: Attempt, now: datetime) -> timedelta:
        """How long until `attempt` may be checked (zero: now)."""
        return max(
            self._wait(attempt.account, self._account, now),
            self._wait(attempt.client, self._client, now),
        )

    def failed(self, attempt: Attempt, now: datetime) -> None:
        """Count a wrong password (or an unknown or disabled account)."""
        self._log.record_failure([attempt.account, attempt.client], now)

    def succeeded(self, attempt: Attempt) -> None:
        """A login worked: its account's back-off ends."""
        self._log.clear_failures(attempt.account)

    def _wait(self, key: str, rule: Backoff, now: datetime) -> timedelta:
        count, latest = self._log.failures_since(key, now - rule.memory)
        if latest is None:
            return timedelta(0)
        return max(timedelta(0), latest + rule.delay(count) - now)
