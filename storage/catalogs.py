"""The intent catalog's revisions in SQL, so every replica on any host serves the same one;
and the periodic jobs one replica of many does once per period."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.core.ports import CatalogRevision, RevisionConflict, RevisionMeta
from intents.drafts import CatalogChange
from intents.snapshot import files_digest
from storage.db import Database
from storage.models import CatalogBlobRow, CatalogRevisionRow, PeriodicRunRow


def _blob_digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _revision(row: CatalogRevisionRow) -> CatalogRevision:
    changes = tuple(CatalogChange(kind, subject) for kind, subject in row.changes)
    return CatalogRevision(
        row.id, row.parent, row.digest, row.actor, row.created_at, row.kind, row.comment, changes
    )


class SqlCatalogRevisions:
    """`CatalogRevisions` on `catalog_revisions` (one row per revision, a manifest of blob
    digests) and `catalog_blobs` (each distinct file text once)."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def latest(self) -> CatalogRevision | None:
        """The newest revision, or None before the first."""
        query = select(CatalogRevisionRow).order_by(CatalogRevisionRow.id.desc()).limit(1)
        with self._db.transaction() as session:
            row = session.scalars(query).first()
            return _revision(row) if row else None

    def get(self, number: int) -> CatalogRevision | None:
        """The revision `number`, or None."""
        with self._db.transaction() as session:
            row = session.get(CatalogRevisionRow, number)
            return _revision(row) if row else None

    def files(self, number: int) -> dict[str, str]:
        """The files of revision `number` (KeyError when there is none)."""
        with self._db.transaction() as session:
            row = session.get(CatalogRevisionRow, number)
            if row is None:
                raise KeyError(number)
            wanted = set(row.manifest.values())
            blobs = session.scalars(
                select(CatalogBlobRow).where(CatalogBlobRow.digest.in_(wanted))
            ).all()
            texts = {blob.digest: blob.text for blob in blobs}
            return {path: texts[digest] for path, digest in sorted(row.manifest.items())}

    def add(self, parent: int, files: Mapping[str, str], meta: RevisionMeta) -> CatalogRevision:
        """Save `files` as the revision after `parent`; `RevisionConflict` when `parent` is
        not the newest any more (checked here, and by the unique `parent` for a race)."""
        manifest = {path: _blob_digest(text) for path, text in sorted(files.items())}
        try:
            with self._db.transaction() as session:
                newest = session.scalars(
                    select(CatalogRevisionRow.id).order_by(CatalogRevisionRow.id.desc()).limit(1)
                ).first()
                if (newest or 0) != parent:
                    raise RevisionConflict(f"revision {newest} is newer than {parent}")
                known = set(
                    session.scalars(
                        select(CatalogBlobRow.digest).where(
                            CatalogBlobRow.digest.in_(set(manifest.values()))
                        )
                    )
                )
                for path, digest in manifest.items():
                    if digest not in known:
                        session.add(CatalogBlobRow(digest=digest, text=files[path]))
                        known.add(digest)
                row = CatalogRevisionRow(
                    parent=parent,
                    digest=files_digest(files),
                    actor=meta.actor,
                    created_at=meta.at,
                    kind=meta.kind,
                    comment=meta.comment,
                    changes=[[c.kind, c.subject] for c in meta.changes],
                    manifest=manifest,
                )
                session.add(row)
                session.flush()
                return _revision(row)
        except IntegrityError as exc:  # another replica saved from the same parent first
            raise RevisionConflict(f"another revision was saved from {parent} first") from exc

    def history(self, limit: int, offset: int = 0) -> list[CatalogRevision]:
        """Revisions, newest first."""
        query = (
            select(CatalogRevisionRow)
            .order_by(CatalogRevisionRow.id.desc())
            .limit(limit)
            .offset(offset)
        )
        with self._db.transaction() as session:
            return [_revision(row) for row in session.scalars(query)]


class SqlPeriodicRuns:
    """`PeriodicRuns` on `periodic_runs`: the primary key (job, period) admits one claim."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def claim(self, job: str, period: str, by: str, at: datetime) -> bool:
        """True for the first caller of `job` in `period`, False for every later one."""
        try:
            with self._db.transaction() as session:
                if session.get(PeriodicRunRow, (job, period)) is not None:
                    return False
                session.add(PeriodicRunRow(job=job, period=period, ran_by=by, ran_at=at))
                session.flush()
                return True
        except IntegrityError:
            return False
