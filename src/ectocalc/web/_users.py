"""The users page (admins): add a user, reset a password, disable, enable or remove a user.

The same operations as ``ectocalc user ...`` (:mod:`ectocalc.cli.user`), on the same record
functions, each audited by the admin in the change's own transaction. A changed user's sessions
end at once in this server. An admin cannot disable or remove their own account (so the last
admin cannot lock everyone out of user management by mistake).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ectocalc.errors import InputError
from ectocalc.web._app import page
from ectocalc.web._auth import Admin, check_csrf, state
from ectocalc.web._security import (
    MAX_PASSWORD,
    MIN_PASSWORD,
    ROLES,
    Busy,
    Role,
    Session,
    credential_tag,
    hash_password,
    password_problem,
)

router = APIRouter(include_in_schema=False)

Name = Annotated[str, Form(min_length=1, max_length=100)]
Token = Annotated[str, Form()]
Password = Annotated[str, Form(max_length=MAX_PASSWORD + 1)]

_DONE = {"added": "added", "password": "given a new password", "disabled": "disabled",
         "enabled": "enabled", "removed": "removed"}


def users_page(request: Request, session: Session, *, status: int = 200,
               error: str | None = None, done: str | None = None,
               who: str | None = None) -> Response:
    """The users table with its forms (and the outcome of the last change)."""
    from ectocalc.record import list_users

    return page(request, "users.html.j2", status=status, active="users",
                users=list_users(state(request).store), roles=ROLES, error=error,
                done=_DONE.get(done or ""), who=who, min_password=MIN_PASSWORD)


def _back(done: str, name: str) -> Response:
    from urllib.parse import urlencode

    return RedirectResponse("/users?" + urlencode({"done": done, "name": name}),
                            status_code=303)


def _not_self(session: Session, name: str, what: str) -> None:
    from ectocalc.record import user_key

    if user_key(name) == user_key(session.username):
        raise InputError("user", "NAME", f"you cannot {what} your own account")


async def _new_hash(request: Request, name: str, password: str) -> str:
    problem = password_problem(password, name)
    if problem:
        raise InputError("user", "password", problem)
    try:
        return await state(request).checks.run(hash_password, password)
    except Busy:
        raise InputError("user", "password", "the server is busy; try again") from None


@router.get("/users")
def users(request: Request, session: Admin, done: str | None = None,
          name: str | None = None) -> Response:
    """Every user, with forms to add, reset, disable, enable and remove."""
    return users_page(request, session, done=done, who=name)


@router.post("/users/add")
async def add(request: Request, session: Admin, username: Name, role: Annotated[Role, Form()],
              password: Password, csrf_token: Token = "") -> Response:
    """Create a user with the given role and password."""
    from ectocalc.record import create_user

    check_csrf(session, csrf_token)
    try:
        password_hash = await _new_hash(request, username, password)
        await run_in_threadpool(create_user, state(request).store, username, role,
                                password_hash, by=session.username)
    except InputError as error:
        return users_page(request, session, status=422, error=error.message)
    return _back("added", username)


@router.post("/users/password")
async def reset_password(request: Request, session: Admin, username: Name,
                         password: Password, csrf_token: Token = "") -> Response:
    """Give a user a new password; their sessions end."""
    from ectocalc.record import set_password_hash

    check_csrf(session, csrf_token)
    web = state(request)
    try:
        password_hash = await _new_hash(request, username, password)
        user = await run_in_threadpool(set_password_hash, web.store, username, password_hash,
                                       by=session.username)
    except InputError as error:
        return users_page(request, session, status=422, error=error.message)
    if user.username == session.username:  # the admin's own: this session goes on
        session.credential = credential_tag(user.password_hash)
    else:
        web.sessions.drop_user(user.username)
    return _back("password", user.username)


@router.post("/users/{action}")
def change(request: Request, session: Admin, action: str, username: Name,
           csrf_token: Token = "") -> Response:
    """``disable``, ``enable`` or ``remove`` a user; a disabled or removed user's sessions
    end."""
    from ectocalc.record import remove_user, set_disabled

    check_csrf(session, csrf_token)
    web = state(request)
    try:
        if action == "enable":
            user = set_disabled(web.store, username, False, by=session.username)
        elif action == "disable":
            _not_self(session, username, "disable")
            user = set_disabled(web.store, username, True, by=session.username)
        elif action == "remove":
            _not_self(session, username, "remove")
            user = remove_user(web.store, username, by=session.username)
        else:
            return users_page(request, session, status=404, error="no such action")
    except InputError as error:
        return users_page(request, session, status=422, error=error.message)
    if action != "enable":
        web.sessions.drop_user(user.username)
    return _back(f"{action}d", user.username)
