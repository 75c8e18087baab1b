"""`lingang-bot users ...` and `lingang-bot tokens ...`: web logins and API tokens.

Tokens are made here only, by someone who runs commands on the server (and so could do
anything an admin can): a `catalog:admin` token edits the intents as an admin would.
"""

from __future__ import annotations

import getpass
import json
import sys
from typing import Annotated, Literal

import typer
from email_validator import EmailNotValidError, validate_email

from bot.app import App
from bot.commandline import fail, storage_or_exit
from bot.core.staff import Scope, StaffUser
from bot.web.security import digest, hash_password, new_api_token, new_password, password_problem
from bot.web.throttle import account_key
from storage.staff import UserExists

users_cli = typer.Typer(help="Manage who may log in to the web app.", no_args_is_help=True)
tokens_cli = typer.Typer(help="Manage bearer tokens of the API.", no_args_is_help=True)
ACTOR = f"cli:{getpass.getuser()}"
FIRST_ADMIN = "admin@localhost"
RoleName = Literal["sales", "admin"]


def _address(email: str) -> str:
    try:
        return validate_email(email, check_deliverability=False).normalized.casefold()
    except EmailNotValidError as exc:
        fail(f"EMAIL: {exc}", code=2)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    problem = password_problem(password)
    if problem:
        fail(f"password: {problem}", code=2)
    return password


def _user(email: str) -> StaffUser:
    with storage_or_exit() as (_, storage):
        found = storage.staff.credentials(email)
    if found is None:
        fail(f"EMAIL: no user {email}", code=2)
    return found[0]


FromStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input.")
]


@users_cli.command("add")
def add_user(
    email: str,
    role: Annotated[RoleName, typer.Option(help="sales: leads; admin: everything.")] = "sales",
    password_stdin: FromStdin = False,
) -> None:
    """Create a login (asks for a password of at least 12 characters)."""
    address = _address(email)
    password = _read_password(password_stdin)
    with storage_or_exit() as (_, storage):
        try:
            user = storage.staff.add_user(address, role, hash_password(password), ACTOR)
        except UserExists:
            fail(f"EMAIL: {address} exists already", code=2)
    typer.echo(f"added {user.email} ({user.role})")


@users_cli.command("list")
def list_users(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every login, with its role and whether it is disabled."""
    with storage_or_exit() as (_, storage):
        users = storage.staff.users()
    if as_json:
        rows = [
            {"email": u.email, "role": u.role, "disabled": u.disabled,
             "last_login_at": u.last_login_at.isoformat() if u.last_login_at else None}
            for u in users
        ]  # fmt: skip
        typer.echo(json.dumps(rows, indent=1))
        return
    for user in users:
        state = "disabled" if user.disabled else "active"
        typer.echo(f"{user.email}\t{user.role}\t{state}")


def _set_disabled(email: str, disabled: bool) -> None:
    user = _user(email)
    with storage_or_exit() as (_, storage):
        storage.staff.set_disabled(user.id, disabled, ACTOR)
    typer.echo(f"{user.email} {'disabled (logged out everywhere)' if disabled else 'enabled'}")


@users_cli.command("disable")
def disable(email: str) -> None:
    """Stop a login at once (its sessions end)."""
    _set_disabled(email, True)


@users_cli.command("enable")
def enable(email: str) -> None:
    """Allow a disabled login again."""
    _set_disabled(email, False)


@users_cli.command("unlock")
def unlock(email: str) -> None:
    """End a login's wait after failed attempts at once (forgets them)."""
    user = _user(email)
    with storage_or_exit() as (_, storage):
        forgotten = storage.staff.unlock(user.id, account_key(user.email), ACTOR)
    typer.echo(f"{user.email} unlocked ({forgotten} failed logins forgotten)")


@users_cli.command("password")
def set_password(email: str, password_stdin: FromStdin = False) -> None:
    """Set a new password for a login (its sessions end: log in again)."""
    user = _user(email)
    password = _read_password(password_stdin)
    with storage_or_exit() as (_, storage):
        storage.staff.set_password_hash(user.id, hash_password(password), ACTOR)
    typer.echo(f"password of {user.email} changed (logged out everywhere)")


@tokens_cli.command("create")
def create_token(
    name: Annotated[str, typer.Argument(help="Who uses it, e.g. 'crm'.")],
    scope: Annotated[
        Scope,
        typer.Option(
            help="leads:read: `GET /api/leads` (a CRM). catalog:admin: read and edit the "
            "intents, read the catalog's revisions (an admin's automation); not the leads."
        ),
    ] = "leads:read",
) -> None:
    """Create a bearer token (printed once; only its hash is kept)."""
    if not name.strip() or len(name) > 128:
        fail("NAME: 1 to 128 characters", code=2)
    secret = new_api_token()
    with storage_or_exit() as (_, storage):
        token = storage.staff.create_token(name.strip(), digest(secret), ACTOR, scope)
    typer.echo(
        f"token {token.id} ({token.name}, {token.scope}); "
        f"send it as 'Authorization: Bearer {secret}'"
    )
    typer.echo("it is shown only now: store it in the client's secret settings", err=True)


@tokens_cli.command("list")
def list_tokens() -> None:
    """Every token: id, name, created, last used, revoked, scope."""
    with storage_or_exit() as (_, storage):
        tokens = storage.staff.tokens()
    for t in tokens:
        used = t.last_used_at.isoformat(timespec="seconds") if t.last_used_at else "never used"
        state = f"revoked {t.revoked_at:%Y-%m-%d}" if t.revoked_at else "live"
        typer.echo(f"{t.id}\t{t.name}\t{t.created_at:%Y-%m-%d}\t{used}\t{state}\t{t.scope}")


@tokens_cli.command("revoke")
def revoke_token(token_id: int) -> None:
    """Revoke a token at once."""
    with storage_or_exit() as (_, storage):
        try:
            token = storage.staff.revoke_token(token_id, ACTOR)
        except KeyError:
            fail(f"ID: no token {token_id}", code=2)
    typer.echo(f"token {token.id} ({token.name}) revoked")


def first_admin(app: App) -> tuple[str, str] | None:
    """On a database without users, create an admin with a random password (to be printed
    once); None when users exist."""
    if app.storage.staff.count_users() > 0:
        return None
    password = new_password()
    try:
        app.storage.staff.add_user(FIRST_ADMIN, "admin", hash_password(password), "first run")
    except UserExists:  # another replica was faster
        return None
    return FIRST_ADMIN, password
