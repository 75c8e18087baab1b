"""Argon2 on a few threads of its own, behind a bounded queue.

A password check costs 64 MiB and about a tenth of a second of a core. Run on asyncio's
default executor, a flood of logins would occupy the threads that every database call and
`/readyz` need, and the proxy would then take the replica for dead. Here hashing has its own
threads; when they and the queue in front of them are full, a login is refused at once
(`PoolFull`: 429, try again shortly) instead of waiting, and nothing else slows down.

One thread: each running check holds its 64 MiB at once, so the threads bound the memory a
replica may need on top of its usual size (a second thread let two logins raise a replica by
128 MiB). One core checks about ten passwords a second, ample for staff logins; the queue
absorbs a burst.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

THREADS = 1
WAITING = 4  # checks that may queue behind the busy thread (about 0.1 s of wait each)
T = TypeVar("T")


class PoolFull(Exception):
    """Every hashing thread is busy and the queue is full: try again in a moment."""


class PasswordPool:
    """Check and hash passwords on `threads` threads, with at most `waiting` checks queued."""

    def __init__(
        self, hasher: PasswordHasher, threads: int = THREADS, waiting: int = WAITING
    ) -> None:
        self.hasher = hasher
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="argon2")
        self._slots = threading.BoundedSemaphore(threads + waiting)

    async def verify(self, stored: str, password: str) -> bool:
        """Whether `password` matches the hash `stored`; `PoolFull` when no slot is free."""
        return await self._run(self._matches, stored, password)

    async def hash(self, password: str) -> str:
        """A new hash of `password`; `PoolFull` when no slot is free."""
        return await self._run(self.hasher.hash, password)

    def _matches(self, stored: str, password: str) -> bool:
        try:
            return self.hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    async def _run(self, work: Callable[..., T], *args: str) -> T:
        if not self._slots.acquire(blocking=False):
            raise PoolFull
        try:
            job: Future[T] = self._executor.submit(work, *args)
        except BaseException:
            self._slots.release()
            raise
        # The slot is freed when the work is done or dropped from the queue, not when the
        # request stops waiting for it: a client that hangs up does not free a busy thread.
        job.add_done_callback(lambda _: self._slots.release())
        return await asyncio.wrap_future(job)
