"""Logins for the web app: Argon2id passwords, server-side sessions, CSRF tokens, throttling.

The session cookie holds a random token; the database holds only its SHA-256, the user, a CSRF
token (synchronizer pattern) and when it was started and last used. A session ends after
`LINGANG_SESSION_IDLE_MINUTES` without a request, after `LINGANG_SESSION_MAX_HOURS` in all, at
logout, when its user is disabled and when their password is set; every replica sees that at
once. Failed logins hold an account and a client back for a while (`bot.web.throttle`);
passwords are checked on a pool of their own (`bot.web.password_pool`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Protocol

from argon2 import PasswordHasher

from bot.core.staff import ApiToken, Role, StaffSession, StaffUser
from bot.web.password_pool import PasswordPool, PoolFull
from bot.web.throttle import Attempt, FailureLog, Throttle

COOKIE = "__Host-lingang_session"  # without the prefix over plain http (bot.web.context)
# Argon2id at OWASP's recommended configuration (m=19 MiB, t=2, p=1; Password Storage Cheat
# Sheet): argon2-cffi's default profile (RFC 9106's low-memory one, m=64 MiB, t=3, p=4) took
# 64 MiB a check, which put a replica over its 250 MB while an admin logged in (issue 17).
# Hashes made with the old profile are replaced at their next login (`check_needs_rehash`).
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# A hash to verify against when the address is unknown, so both cases take the same time.
_DUMMY_HASH = HASHER.hash(secrets.token_urlsafe(16))
MIN_PASSWORD_LENGTH = 12
Clock = Callable[[], datetime]


class StaffStore(FailureLog, Protocol):
    """What logins need of the staff tables (`storage.staff.SqlStaff`)."""

    def credentials(self, email: str) -> tuple[StaffUser, str] | None: ...
    def rehash_password(self, user_id: int, password_hash: str) -> None: ...
    def start_session(self, user_id: int, session_id: str, csrf: str, now: datetime) -> None: ...
    def session(self, session_id: str) -> StaffSession | None: ...
    def touch_session(self, session_id: str, now: datetime) -> None: ...
    def end_session(self, session_id: str) -> None: ...
    def use_token(self, token_hash: str, now: datetime) -> ApiToken | None: ...


def hash_password(password: str) -> str:
    """An Argon2id hash (`$argon2id$...`) of a password."""
    return HASHER.hash(password)


def password_problem(password: str) -> str | None:
    """Why a new password is not accepted, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"a password needs at least {MIN_PASSWORD_LENGTH} characters"
    return None


def new_password() -> str:
    """A random password for a first admin (about 120 bits)."""
    return secrets.token_urlsafe(15)


def digest(secret: str) -> str:
    """The SHA-256 under which a session or API token is stored."""
    return hashlib.sha256(secret.encode()).hexdigest()


def same(given: str, expected: str) -> bool:
    """Constant-time comparison of two tokens."""
    return hmac.compare_digest(given.encode(), expected.encode())


class LoginRefused(Exception):
    """Wrong address or password, or a disabled user (one message for all)."""


class HeldBack(Exception):
    """Too many failed logins for the address or from the client: try again after a while."""

    def __init__(self, wait: timedelta) -> None:
        super().__init__(wait)
        self.wait = wait

    @property
    def seconds(self) -> int:
        """Whole seconds to wait (for `Retry-After`), at least one."""
        return max(1, math.ceil(self.wait.total_seconds()))


@dataclass(frozen=True, slots=True)
class Login:
    """A session just started: the cookie's value and the session."""

    token: str
    session: StaffSession


class Sessions:
    """Log in, look up and end sessions."""

    def __init__(
        self,
        staff: StaffStore,
        idle: timedelta,
        lifetime: timedelta,
        clock: Clock = lambda: datetime.now(UTC),
        passwords: PasswordPool | None = None,
    ) -> None:
        self._staff = staff
        self.idle = idle
        self.lifetime = lifetime
        self._clock = clock
        self._throttle = Throttle(staff)
        self.passwords = passwords or PasswordPool(HASHER)

    async def login(self, email: str, password: str, client: str) -> Login:
        """Check the credentials and start a new session.

        `HeldBack` while the address or the client must wait after failures (the attempt is
        not counted and no password is checked); `PoolFull` when every hashing thread is busy;
        `LoginRefused` for a wrong address or password or a disabled user (counted).
        """
        now = self._clock()
        attempt = Attempt.of(email, client)
        wait, found = await asyncio.to_thread(self._before_check, attempt, email, now)
        if wait > timedelta(0):
            raise HeldBack(wait)
        user, stored = found if found else (None, _DUMMY_HASH)
        if not await self.passwords.verify(stored, password):
            user = None
        if user is None or user.disabled:
            await asyncio.to_thread(self._throttle.failed, attempt, now)
            raise LoginRefused
        rehashed = None
        if self.passwords.hasher.check_needs_rehash(stored):
            with contextlib.suppress(PoolFull):  # then at a later login: this one is good
                rehashed = await self.passwords.hash(password)
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        start = partial(self._start, user=user, attempt=attempt, csrf=csrf, now=now)
        await asyncio.to_thread(start, session_id=digest(token), rehashed=rehashed)
        return Login(token, StaffSession(user, csrf, now, now))

    def _before_check(
        self, attempt: Attempt, email: str, now: datetime
    ) -> tuple[timedelta, tuple[StaffUser, str] | None]:
        wait = self._throttle.wait(attempt, now)
        return wait, None if wait > timedelta(0) else self._staff.credentials(email)

    def _start(
        self,
        *,
        user: StaffUser,
        attempt: Attempt,
        session_id: str,
        csrf: str,
        now: datetime,
        rehashed: str | None,
    ) -> None:
        if rehashed is not None:
            self._staff.rehash_password(user.id, rehashed)
        self._throttle.succeeded(attempt)
        self._staff.start_session(user.id, session_id, csrf, now)

    def current(self, token: str | None) -> StaffSession | None:
        """The live session of a cookie (its idle clock restarted), or None."""
        if not token:
            return None
        key = digest(token)
        session = self._staff.session(key)
        if session is None:
            return None
        now = self._clock()
        expired = now - session.last_seen_at > self.idle or now - session.created_at > self.lifetime
        if expired or session.user.disabled:
            self._staff.end_session(key)
            return None
        if now - session.last_seen_at > timedelta(seconds=30):  # spare the database a write
            self._staff.touch_session(key, now)
        return session

    def logout(self, token: str | None) -> None:
        """End the session of a cookie (if any)."""
        if token:
            self._staff.end_session(digest(token))

    def api_token(self, header: str | None) -> ApiToken | None:
        """The live API token of an `Authorization: Bearer ...` header, or None."""
        if not header or not header.lower().startswith("bearer "):
            return None
        secret = header[7:].strip()
        return self._staff.use_token(digest(secret), self._clock()) if secret else None


def new_api_token() -> str:
    """A new API token's secret (shown once; only its digest is stored)."""
    return f"lgb_{secrets.token_urlsafe(32)}"


def may(role: Role, needed: Role) -> bool:
    """Whether a user with `role` may use a page for `needed` (admins may use every page)."""
    return role in ("admin", needed)
