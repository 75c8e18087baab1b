"""What every `lingang-bot` command shares: settings or a clear exit, and how to fail."""

from __future__ import annotations

from typing import NoReturn

import typer

from bot.app import configure_logging
from bot.config import ConfigError, Settings, load_settings


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
