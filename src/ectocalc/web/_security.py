"""Passwords, sessions, CSRF tokens and sign-in throttling for the web application.

Sessions live on the server (an opaque random token in an HttpOnly cookie), so signing out
really ends a session. Each session has its own CSRF token, sent back by forms (hidden field)
and by API clients (``X-CSRF-Token`` header). Passwords are argon2id hashes (argon2-cffi with
its RFC 9106 low-memory defaults).
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

Role = Literal["clinician", "viewer"]
ROLES: tuple[Role, ...] = ("clinician", "viewer")

_HASHER = PasswordHasher()
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (salted; verify with :func:`verify_password`).

    Examples
    --------
    >>> h = hash_password("correct horse")
    >>> h.startswith("$argon2id$") and verify_password(h, "correct horse")
    True
    >>> verify_password(h, "wrong")
    False
    """
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``.

    An unknown user (``password_hash`` None) still costs one hash verification, so response
    times do not reveal which user names exist.
    """
    try:
        return _HASHER.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def same_token(expected: str, given: str | None) -> bool:
    """Constant-time comparison of two tokens (False when ``given`` is missing).

    Examples
    --------
    >>> same_token("abc", "abc"), same_token("abc", "abd"), same_token("abc", None)
    (True, False, False)
    """
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


@dataclass
class Session:
    """One signed-in user: the cookie token, the user, the role and the CSRF token."""

    token: str
    username: str
    role: Role
    csrf_token: str
    expires_at: float
    last_seen: float = field(default_factory=time.monotonic)

    @property
    def can_write(self) -> bool:
        """Clinicians import; viewers only read."""
        return self.role == "clinician"


class SessionStore:
    """Server-side sessions of one process, with absolute and idle expiry.

    Parameters
    ----------
    lifetime_s : float
        Longest life of a session, seconds (default 12 h).
    idle_s : float
        A session unused this long ends (default 1 h).

    Examples
    --------
    >>> store = SessionStore()
    >>> s = store.create("ana", "viewer")
    >>> store.get(s.token).username, store.get("nope")
    ('ana', None)
    >>> store.drop(s.token); store.get(s.token) is None
    True
    """

    def __init__(self, *, lifetime_s: float = 12 * 3600, idle_s: float = 3600) -> None:
        self._lifetime_s = lifetime_s
        self._idle_s = idle_s
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def create(self, username: str, role: Role) -> Session:
        """Start a session with fresh random cookie and CSRF tokens."""
        now = time.monotonic()
        session = Session(token=secrets.token_urlsafe(32), username=username, role=role,
                          csrf_token=secrets.token_urlsafe(32),
                          expires_at=now + self._lifetime_s, last_seen=now)
        with self._lock:
            self._sessions[session.token] = session
        return session

    def get(self, token: str | None) -> Session | None:
        """The live session of a cookie token, or None (unknown, expired or idle too long)."""
        if not token:
            return None
        now = time.monotonic()
        with self._lock:
            session = self._sessions.get(token)
            if session is None:
                return None
            if now > session.expires_at or now - session.last_seen > self._idle_s:
                del self._sessions[token]
                return None
            session.last_seen = now
            return session

    def drop(self, token: str | None) -> None:
        """End a session (unknown tokens are ignored)."""
        with self._lock:
            self._sessions.pop(token or "", None)


class LoginThrottle:
    """Refuse sign-in attempts for a key (user name, client address) after repeated failures.

    Parameters
    ----------
    attempts : int
        Failures allowed within ``window_s`` before the key is locked.
    window_s : float
        Sliding window, seconds; a locked key unlocks when its oldest failure leaves it.

    Examples
    --------
    >>> t = LoginThrottle(attempts=2, window_s=60)
    >>> t.fail("u:ana"); t.blocked("u:ana")
    False
    >>> t.fail("u:ana"); t.blocked("u:ana")
    True
    >>> t.reset("u:ana"); t.blocked("u:ana")
    False
    """

    def __init__(self, *, attempts: int = 5, window_s: float = 900) -> None:
        self._attempts = attempts
        self._window_s = window_s
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        failures = self._failures.setdefault(key, deque())
        while failures and now - failures[0] > self._window_s:
            failures.popleft()
        return failures

    def blocked(self, *keys: str) -> bool:
        """Whether any of ``keys`` has used up its attempts."""
        now = time.monotonic()
        with self._lock:
            return any(len(self._recent(k, now)) >= self._attempts for k in keys)

    def fail(self, *keys: str) -> None:
        """Record one failed attempt against each key."""
        now = time.monotonic()
        with self._lock:
            for key in keys:
                self._recent(key, now).append(now)

    def reset(self, *keys: str) -> None:
        """Forget the failures of ``keys`` (after a successful sign-in)."""
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)
