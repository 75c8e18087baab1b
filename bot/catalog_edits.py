"""What admins do to the catalog, the same from the console, the API and the command line:
write an intent (edit or create), retire one, roll back, import a folder, add an example.

Each is a new revision made from the newest one, saved only if the catalog loads with it
(`CatalogRefused` otherwise). An edit carries the `etag` of the intent as the admin saw it:
when someone else changed that intent meanwhile the edit is refused (`EditConflict`), so no
save is ever lost silently; edits of other intents made meanwhile are kept.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bot.catalog_sync import CatalogRefused, CatalogSync
from bot.core.ports import CatalogRevision, RevisionConflict, RevisionMeta
from intents.catalog import Intent
from intents.drafts import DiffPart, diff, etag, faq_intents, retire_intent, write_intent
from intents.editing import EditError, check_new_example, clean_example, insert_example
from intents.knowledge import Knowledge
from intents.quality import check_intent
from intents.snapshot import check_path, files_digest, read_files
from intents.text import Lang

Clock = Callable[[], datetime]
MAX_COMMENT = 500
ATTEMPTS = 3  # saves retried when another intent's edit landed first


class EditConflict(Exception):
    """The intent changed since the admin opened it; nothing was saved."""

    def __init__(self, intent_id: str, revision: CatalogRevision | None) -> None:
        self.intent_id = intent_id
        self.revision = revision
        by = f" in revision {revision.number} by {revision.actor}" if revision else ""
        super().__init__(
            f"{intent_id} was changed{by} after you opened it; your edit was not saved. "
            "Open it again to see the change, then redo yours."
        )


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """A problem with one field of an intent (`field` is e.g. "answer.zh" or "examples.en")."""

    field: str
    message: str


class InvalidIntent(Exception):
    """The intent's fields do not validate; nothing was saved."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))


@dataclass(frozen=True, slots=True)
class Draft:
    """An intent as it would be saved: the catalog's files with it, what the checks say, the
    diff, and the knowledge to test questions against (None when it does not load)."""

    files: dict[str, str]
    knowledge: Knowledge | None
    refused: list[str]  # why the catalog would not load (blocks saving)
    warnings: list[str]  # what `intents check` says about the intent and its neighbours
    parts: list[DiffPart]


def validate(data: Mapping[str, Any]) -> list[FieldProblem]:
    """The intent's field problems (empty: valid)."""
    try:
        Intent.model_validate(data)
    except ValidationError as exc:
        return [
            FieldProblem(".".join(str(part) for part in error["loc"]), error["msg"])
            for error in exc.errors(include_url=False)
        ]
    return []


