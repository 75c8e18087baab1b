"""The `lingang-bot` command line: chat in a terminal, ask questions, manage the database."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterable, Iterator
from contextlib import suppress
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from bot import __version__
from bot.commandline import fail, running, settings_or_exit
from bot.core.answers import Answer, answer
from bot.core.messages import Button
from bot.core.ports import StorageUnavailable
from bot.lazy_commands import LazyGroup
from bot.startup import open_knowledge
from intents.catalog import CatalogError
from intents.semantic import SemanticUnavailable

if TYPE_CHECKING:
    from bot.adapters import console
    from bot.app import App
    from storage.db import Database

# The other commands (serve, intents, leads, telegram, users, tokens) are imported when used
# (bot.lazy_commands), and what only `chat` needs in `chat`: `ask` starts without the web
# app, uvicorn, the SDKs, SQLAlchemy or the form's phone and email checks.
cli = typer.Typer(
    help="The Lingang FAQ and lead bot.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=LazyGroup,
)
db_cli = typer.Typer(help="Manage the database schema.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")

Lang = Literal["en", "zh"]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"lingang-bot {__version__}")
        raise typer.Exit


@cli.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """The Lingang FAQ and lead bot."""


def _lines(stream: Iterable[str]) -> Iterator[str]:
    for line in stream:
        yield line.rstrip("\r\n")


def _tolerant_stdin() -> None:
    # Undecodable bytes become U+FFFD, which the engine answers as "not text".
    if isinstance(sys.stdin, io.TextIOWrapper):
        sys.stdin.reconfigure(errors="replace")


@cli.command()
def chat(
    lang: Annotated[
        Lang | None, typer.Option("--lang", help="Answer in this language (en or zh).")
    ] = None,
    user: Annotated[
        str, typer.Option("--user", help="Who is chatting; each user has one conversation.")
    ] = "local",
    jsonl: Annotated[
        bool,
        typer.Option(
            "--jsonl",
            help='Machine-readable: read text or {"text"|"payload": ...} lines, '
            'write one {"replies": [...]} line per input.',
        ),
    ] = False,
) -> None:
    """Talk to the bot in the terminal (type a button's number to press it)."""
    settings = settings_or_exit()
    _tolerant_stdin()
    if not jsonl:
        typer.echo(
            "Loading the FAQ (the first start with the semantic matcher takes a few seconds)",
            err=True,
        )
    from bot.adapters import console  # noqa: PLC0415  (the form's phone and email checks)

    with running(settings) as app:
        session = console.Session(user_id=user, language=lang)
        if lang:
            app.engine.handle(session.incoming(payload=f"lang:{lang}"))
        if jsonl:
            _chat_jsonl(app, session)
        else:
            _chat_terminal(app, session, settings.data_dir / "chat_history")


def _chat_jsonl(app: App, session: console.Session) -> None:
    from bot.adapters import console  # noqa: PLC0415

    for line in _lines(sys.stdin):
        try:
            incoming = console.json_to_incoming(session, line)
        except console.BadLine as exc:
            typer.echo(console.render_json([], error=str(exc)))
        else:
            typer.echo(console.render_json(app.engine.handle(incoming)))
            _deliver(app)
        sys.stdout.flush()


def _chat_terminal(app: App, session: console.Session, history: Path) -> None:
    from bot.adapters import console  # noqa: PLC0415

    readline = _readline(history)
    typer.echo("Ask about Lingang in English or Chinese. Ctrl-D quits.", err=True)
    shown: tuple[Button, ...] = ()
    try:
        while True:
            try:
                line = input("you> ")
            except EOFError:
                break
            replies = app.engine.handle(console.to_incoming(session, line, shown))
            text, shown = console.render_text(replies)
            if text:
                typer.echo(f"bot> {text}")
            _deliver(app)
    except KeyboardInterrupt:
        typer.echo("", err=True)
    finally:
        if readline is not None:
            with suppress(OSError):
                readline.write_history_file(str(history))


def _deliver(app: App) -> None:
    """Pass new leads to sales (the terminal has no server to do it in the background)."""
    with suppress(StorageUnavailable):  # the notifications wait in the outbox meanwhile
        app.relay.run_once()


def _readline(history: Path) -> ModuleType | None:
    """Line editing and history when a person types at a terminal."""
    if not sys.stdin.isatty():
        return None
    try:
        import readline  # noqa: PLC0415  (not on every platform)
    except ImportError:
        return None
    history.parent.mkdir(parents=True, exist_ok=True)
    with suppress(OSError):
        readline.read_history_file(str(history))
    readline.set_history_length(1000)
    return readline


@cli.command()
def ask(
    question: Annotated[
        str | None, typer.Argument(help="The question; without it, each line of standard input.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per question, with the match.")
    ] = False,
) -> None:
    """Answer questions from the catalog alone (no conversation, no database)."""
    settings = settings_or_exit()
    try:
        knowledge = open_knowledge(settings)
    except CatalogError as exc:
        fail(f"LINGANG_INTENTS_DIR ({settings.intents_dir}): {exc}", code=2)
    except SemanticUnavailable as exc:
        fail(f"LINGANG_MATCHER=semantic: {exc}", code=2)
    if question is None:
        _tolerant_stdin()
    questions = [question] if question is not None else _lines(sys.stdin)
    for text in questions:
        result = answer(knowledge.current, text)
        typer.echo(
            json.dumps(_explained(text, result), ensure_ascii=False)
            if as_json
            else result.reply.text
        )
        sys.stdout.flush()


def _explained(question: str, result: Answer) -> dict[str, object]:
    match = result.match
    return {
        "question": question,
        "intent": match.intent_id if match else None,
        "confidence": round(match.score, 4) if match else 0.0,
        "answer": result.reply.text,
        "alternatives": [
            {"intent": c.intent_id, "score": round(c.score, 4)}
            for c in (match.alternatives if match else ())
        ],
    }


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database schema to the newest version."""
    database = _database()
    try:
        database.upgrade()
        current, _ = database.schema_revisions()
    except StorageUnavailable as exc:
        fail(f"LINGANG_DATABASE_URL: cannot reach the database: {exc}")
    finally:
        database.dispose()
    typer.echo(f"database {database.safe_url} is at schema revision {current}")


@db_cli.command("check")
def db_check() -> None:
    """Fail if the models and the migrations disagree (a migration is missing)."""
    from alembic import command  # noqa: PLC0415  (only this developer command needs it)
    from alembic.util import AutogenerateDiffsDetected  # noqa: PLC0415

    from storage.db import SchemaOutOfDate  # noqa: PLC0415  (SQLAlchemy: not for ask/chat)

    database = _database()
    try:
        database.ensure_schema()
        command.check(database.alembic_config())
    except AutogenerateDiffsDetected as exc:
        fail(f"models and migrations differ: {exc}")
    except (StorageUnavailable, SchemaOutOfDate) as exc:
        fail(f"LINGANG_DATABASE_URL: {exc}")
    finally:
        database.dispose()


def _database() -> Database:
    from storage.db import Database  # noqa: PLC0415  (SQLAlchemy: not for ask/chat)

    return Database(settings_or_exit().resolved_database_url)


def main() -> None:
    """Entry point of the `lingang-bot` console script."""
    cli()
