"""Staff users, their sessions, failed logins, API tokens and the audit log, in the database.

Sessions, failures and tokens are rows, not process memory, so every replica sees a logout, a
disabled user or a lockout at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.core.staff import SCOPES, ApiToken, AuditEntry, Role, Scope, StaffSession, StaffUser
from storage.db import Database
from storage.models import (
    ApiTokenRow,
    AuditEntryRow,
    LoginFailureRow,
    StaffSessionRow,
    StaffUserRow,
    utc_now,
)


class UserExists(ValueError):
    """A user with this e-mail address exists already."""


def _user(row: StaffUserRow) -> StaffUser:
    return StaffUser(
        id=row.id,
        email=row.email,
        role=cast(Role, row.role),
        disabled=row.disabled,
        created_at=row.created_at,
        created_by=row.created_by,
        last_login_at=row.last_login_at,
    )


def _token(row: ApiTokenRow) -> ApiToken:
    return ApiToken(
        id=row.id,
        name=row.name,
        created_at=row.created_at,
        created_by=row.created_by,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
        scope=cast(Scope, row.scope),
    )


class SqlStaff:
    """Everything about the staff, on one database."""

    def __init__(self, database: Database) -> None:
        self._db = database

    # -- users ----------------------------------------------------------------------------

    def add_user(self, email: str, role: Role, password_hash: str, actor: str) -> StaffUser:
        """Create a user; `UserExists` if the (case-folded) address is taken."""
        row = StaffUserRow(
            email=email.strip().casefold(),
            role=role,
            password_hash=password_hash,
            created_by=actor,
        )
        try:
            with self._db.transaction() as session:
                session.add(row)
                session.flush()
                self._audit(session, actor, "user.add", row.email, {"role": role})
                return _user(row)
        except IntegrityError as exc:
            raise UserExists(email) from exc

    def count_users(self) -> int:
        """How many users exist (disabled ones included)."""
        with self._db.transaction() as session:
            return int(session.scalar(select(func.count(StaffUserRow.id))) or 0)

    def users(self) -> list[StaffUser]:
        """Every user, by e-mail address."""
        with self._db.transaction() as session:
            rows = session.scalars(select(StaffUserRow).order_by(StaffUserRow.email))
            return [_user(row) for row in rows]

    def user(self, user_id: int) -> StaffUser | None:
        """One user, or None."""
        with self._db.transaction() as session:
            row = session.get(StaffUserRow, user_id)
            return _user(row) if row else None

    def credentials(self, email: str) -> tuple[StaffUser, str] | None:
        """A user and their password hash, by e-mail address (any case), or None."""
        query = select(StaffUserRow).where(StaffUserRow.email == email.strip().casefold())
        with self._db.transaction() as session:
            row = session.scalars(query).first()
            return (_user(row), row.password_hash) if row else None

    def set_password_hash(self, user_id: int, password_hash: str, actor: str) -> None:
        """Set a new password: every session of the user ends (whoever knew the old one is
        logged out). KeyError for an unknown user."""
        with self._db.transaction() as session:
            row = session.get(StaffUserRow, user_id)
            if row is None:
                raise KeyError(user_id)
            row.password_hash = password_hash
            session.execute(delete(StaffSessionRow).where(StaffSessionRow.user_id == user_id))
            self._audit(session, actor, "user.password", row.email, {})

    def rehash_password(self, user_id: int, password_hash: str) -> None:
        """Store the same password hashed with stronger parameters (at login; not a change:
        no audit entry, sessions stay)."""
        with self._db.transaction() as session:
            session.execute(
                update(StaffUserRow)
                .where(StaffUserRow.id == user_id)
                .values(password_hash=password_hash)
            )

    def set_disabled(self, user_id: int, disabled: bool, actor: str) -> StaffUser:
        """Disable (ending every session) or enable a user. KeyError for an unknown user."""
        with self._db.transaction() as session:
            row = session.get(StaffUserRow, user_id)
            if row is None:
                raise KeyError(user_id)
            row.disabled = disabled
            if disabled:
                session.execute(delete(StaffSessionRow).where(StaffSessionRow.user_id == user_id))
            action = "user.disable" if disabled else "user.enable"
            self._audit(session, actor, action, row.email, {})
            return _user(row)

    # -- sessions -------------------------------------------------------------------------

    def start_session(self, user_id: int, session_id: str, csrf: str, now: datetime) -> None:
        """Record a login: a new session (its id is the hash of the cookie's value)."""
        with self._db.transaction() as session:
            session.add(
                StaffSessionRow(
                    id=session_id, user_id=user_id, csrf=csrf, created_at=now, last_seen_at=now
                )
            )
            session.execute(
                update(StaffUserRow).where(StaffUserRow.id == user_id).values(last_login_at=now)
            )

    def session(self, session_id: str) -> StaffSession | None:
        """A session with its user, or None."""
        with self._db.transaction() as session:
            row = session.get(StaffSessionRow, session_id)
            if row is None:
                return None
            user = session.get(StaffUserRow, row.user_id)
            if user is None:
                return None
            return StaffSession(_user(user), row.csrf, row.created_at, row.last_seen_at)

    def touch_session(self, session_id: str, now: datetime) -> None:
        """Note that a session was used now (its idle timeout starts again)."""
        with self._db.transaction() as session:
            session.execute(
                update(StaffSessionRow)
                .where(StaffSessionRow.id == session_id)
                .values(last_seen_at=now)
            )

    def end_session(self, session_id: str) -> None:
        """Log out (or expire) one session."""
        with self._db.transaction() as session:
            session.execute(delete(StaffSessionRow).where(StaffSessionRow.id == session_id))

    # -- failed logins --------------------------------------------------------------------

    def record_failure(self, keys: Iterable[str], now: datetime) -> None:
        """Remember a failed login under each key (the address tried, the client)."""
        with self._db.transaction() as session:
            session.add_all(LoginFailureRow(key=key, at=now) for key in keys)

    def failures_since(self, key: str, since: datetime) -> tuple[int, datetime | None]:
        """How many failed logins under `key` since `since`, and when the latest was."""
        query = select(func.count(LoginFailureRow.id), func.max(LoginFailureRow.at)).where(
            LoginFailureRow.key == key, LoginFailureRow.at >= since
        )
        with self._db.transaction() as session:
            count, latest = session.execute(query).one()
            return int(count or 0), latest

    def clear_failures(self, key: str) -> int:
        """Forget the failed logins under `key` (its back-off ends); how many there were."""
        with self._db.transaction() as session:
            return self._clear_failures(session, key)

    def unlock(self, user_id: int, key: str, actor: str) -> int:
        """End a user's back-off at once: forget the failed logins under their account's
        `key`; audited. How many there were; KeyError for an unknown user."""
        with self._db.transaction() as session:
            row = session.get(StaffUserRow, user_id)
            if row is None:
                raise KeyError(user_id)
            forgotten = self._clear_failures(session, key)
            self._audit(session, actor, "user.unlock", row.email, {"failures": forgotten})
            return forgotten

    @staticmethod
    def _clear_failures(session: Session, key: str) -> int:
        result = session.execute(delete(LoginFailureRow).where(LoginFailureRow.key == key))
        return int(cast(CursorResult[Any], result).rowcount or 0)

    # -- API tokens -----------------------------------------------------------------------

    def create_token(
        self, name: str, token_hash: str, actor: str, scope: Scope = "leads:read"
    ) -> ApiToken:
        """Record a new token of `scope` by the hash of its secret."""
        if scope not in SCOPES:
            raise ValueError(f"unknown scope {scope!r}")
        row = ApiTokenRow(name=name, token_hash=token_hash, created_by=actor, scope=scope)
        with self._db.transaction() as session:
            session.add(row)
            session.flush()
            details = {"name": name, "scope": scope}
            self._audit(session, actor, "token.create", f"token {row.id}", details)
            return _token(row)

    def tokens(self) -> list[ApiToken]:
        """Every token, newest first."""
        with self._db.transaction() as session:
            rows = session.scalars(select(ApiTokenRow).order_by(ApiTokenRow.id.desc()))
            return [_token(row) for row in rows]

    def use_token(self, token_hash: str, now: datetime) -> ApiToken | None:
        """The live token with this hash (noting its use), or None if unknown or revoked."""
        with self._db.transaction() as session:
            row = session.scalars(
                select(ApiTokenRow).where(
                    ApiTokenRow.token_hash == token_hash, ApiTokenRow.revoked_at.is_(None)
                )
            ).first()
            if row is None:
                return None
            row.last_used_at = now
            return _token(row)

    def revoke_token(self, token_id: int, actor: str) -> ApiToken:
        """Revoke a token at once. KeyError for an unknown token."""
        with self._db.transaction() as session:
            row = session.get(ApiTokenRow, token_id)
            if row is None:
                raise KeyError(token_id)
            if row.revoked_at is None:
                row.revoked_at = utc_now()
                self._audit(session, actor, "token.revoke", f"token {row.id}", {"name": row.name})
            return _token(row)

    # -- audit log ------------------------------------------------------------------------

    def audit(
        self, actor: str, action: str, target: str, details: Mapping[str, object] | None = None
    ) -> None:
        """Record a change made through the web app or an admin command."""
        with self._db.transaction() as session:
            self._audit(session, actor, action, target, details or {})

    def audit_log(self, limit: int = 100, offset: int = 0) -> list[AuditEntry]:
        """The latest entries, newest first."""
        query = select(AuditEntryRow).order_by(AuditEntryRow.id.desc()).limit(limit).offset(offset)
        with self._db.transaction() as session:
            return [
                AuditEntry(row.id, row.at, row.actor, row.action, row.target, dict(row.details))
                for row in session.scalars(query)
            ]

    @staticmethod
    def _audit(
        session: Session, actor: str, action: str, target: str, details: Mapping[str, object]
    ) -> None:
        session.add(
            AuditEntryRow(actor=actor, action=action, target=target[:256], details=dict(details))
        )
