"""`lingang-bot intents export | import | history | rollback`: the catalog in the database,
as files a team can keep in git.

`export` writes a revision's files byte for byte; `import` makes a revision of a folder's
files once they load (what `export` wrote imports as the same revision's files, so export,
import, export gives the same bytes).
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from bot.app import App
from bot.catalog_sync import CatalogRefused
from bot.commandline import fail, running, settings_or_exit, storage_or_exit
from bot.core.ports import CatalogRevision
from bot.intents_cli import intents_cli

__all__ = ["intents_cli"]
from intents.editing import EditError
from intents.snapshot import SnapshotError, write_files

Folder = Annotated[Path, typer.Argument(help="The folder (catalog.yaml, faq/, forms/, ...).")]
Comment = Annotated[str, typer.Option("--comment", "-m", help="Why: kept with the revision.")]


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


@intents_cli.command("export")
def export_command(
    folder: Folder,
    revision: Annotated[
        int | None, typer.Option("--revision", "-r", help="Which revision (default: newest).")
    ] = None,
) -> None:
    """Write the catalog's files from the database into FOLDER, byte for byte."""
    with storage_or_exit() as (_, storage):
        chosen = storage.catalogs.get(revision) if revision else storage.catalogs.latest()
        if chosen is None:
            if revision:
                fail(f"there is no revision {revision}")
            fail("the database holds no catalog yet: `serve` or `intents import` seeds it")
        files = storage.catalogs.files(chosen.number)
    try:
        write_files(files, folder)
    except (OSError, SnapshotError) as exc:
        fail(f"cannot write {folder}: {exc}")
    typer.echo(f"revision {chosen.number}: {len(files)} files written to {folder}")


@intents_cli.command("import")
def import_command(folder: Folder, comment: Comment = "") -> None:
    """Make FOLDER's files the newest revision, served by every replica, once they load."""
    if not (folder / "catalog.yaml").is_file():
        fail(f"{folder} holds no catalog.yaml")
    made = _revise(lambda app: app.editor.import_folder(folder, _actor(), comment), "not imported")
    if made is None:
        typer.echo("unchanged: these files are the catalog's newest revision already")
        return
    changed = ", ".join(f"{c.kind} {c.subject}" for c in made.changes) or "nothing"
    typer.echo(f"revision {made.number} ({changed})")


@intents_cli.command("history")
def history_command(
    limit: Annotated[int, typer.Option(help="How many revisions, newest first.")] = 20,
) -> None:
    """The catalog's revisions: who, when, how and what changed."""
    with storage_or_exit() as (_, storage):
        for revision in storage.catalogs.history(max(limit, 1)):
            changed = ", ".join(f"{c.kind} {c.subject}" for c in revision.changes[:6])
            more = len(revision.changes) - 6
            changed += f" and {more} more" if more > 0 else ""
            typer.echo(
                f"{revision.number}\t{revision.at:%Y-%m-%d %H:%M}\t{revision.actor}\t"
                f"{revision.kind}\t{changed}\t{revision.comment}"
            )


@intents_cli.command("rollback")
def rollback_command(
    revision: Annotated[int, typer.Argument(help="The revision whose files to serve again.")],
    comment: Comment = "",
) -> None:
    """A new revision with the files of REVISION (nothing is deleted from the history)."""
    made = _revise(
        lambda app: app.editor.rollback(revision, _actor(), comment),
        f"revision {revision} does not load here: nothing changed",
    )
    if made is not None:
        typer.echo(f"revision {made.number}: the files of revision {revision}")


def _revise(
    change: Callable[[App], CatalogRevision | None], refused: str
) -> CatalogRevision | None:
    """Run `change` on the wired app; its refusal printed (problems, then `refused`) with an
    exit status of 1."""
    settings = settings_or_exit()
    with running(settings) as app:
        try:
            return change(app)
        except CatalogRefused as exc:
            for problem in exc.problems:
                typer.echo(problem)
            fail(f"{len(exc.problems)} problem(s): {refused}")
        except (EditError, SnapshotError) as exc:
            fail(str(exc))
