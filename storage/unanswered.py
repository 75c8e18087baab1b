"""Questions the bot could not answer, for admins: open ones, and marking them handled."""

from __future__ import annotations

from storage.db import Database


class SqlUnanswered:
    """Questions the bot could not answer, for admins."""

    def __init__(self, database: Database) -> None:
        self._db = database
