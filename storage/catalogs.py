"""Published versions of the intent catalog in SQL, so every replica serves the same one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from bot.core.ports import CatalogVersion
from storage.db import Database
from storage.models import CatalogVersionRow


def _version(row: CatalogVersionRow) -> CatalogVersion:
    return CatalogVersion(row.id, row.digest, row.published_by, row.published_at)


class SqlCatalogVersions:
    """`CatalogVersions` on `catalog_versions`: one row per reload, the id is the version."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def publish(self, digest: str, actor: str, at: datetime) -> CatalogVersion:
        """Record a reload of the catalog with fingerprint `digest`; the new version."""
        with self._db.transaction() as session:
            row = CatalogVersionRow(digest=digest, published_by=actor, published_at=at)
            session.add(row)
            session.flush()
            return _version(row)

    def latest(self) -> CatalogVersion | None:
        """The newest published version, or None before the first."""
        query = select(CatalogVersionRow).order_by(CatalogVersionRow.id.desc()).limit(1)
        with self._db.transaction() as session:
            row = session.scalars(query).first()
            return _version(row) if row else None
