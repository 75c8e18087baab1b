"""A Typer group whose subcommands are imported when one of them is used.

`lingang-bot ask` and `chat` should not import the web app, uvicorn, the Slack and Telegram
SDKs or argon2 to answer a question: each command group named here is a module's Typer
object, imported on first use (or for `--help`, which lists them all).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING

import typer
from typer.core import TyperGroup

if TYPE_CHECKING:
    from typer._click import Command, Context  # the types TyperGroup's methods are typed with

# name -> "module:attribute" of its Typer object, in the order `--help` lists them.
COMMANDS: Mapping[str, str] = {
    "serve": "bot.serve_cli:serve_cli",
    "intents": "bot.catalog_cli:intents_cli",
    "leads": "bot.leads_cli:leads_cli",
    "telegram": "bot.serve_cli:telegram_cli",
    "users": "bot.staff_cli:users_cli",
    "tokens": "bot.staff_cli:tokens_cli",
}


class LazyGroup(TyperGroup):
    """The commands defined here, then those in `COMMANDS`, each imported when asked for."""

    def list_commands(self, ctx: Context) -> list[str]:
        """Every command's name: the loaded ones, then the ones not imported yet."""
        loaded = list(self.commands)
        return loaded + [name for name in COMMANDS if name not in self.commands]

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        """The command `cmd_name`, importing its module the first time."""
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module, attribute = COMMANDS[cmd_name].split(":")
            app = getattr(importlib.import_module(module), attribute)
            command = typer.main.get_command(app)
            command.name = cmd_name
            self.add_command(command, cmd_name)
        return self.commands.get(cmd_name)
