"""One catalog for every replica on any host: revisions in the database, followed by each.

Every change (an admin's edit, a rollback, an import) is a revision: the whole catalog's
files, saved only after they load here. Each replica writes the newest revision's files to a
private folder under its cache and builds its knowledge from them, so no file system is
shared and a rebuilt container finds the catalog in the database. The shipped files seed an
empty database, and are taken again while nobody has changed the catalog since (an upgrade
brings its content); once an admin has, the database wins and a difference is logged.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bot.core.ports import CatalogRevision, CatalogRevisions, RevisionConflict, RevisionMeta
from intents.catalog import CatalogError
from intents.drafts import changes_between
from intents.knowledge import Knowledge, KnowledgeBase
from intents.snapshot import files_digest, materialize, read_files

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
KEEP_FOLDERS_SECONDS = 24 * 3600  # a draft's folder outlives any preview of it
DRAFT_SECONDS = 300  # a checked draft is kept this long for its save


class CatalogRefused(Exception):
    """The files do not make a working catalog; `problems` says where and why."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s): " + "; ".join(problems[:3]))


class CatalogSync:
    """Serves the newest revision, saves new ones, follows the other replicas'."""

    def __init__(
        self,
        knowledge: KnowledgeBase,
        revisions: CatalogRevisions,
        workspace: Path,
        clock: Clock = lambda: datetime.now(UTC),
    ) -> None:
        self._knowledge = knowledge
        self._revisions = revisions
        self._workspace = workspace
        self._clock = clock
        self._lock = threading.RLock()
        self._revision: CatalogRevision | None = None  # the revision this process serves
        self._files: dict[str, str] = {}
        self._failed: int | None = None  # the last revision that did not load here
        self._built = ""  # the digest of the files the knowledge in use was built from
        # The last draft checked (digest, knowledge, when): saving it right after a check
        # does not build it twice. Dropped when stale, so a draft never pins memory long.
        self._checked: tuple[str, Knowledge, float] | None = None

    @property
    def revisions(self) -> CatalogRevisions:
        """The catalog's history."""
        return self._revisions

    @property
    def revision(self) -> CatalogRevision | None:
        """The revision this process serves (None before `start`)."""
        return self._revision

    @property
    def version(self) -> int | None:
        """The number of the revision this process serves."""
        return self._revision.number if self._revision else None

    def knowledge_in_use(self) -> Knowledge:
        """The knowledge answering messages now."""
        return self._knowledge.current

    def files(self) -> dict[str, str]:
        """The files of the revision this process serves."""
        with self._lock:
            return dict(self._files)

    def start(self, shipped: Path, actor: str = "system") -> CatalogRevision | None:
        """Seed an empty database from the `shipped` folder, or take its files again while
        nobody changed the catalog since the last seed; then serve the newest revision (None:
        no revision loads here, the knowledge built at start stays in use)."""
        with self._lock:
            files = read_files(shipped)
            # The folder the knowledge in use was just built from (`serving_folder`).
            self._built = files_digest(read_files(self._knowledge.current.catalog.directory))
            latest = self._revisions.latest()
            if latest is None or (latest.kind == "seed" and latest.digest != files_digest(files)):
                parent = latest.number if latest else 0
                old = self._revisions.files(parent) if latest else {}
                meta = RevisionMeta(
                    actor, self._clock(), "seed", f"files shipped in {shipped.name}/"
                )
                # Another replica seeding at the same moment wins the race: follow it.
                with contextlib.suppress(RevisionConflict):
                    self.save(parent, files, meta, old)
            elif latest.digest != files_digest(files):
                log.info(
                    "serving catalog revision %d from the database; the files in %s differ "
                    "(`lingang-bot intents import` makes them a revision)",
                    latest.number,
                    shipped,
                )
            self.follow()
            if self._revision is None:
                log.error("no catalog revision loads here; serving the files in %s", shipped)
            return self._revision

    def follow(self) -> bool:
        """Serve the newest revision if it is newer than ours; whether the catalog changed.

        A revision that does not load here keeps the old one in use (and is logged once).
        """
        with self._lock:
            if self._checked is not None and self._stale(self._checked):
                self._checked = None
            latest = self._revisions.latest()
            if latest is None or latest.number <= (self.version or 0):
                return False
            files = self._revisions.files(latest.number)
            if self._revision is not None and latest.digest == self._revision.digest:
                self._revision, self._files = latest, files
                return False
            try:
                knowledge = self.check(files)
            except CatalogRefused as exc:
                if self._failed != latest.number:
                    self._failed = latest.number
                    log.warning(
                        "catalog revision %d does not load here (%d problems: %s); the old "
                        "one stays in use",
                        latest.number,
                        len(exc.problems),
                        "; ".join(exc.problems[:3]),
                    )
                return False
            self._install(latest, files, knowledge)
            log.info("catalog revision %d loaded (%s)", latest.number, latest.digest[:12])
            return True

    def check(self, files: dict[str, str]) -> Knowledge:
        """Knowledge built from `files`, not in use yet; `CatalogRefused` with the reasons
        (paths inside the catalog) when they do not load."""
        digest = files_digest(files)
        if digest == self._built:
            return self._knowledge.current  # built from these very files already
        checked = self._checked
        if checked is not None and checked[0] == digest and not self._stale(checked):
            return checked[1]
        folder = materialize(files, self._workspace, digest[:20])
        try:
            knowledge = self._knowledge.build(folder)
        except CatalogError as exc:
            raise CatalogRefused([_inside(str(p), folder) for p in exc.problems]) from exc
        self._checked = (digest, knowledge, time.monotonic())
        return knowledge

    @staticmethod
    def _stale(checked: tuple[str, Knowledge, float]) -> bool:
        return time.monotonic() - checked[2] > DRAFT_SECONDS

    def save(
        self,
        parent: int,
        files: dict[str, str],
        meta: RevisionMeta,
        old: dict[str, str] | None = None,
    ) -> CatalogRevision:
        """Make `files` the newest revision, made from `parent`, and serve it here.

        Refused (`CatalogRefused`) when they do not load, (`RevisionConflict`) when `parent`
        is not the newest revision any more; either way nothing changes.
        """
        with self._lock:
            knowledge = self.check(files)
            if not meta.changes:
                base = old if old is not None else self._revisions.files(parent) if parent else {}
                meta = RevisionMeta(
                    meta.actor, meta.at, meta.kind, meta.comment, changes_between(base, files)
                )
            revision = self._revisions.add(parent, files, meta)
            self._install(revision, files, knowledge)
            log.info("catalog revision %d saved by %s (%s)", revision.number, meta.actor, meta.kind)
            return revision

    def _install(
        self, revision: CatalogRevision, files: dict[str, str], knowledge: Knowledge
    ) -> None:
        self._knowledge.install(knowledge)
        self._checked = None
        self._revision, self._files, self._failed = revision, files, None
        self._built = files_digest(files)
        self._sweep(knowledge.catalog.directory)

    def _sweep(self, keep: Path) -> None:
        """Remove other revisions' and drafts' folders a day old (a preview may use one)."""
        cutoff = time.time() - KEEP_FOLDERS_SECONDS
        for folder in self._workspace.iterdir() if self._workspace.is_dir() else ():
            try:
                if folder != keep and folder.is_dir() and folder.stat().st_mtime < cutoff:
                    shutil.rmtree(folder, ignore_errors=True)
            except OSError:
                continue


def serving_folder(revisions: CatalogRevisions, shipped: Path, workspace: Path) -> Path:
    """The folder a replica builds its first knowledge from, so that it builds it once: the
    shipped files while they are (or are about to be seeded as) the newest revision, else
    the newest revision's files, written to its private folder."""
    latest = revisions.latest()
    if latest is None or latest.kind == "seed":
        return shipped
    if latest.digest == files_digest(read_files(shipped)):
        return shipped
    return materialize(revisions.files(latest.number), workspace, latest.digest[:20])


def _inside(problem: str, folder: Path) -> str:
    """A problem's `file:line` with the file named inside the catalog."""
    return problem.replace(f"{folder}/", "")
