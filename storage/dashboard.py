"""What the sales pages read: the leads table (filters, sort, pages) and the funnel."""

from __future__ import annotations

from storage.db import Database


class SqlDashboard:
    """What the sales pages read."""

    def __init__(self, database: Database) -> None:
        self._db = database
