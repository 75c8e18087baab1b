"""The catalog as the API reads and writes it: the intents of the newest revision with their
etags (read once per revision), and writes made through `app.editor`, audited.

An intent travels as the files hold it (`intents.drafts`): what a client reads it can change
and send back without spurious differences.
"""

import contextlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bot.app import App
from bot.core.staff import ApiToken
from bot.web.api_catalog_schema import IntentSaved
from intents.drafts import Located, etags, faq_intents
from intents.quality import check_intent
from intents.snapshot import files_digest

DATE_FIELDS = ("reviewed", "valid_until")
ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True, slots=True)
class CatalogIndex:
    """The intents of one set of catalog files with their etags. Reading every file takes
    most of a second, so it is done once per revision."""

    revision: int | None
    digest: str
    intents: dict[str, Located]
    etags: dict[str, str] = field(default_factory=dict)


def index_of(files: dict[str, str], revision: int | None) -> CatalogIndex:
    """The intents of `files` with their etags."""
    return CatalogIndex(revision, files_digest(files), faq_intents(files), etags(files))


def as_files_hold(raw: Mapping[str, Any], intent_id: str) -> dict[str, Any]:
    """An intent from JSON as the files hold it: its id from the path when left out, its
    days as dates (so the file says `2026-12-01`, not a quoted text)."""
    data = dict(raw)
    data.setdefault("id", intent_id)
    for key in DATE_FIELDS:
        value = data.get(key)
        if isinstance(value, str) and ISO_DAY.match(value):
            with contextlib.suppress(ValueError):  # not a day: the validation says so
                data[key] = date.fromisoformat(value)
    return data


@dataclass(frozen=True, slots=True)
class Write:
    """One write as the client asked for it: the intent (None: retire it), its etag as the
    client read it ("absent": a new intent), the comment and, for a new intent, its file."""

    intent_id: str
    data: dict[str, Any] | None
    seen: str
    comment: str = ""
    new_path: str | None = None


class Catalog:
    """The catalog as this API reads and writes it, over the wired app (blocking calls)."""

    def __init__(self, app: App) -> None:
        self._app = app
        self._index: CatalogIndex | None = None

    def current(self) -> CatalogIndex:
        """The newest revision's intents (taken over first if another replica saved one)."""
        sync = self._app.catalog
        sync.follow()
        while True:  # the files and the number of one revision, not of two
            number = sync.version
            files = sync.files()
            if sync.version == number:
                return self._cached(files, number)

    def _cached(self, files: dict[str, str], revision: int | None) -> CatalogIndex:
        index = self._index
        if index is None or index.digest != files_digest(files):
            index = self._index = index_of(files, revision)
        elif index.revision != revision:  # the same files again (a rollback): same intents
            index = self._index = CatalogIndex(revision, index.digest, index.intents, index.etags)
        return index

    def save(self, write: Write, token: ApiToken) -> IntentSaved:
        """Make the write a new revision, audited; what it did."""
        actor, intent_id = f"token:{token.name}", write.intent_id
        revision = self._app.editor.save(
            intent_id,
            write.data,
            write.seen,
            actor,
            comment=write.comment,
            new_path=write.new_path,
        )
        files = self._app.catalog.revisions.files(revision.number)
        index = self._cached(files, revision.number)
        located = index.intents.get(intent_id)
        warnings: list[str] = []
        if write.data is not None:
            knowledge = self._app.catalog.check(files)  # the one in use, unless saved over
            root = f"{knowledge.catalog.directory}/"
            found = check_intent(knowledge.catalog, knowledge.matcher, intent_id)
            warnings = [str(p).replace(root, "") for p in found]
        saved = IntentSaved(
            id=intent_id,
            kind=revision.kind,
            changed=True,
            revision=revision.number,
            etag=index.etags.get(intent_id),
            file=located.path if located else None,
            warnings=warnings,
        )
        details = {
            "revision": revision.number,
            "file": saved.file,
            "etag": saved.etag,
            "comment": write.comment,
        }
        target = f"intent {intent_id}"
        self._app.storage.staff.audit(actor, f"intent.{revision.kind}", target, details)
        return saved
