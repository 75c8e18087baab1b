"""What every `lingang-bot` command shares: settings or a clear exit, and how to fail."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, NoReturn

import typer

from bot.config import ConfigError, Settings, load_settings
from bot.core.ports import StorageUnavailable
from bot.startup import configure_logging
from intents.catalog import CatalogError
from intents.semantic import SemanticUnavailable

if TYPE_CHECKING:
    from bot.app import App, Storage

# bot.app (the database, the channels) and storage are imported by the commands that use
# them, so that `lingang-bot ask` starts without them.


def fail(message: str, code: int = 1) -> NoReturn:
    """Print `message` on standard error and exit with `code`."""
    typer.echo(message, err=True)
    raise typer.Exit(code)


def settings_or_exit() -> Settings:
    """The settings, with logging configured; a bad setting exits with code 2."""
    try:
        settings = load_settings()
    except ConfigError as exc:
        fail(f"configuration error:\n{exc}", code=2)
    configure_logging(settings)
    return settings


@contextmanager
def running(settings: Settings) -> Iterator[App]:
    """The wired app, or one clear line that says which setting to fix."""
    from bot.app import build_app  # noqa: PLC0415
    from storage.db import SchemaOutOfDate  # noqa: PLC0415

    try:
        app = build_app(settings)
    except CatalogError as exc:
        fail(f"LINGANG_INTENTS_DIR ({settings.intents_dir}): {exc}", code=2)
    except StorageUnavailable as exc:
        fail(f"LINGANG_DATABASE_URL: cannot reach the database: {exc}")
    except SchemaOutOfDate as exc:
        fail(f"LINGANG_DATABASE_URL: {exc}")
    except SemanticUnavailable as exc:
        fail(f"LINGANG_MATCHER=semantic: {exc}", code=2)
    except OSError as exc:
        fail(f"LINGANG_DATABASE_URL / LINGANG_DATA_DIR: cannot create the database file: {exc}")
    try:
        yield app
    finally:
        app.close()


@contextmanager
def storage_or_exit() -> Iterator[tuple[Settings, Storage]]:
    """The settings and the database's stores (no catalog), or one clear line and an exit."""
    from bot.app import open_storage  # noqa: PLC0415
    from storage.db import SchemaOutOfDate  # noqa: PLC0415

    settings = settings_or_exit()
    try:
        storage = open_storage(settings)
    except (StorageUnavailable, SchemaOutOfDate) as exc:
        fail(f"LINGANG_DATABASE_URL: {exc}")
    except OSError as exc:
        fail(f"LINGANG_DATABASE_URL / LINGANG_DATA_DIR: cannot create the database file: {exc}")
    try:
        yield settings, storage
    except StorageUnavailable as exc:
        fail(f"LINGANG_DATABASE_URL: cannot reach the database: {exc}")
    finally:
        storage.close()
