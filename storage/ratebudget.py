"""Rate limits shared by every replica, in SQL: one row per limit holding its next free slot.

The rule is GCRA ("next free slot"): taking a slot moves the row's `next_free` to
`max(next_free, now) + interval` in one atomic upsert, so two replicas never take the same
slot; a request may go as soon as its slot is no more than `burst` intervals ahead. A pause
(Telegram's 429) is a row of its own that every reservation starts after.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Float, bindparam, delete, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from bot.core.ports import Budget
from storage.db import Database
from storage.models import RateBudgetRow

PAUSE_KEY = "paused"
# Rows of limits nobody used for this long are deleted now and then (one per chat ever seen).
IDLE_SECONDS = 3600.0
PRUNE_EVERY = 1000  # reservations


class SqlRateBudget:
    """`RateBudget` on `rate_budgets`; `scope` (e.g. "telegram") prefixes every key."""

    def __init__(self, database: Database, scope: str) -> None:
        self._db = database
        self._scope = scope
        self._reservations = itertools.count(1)
        # The statements, built once (every message sent reserves): SQLAlchemy reuses their
        # compiled form. SQLite's two-argument max() is PostgreSQL's greatest().
        postgresql = database.engine.dialect.name == "postgresql"
        insert: Any = postgresql_insert if postgresql else sqlite_insert
        larger = func.greatest if postgresql else func.max
        table, next_free = RateBudgetRow.__table__, RateBudgetRow.__table__.c.next_free
        floor, step = bindparam("floor", type_=Float()), bindparam("step", type_=Float())
        slot = larger(next_free, floor) + step
        # Set the key's slot to `max(slot, floor) + step` (a new key: `floor + step`).
        self._take_slot = (
            insert(table)
            .values(key=bindparam("k"), next_free=floor + step)
            .on_conflict_do_update(index_elements=["key"], set_={"next_free": slot})
            .returning(next_free)
        )
        # The same, only while the slot is free now (within the burst: `allowance`).
        self._admit_slot = (
            insert(table)
            .values(key=bindparam("k"), next_free=floor + step)
            .on_conflict_do_update(
                index_elements=["key"],
                set_={"next_free": slot},
                where=slot - bindparam("allowance", type_=Float()) <= floor,
            )
            .returning(next_free)
        )
        self._slot_of = select(next_free).where(table.c.key == bindparam("k"))

    def _key(self, name: str) -> str:
        return f"{self._scope}:{name}"

    def reserve(self, budget: Budget, now: float) -> float:
        """Take the budget's next free slot, after any pause; how many seconds to wait
        before sending (one short transaction, the slot one atomic statement)."""
        return self.reserve_chain([budget], now)[0]

    def reserve_chain(self, budgets: Sequence[Budget], now: float) -> list[float]:
        """Take each budget's next free slot in turn, in one transaction, while the slots are
        free now (a slot taken ahead of time would hold back everyone else's requests); the
        seconds to wait for each taken."""
        waits: list[float] = []
        with self._db.transaction() as session:
            start = max(now, self._paused_until(session))
            for budget in budgets:
                slot = self._take(session, self._key(budget.key), start, budget.interval)
                waits.append(max(start, slot - budget.burst * budget.interval) - now)
                if waits[-1] > 0:
                    break
            self._prune_now_and_then(session, now)
        return waits

    def admit(self, budget: Budget, now: float) -> float:
        """Take the budget's next slot only if it is free now (within the burst): 0 when
        taken; else how many seconds until one is, and nothing is taken (one statement:
        the upsert's update applies only when the slot is free)."""
        key, step = self._key(budget.key), budget.interval
        given = {"k": key, "floor": now, "step": step, "allowance": budget.burst * step}
        with self._db.transaction() as session:
            connection = session.connection()
            if connection.execute(self._admit_slot, given).scalar_one_or_none() is not None:
                self._prune_now_and_then(session, now)
                return 0.0
            taken = connection.execute(self._slot_of, {"k": key}).scalar()
        return max(0.0, float(taken or now) - (budget.burst - 1) * step - now)

    def _prune_now_and_then(self, session: Session, now: float) -> None:
        if next(self._reservations) % PRUNE_EVERY == 0:
            session.execute(
                delete(RateBudgetRow).where(
                    RateBudgetRow.key.startswith(f"{self._scope}:"),
                    RateBudgetRow.next_free < now - IDLE_SECONDS,
                )
            )

    def _take(self, session: Session, key: str, floor: float, step: float) -> float:
        """Set the key's slot to `max(slot, floor) + step` (a new key: `floor + step`), in one
        statement; the new value."""
        given = {"k": key, "floor": floor, "step": step}
        return float(session.connection().execute(self._take_slot, given).scalar_one())

    def pause(self, until: float) -> None:
        """Hold every reservation in this scope back until `until` (a later pause wins)."""
        with self._db.transaction() as session:
            self._take(session, self._key(PAUSE_KEY), until, 0.0)

    def paused_until(self) -> float:
        """Until when reservations are held back (0 when never paused)."""
        with self._db.transaction() as session:
            return self._paused_until(session)

    def _paused_until(self, session: Session) -> float:
        given = {"k": self._key(PAUSE_KEY)}
        return float(session.connection().execute(self._slot_of, given).scalar() or 0.0)
