"""The password pool bounds the memory Argon2 takes: one check (19 MiB) at a time."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Literal

from argon2 import PasswordHasher

from bot.web import security
from bot.web.password_pool import THREADS, WAITING, PasswordPool


class CountingHasher(PasswordHasher):
    """Argon2 (the cheapest profile) that counts how many checks run at once."""

    def __init__(self) -> None:
        super().__init__(memory_cost=8, time_cost=1, parallelism=1)
        self._lock = threading.Lock()
        self.running = 0
        self.most = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        with self._lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            time.sleep(0.05)  # long enough for the others to start, were there threads for them
            return super().verify(hash, password)
        finally:
            with self._lock:
                self.running -= 1


def test_checks_run_one_at_a_time_so_a_replica_holds_one_hashs_memory_at_most() -> None:
    hasher = CountingHasher()
    stored = hasher.hash("correct horse battery")
    pool = PasswordPool(hasher)

    async def logins() -> list[bool]:
        checks = [pool.verify(stored, "correct horse battery") for _ in range(THREADS + WAITING)]
        return await asyncio.gather(*checks)

    assert asyncio.run(logins()) == [True] * (THREADS + WAITING)
    assert hasher.most == 1
    assert THREADS == 1
    assert security.HASHER.memory_cost == 19 * 1024  # KiB: the 19 MiB the docs account for
