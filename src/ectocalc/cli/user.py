"""``ectocalc user add NAME --role clinician|viewer``: web users (contract §1)."""

from __future__ import annotations

import sys
from typing import Annotated, Literal

import typer

from ectocalc.cli import app
from ectocalc.cli.record import DbOption
from ectocalc.errors import InputError

user_app = typer.Typer(name="user", help="Users of the web application.", no_args_is_help=True)
app.add_typer(user_app)

MIN_PASSWORD = 8


def _read_password() -> str:
    """The password: typed twice at a terminal, else the first line of standard input."""
    if sys.stdin.isatty():
        import getpass

        first = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != first:
            raise InputError("stdin", "password", "the two passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


@user_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="User name (sign-in name).")],
    role: Annotated[Literal["clinician", "viewer"], typer.Option(
        "--role", help="clinician: read and import; viewer: read only.")],
    db: DbOption = None,
) -> None:
    """Create a user; the password is read from standard input (argon2id hash stored)."""
    from ectocalc.record import create_user, open_store
    from ectocalc.web import hash_password

    password = _read_password()
    if len(password) < MIN_PASSWORD:
        raise InputError("stdin", "password", f"at least {MIN_PASSWORD} characters please")
    store = open_store(db)
    try:
        create_user(store, name, role, hash_password(password))
    finally:
        store.dispose()
    typer.echo(f"user {name} ({role}) created")


@user_app.command("list")
def list_(db: DbOption = None) -> None:
    """The users and their roles (never their passwords)."""
    from ectocalc.record import list_users, open_store

    store = open_store(db)
    try:
        for user in list_users(store):
            typer.echo(f"{user.username}\t{user.role}\t{user.created_at:%Y-%m-%d}")
    finally:
        store.dispose()
