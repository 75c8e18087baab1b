"""The leads API's reads: leads changed since a cursor, and one lead in full."""

from __future__ import annotations

from storage.db import Database


class SqlLeadFeed:
    """The leads API's reads."""

    def __init__(self, database: Database) -> None:
        self._db = database
