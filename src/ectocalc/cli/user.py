"""``ectocalc user add|list|reset-password|disable|enable|remove``: web users (contract §1).

Every change is written to the record's audit log, by ``cli:<login name>``, in the same
transaction as the change.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from ectocalc.cli import app
from ectocalc.cli.record import DbOption
from ectocalc.errors import InputError

if TYPE_CHECKING:
    from ectocalc.record import Store

user_app = typer.Typer(name="user", help="Users of the web application.", no_args_is_help=True)
app.add_typer(user_app)

NameArgument = Annotated[str, typer.Argument(help="User name (sign-in name; case ignored).")]


def _read_password(name: str) -> str:
    """A new password for ``name``: typed twice at a terminal, else the first line of
    standard input; refused unless it meets the policy (:func:`ectocalc.web.password_problem`).
    """
    from ectocalc.web import password_problem

    if sys.stdin.isatty():
        import getpass

        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            raise InputError("stdin", "password", "the two passwords differ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    problem = password_problem(password, name)
    if problem:
        raise InputError("stdin", "password", problem)
    return password


def _actor() -> str:
    """Who is changing users, for the audit log: ``cli:`` and the login name."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user database entry (some containers)
        return "cli"


@contextmanager
def _store(db: str | None) -> Iterator[Store]:
    from ectocalc.record import open_store

    store = open_store(db)
    try:
        yield store
    finally:
        store.dispose()


@user_app.command("add")
def add(
    name: NameArgument,
    role: Annotated[Literal["clinician", "viewer", "admin"], typer.Option(
        "--role", help="clinician: read and import; viewer: read only; admin: a clinician "
                       "who also manages users.")],
    db: DbOption = None,
) -> None:
    """Create a user; the password is read from standard input (argon2id hash stored)."""
    from ectocalc.record import create_user
    from ectocalc.web import hash_password

    password = _read_password(name)
    with _store(db) as store:
        create_user(store, name, role, hash_password(password), by=_actor())
    typer.echo(f"user {name} ({role}) created")


@user_app.command("list")
def list_(db: DbOption = None) -> None:
    """The users, their roles and whether disabled (never their passwords)."""
    from ectocalc.record import list_users

    with _store(db) as store:
        for user in list_users(store):
            state = "\tdisabled" if user.disabled else ""
            typer.echo(f"{user.username}\t{user.role}\t{user.created_at:%Y-%m-%d}{state}")


@user_app.command("reset-password")
def reset_password(name: NameArgument, db: DbOption = None) -> None:
    """Give a user a new password, read from standard input; their sessions end."""
    from ectocalc.record import set_password_hash
    from ectocalc.web import hash_password

    password = _read_password(name)
    with _store(db) as store:
        user = set_password_hash(store, name, hash_password(password), by=_actor())
    typer.echo(f"password of {user.username} reset")


def _change(name: str, db: str | None, change: Callable[[Store, str], object],
            done: str) -> None:
    with _store(db) as store:
        change(store, name)
    typer.echo(f"user {name} {done}")


@user_app.command("disable")
def disable(name: NameArgument, db: DbOption = None) -> None:
    """Stop a user from signing in (kept, and can be enabled again); their sessions end."""
    from ectocalc.record import set_disabled

    _change(name, db, lambda store, n: set_disabled(store, n, True, by=_actor()), "disabled")


@user_app.command("enable")
def enable(name: NameArgument, db: DbOption = None) -> None:
    """Let a disabled user sign in again."""
    from ectocalc.record import set_disabled

    _change(name, db, lambda store, n: set_disabled(store, n, False, by=_actor()), "enabled")


@user_app.command("remove")
def remove(name: NameArgument, db: DbOption = None) -> None:
    """Delete a user (their audit entries stay); their sessions end."""
    from ectocalc.record import remove_user

    _change(name, db, lambda store, n: remove_user(store, n, by=_actor()), "removed")
