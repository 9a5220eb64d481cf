"""Who is asking: session lookup, role checks and CSRF checks as FastAPI dependencies.

Without a session an ``/api`` call gets 401 and a page redirects to the sign-in page; a
viewer asking to change something gets 403; a state-changing call without the session's CSRF
token (``X-CSRF-Token`` header, or ``csrf_token`` form field) gets 403.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import Depends, Request

from ectocalc.web._security import Session, credential_tag, same_token
from ectocalc.web._state import WebState

SESSION_COOKIE = "ectocalc_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


class NotSignedIn(Exception):
    """No valid session (answered with 401 or a redirect to the sign-in page)."""


class Refused(Exception):
    """Signed in but not allowed (403), with the reason shown to the user."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def state(request: Request) -> WebState:
    """The application's shared state."""
    return request.app.state.web  # type: ignore[no-any-return]


RECHECK_S = 30.0
"""How often a session's user is looked up again: a user disabled, removed or given a new
password (from the CLI, another process) loses their sessions within this many seconds."""


def current_session(request: Request) -> Session:
    """Dependency: the signed-in session, else :class:`NotSignedIn`."""
    web = state(request)
    session = web.sessions.get(request.cookies.get(SESSION_COOKIE))
    if session is None:
        raise NotSignedIn
    now = time.monotonic()
    if now - session.checked_at > RECHECK_S:
        from ectocalc.record import get_user

        user = get_user(web.store, session.username)
        if (user is None or user.disabled
                or credential_tag(user.password_hash) != session.credential):
            web.sessions.drop(session.token)
            raise NotSignedIn
        session.role, session.checked_at = user.role, now
    return session


def check_csrf(session: Session, given: str | None) -> None:
    """Refuse a state-changing request whose CSRF token is not the session's."""
    if not same_token(session.csrf_token, given):
        raise Refused("missing or wrong CSRF token")


def api_writer(request: Request) -> Session:
    """Dependency for API writes: a clinician session and the ``X-CSRF-Token`` header."""
    session = current_session(request)
    check_csrf(session, request.headers.get(CSRF_HEADER))
    if not session.can_write:
        raise Refused("viewers may read but not import")
    return session


def admin_session(request: Request) -> Session:
    """Dependency for the users pages: an admin session (403 for anyone else)."""
    session = current_session(request)
    if not session.is_admin:
        raise Refused("only administrators manage users")
    return session


def cookie_secure(request: Request) -> bool:
    """Whether cookies get the ``Secure`` flag (HTTPS, or forced by the configuration)."""
    forced = state(request).config.https
    return forced if forced is not None else request.url.scheme == "https"


SignedIn = Annotated[Session, Depends(current_session)]
"""A route parameter: the signed-in session (401 / sign-in redirect otherwise)."""
Admin = Annotated[Session, Depends(admin_session)]
"""A route parameter: an admin session (403 for other users)."""
ApiWriter = Annotated[Session, Depends(api_writer)]
"""A route parameter: a clinician session whose request carries the CSRF header."""
