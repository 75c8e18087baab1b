"""The people who work the bot's output: sales staff and admins, their sessions, API tokens and
the audit log of what they changed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Role = Literal["sales", "admin"]
ROLES: tuple[Role, ...] = ("sales", "admin")
# What an API token opens. A scope grants only its own area: `leads:read` reads the leads (a
# CRM's token); `catalog:admin` reads and edits the intents and reads the catalog's revisions
# (an admin's automation), and does not read the leads.
Scope = Literal["leads:read", "catalog:admin"]
SCOPES: tuple[Scope, ...] = ("leads:read", "catalog:admin")


@dataclass(frozen=True, slots=True)
class StaffUser:
    """Someone who logs in to the web app."""

    id: int
    email: str
    role: Role
    disabled: bool
    created_at: datetime
    created_by: str
    last_login_at: datetime | None = None

    @property
    def is_admin(self) -> bool:
        """Admins may do everything sales staff may, and edit the bot."""
        return self.role == "admin"


@dataclass(frozen=True, slots=True)
class StaffSession:
    """A logged-in browser: its user, its CSRF token and when it was started and last used."""

    user: StaffUser
    csrf: str
    created_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True, slots=True)
class ApiToken:
    """A bearer token of the API (its secret is never stored, only its hash) and what it
    opens."""

    id: int
    name: str
    created_at: datetime
    created_by: str
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    scope: Scope = "leads:read"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One change made through the web app or an admin command."""

    id: int
    at: datetime
    actor: str
    action: str
    target: str
    details: Mapping[str, object] = field(default_factory=dict)