class CatalogEditor:
    """Revisions made by people; `sync` serves each one here and the others follow."""

    def __init__(self, sync: CatalogSync, clock: Clock = lambda: datetime.now(UTC)) -> None:
        self._sync = sync
        self._clock = clock

    @property
    def sync(self) -> CatalogSync:
        """The catalog served here and its history."""
        return self._sync

    def draft(
        self, intent_id: str, data: Mapping[str, Any] | None, new_path: str | None = None
    ) -> Draft:
        """The catalog with the intent written from `data` (None: retired), checked."""
        problems = validate(data) if data is not None else []
        if problems:
            raise InvalidIntent(problems)
        files = self._sync.files()
        if data is None:
            updated = retire_intent(files, intent_id)
        else:
            updated = write_intent(files, intent_id, data, new_path)
        parts = diff(files, updated)
        try:
            knowledge = self._sync.check(updated)
        except CatalogRefused as exc:
            return Draft(updated, None, exc.problems, [], parts)
        warnings: list[str] = []
        if data is not None:
            root = f"{knowledge.catalog.directory}/"
            found = check_intent(knowledge.catalog, knowledge.matcher, intent_id)
            warnings = [str(problem).replace(root, "") for problem in found]
        return Draft(updated, knowledge, [], warnings, parts)

    def save(
        self,
        intent_id: str,
        data: Mapping[str, Any] | None,
        seen: str,
        actor: str,
        *,
        comment: str = "",
        new_path: str | None = None,
    ) -> CatalogRevision:
        """Write (or with None, retire) the intent as a new revision. `seen` is the intent's
        etag when the admin opened it ("absent" for a new one)."""
        problems = validate(data) if data is not None else []
        if problems:
            raise InvalidIntent(problems)
        kind = "retire" if data is None else "create" if seen == "absent" else "edit"

        def change(files: dict[str, str]) -> dict[str, str]:
            if etag(files, intent_id) != seen:
                raise EditConflict(intent_id, self._last_change(intent_id))
            if data is None:
                return retire_intent(files, intent_id)
            return write_intent(files, intent_id, data, new_path)

        return self._commit(change, actor, kind, comment)

    def draft_file(self, path: str, text: str) -> Draft:
        """The catalog with one of its other files (catalog.yaml's replies and settings, the
        sales desk, the lead form, scope, lead requests) written as `text`, checked."""
        files = self._sync.files()
        updated = {**files, check_path(path): text}
        parts = diff(files, updated)
        try:
            knowledge = self._sync.check(updated)
        except CatalogRefused as exc:
            return Draft(updated, None, exc.problems, [], parts)
        return Draft(updated, knowledge, [], [], parts)

    def save_file(
        self, path: str, text: str, seen: str, actor: str, comment: str = ""
    ) -> CatalogRevision:
        """Write one catalog file as a new revision; `seen` is `file_etag` of the text the
        admin opened (`EditConflict` when someone changed the file since)."""
        check_path(path)

        def change(files: dict[str, str]) -> dict[str, str]:
            if file_etag(files.get(path)) != seen:
                raise EditConflict(path, self._last_change(path))
            return {**files, path: text}

        return self._commit(change, actor, "edit", comment)

    def rollback(self, number: int, actor: str, comment: str = "") -> CatalogRevision:
        """A new revision with the files of revision `number`."""
        try:
            old = self._sync.revisions.files(number)
        except KeyError:
            raise EditError(f"there is no revision {number}") from None
        note = comment or f"rollback to revision {number}"
        return self._commit(lambda _: old, actor, "rollback", note)

    def import_folder(self, folder: Path, actor: str, comment: str = "") -> CatalogRevision | None:
        """A new revision with the catalog files in `folder` (None: they are the catalog
        already)."""
        files = read_files(folder)
        self._sync.follow()
        if self._sync.revision is not None and self._sync.revision.digest == files_digest(files):
            return None
        note = comment or f"imported from {folder.name}/"
        return self._commit(lambda _: files, actor, "import", note)

    def add_example(
        self, intent_id: str, lang: Lang, text: str, actor: str
    ) -> tuple[CatalogRevision, str]:
        """The question `text` as a new example of the intent; the revision and the file."""
        example = clean_example(text)
        if not example:
            raise EditError("the example is empty")
        where: list[str] = []

        def change(files: dict[str, str]) -> dict[str, str]:
            knowledge = self._sync.check(files)
            catalog = knowledge.catalog
            if intent_id not in catalog.intents:
                raise EditError(f"there is no intent {intent_id!r}")
            limit = catalog.settings.limits.max_message_chars
            if len(example) > limit:
                raise EditError(f"the example is longer than {limit} characters")
            check_new_example(catalog, intent_id, example)
            path = faq_intents(files)[intent_id].path
            updated, line = insert_example(files[path], intent_id, lang, example)
            where[:] = [f"{path}:{line}"]
            return {**files, path: updated}

        revision = self._commit(change, actor, "edit", f"example added to {intent_id}")
        return revision, where[0]

    def _commit(
        self,
        change: Callable[[dict[str, str]], dict[str, str]],
        actor: str,
        kind: str,
        comment: str,
    ) -> CatalogRevision:
        """Apply `change` to the newest revision's files and save the result, again from
        the newest when another replica saved first."""
        note = " ".join(comment.split())[:MAX_COMMENT]
        for attempt in range(ATTEMPTS):
            self._sync.follow()
            # The newest revision, even one that does not load here: an edit never undoes
            # someone's later save, and a broken newest is refused with its reasons.
            latest = self._sync.revisions.latest()
            parent = latest.number if latest else 0
            served = self._sync.revision
            if latest is None or (served is not None and served.number == latest.number):
                files = self._sync.files()
            else:
                files = self._sync.revisions.files(latest.number)
            updated = change(files)
            if files_digest(updated) == files_digest(files):
                raise EditError("nothing changed")
            meta = RevisionMeta(actor, self._clock(), kind, note)
            try:
                return self._sync.save(parent, updated, meta, files)
            except RevisionConflict:
                if attempt == ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def _last_change(self, subject: str) -> CatalogRevision | None:
        for revision in self._sync.revisions.history(50):
            if any(change.subject == subject for change in revision.changes):
                return revision
        return None


def file_etag(text: str | None) -> str:
    """A short fingerprint of a catalog file's text ("absent" when there is none)."""
    if text is None:
        return "absent"
    return hashlib.sha256(text.encode()).hexdigest()[:16]
