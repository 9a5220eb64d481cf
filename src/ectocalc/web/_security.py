"""Passwords, sessions, CSRF tokens and sign-in throttling for the web application.

Sessions live on the server (an opaque random token in an HttpOnly cookie), so signing out
really ends a session. Each session has its own CSRF token, sent back by forms (hidden field)
and by API clients (``X-CSRF-Token`` header). Passwords are argon2id hashes with RFC 9106's
second recommended parameter set (:data:`ARGON2_PARAMETERS`: 64 MiB, 3 passes, 4 lanes); each
check costs that memory and about a quarter of a second of CPU, so checks run in a small pool
of their own (:class:`PasswordChecks`) and attempts are reserved before any hashing
(:class:`SignInThrottle`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import math
import os
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.profiles import RFC_9106_LOW_MEMORY

Role = Literal["clinician", "viewer", "admin"]
T = TypeVar("T")
ROLES: tuple[Role, ...] = ("clinician", "viewer", "admin")
"""viewer reads; clinician reads and imports; admin is a clinician who also manages users."""

ARGON2_PARAMETERS = RFC_9106_LOW_MEMORY
"""argon2id, t=3 passes, m=64 MiB, p=4 lanes: RFC 9106 §4 "second recommended option"
(also within OWASP's Password Storage Cheat Sheet, whose floor is m=19 MiB, t=2, p=1)."""

MIN_PASSWORD = 15
"""Shortest password: NIST SP 800-63B-4 §3.1.1.2 asks 15 for a password that is the only
factor, which it is here (8 only when it is one of several factors)."""
MAX_PASSWORD = 256
"""Longest password accepted (NIST: at least 64 must be allowed)."""

_HASHER = PasswordHasher.from_parameters(ARGON2_PARAMETERS)
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


def needs_rehash(password_hash: str) -> bool:
    """Whether a stored hash was made with other parameters than :data:`ARGON2_PARAMETERS`."""
    try:
        return _HASHER.check_needs_rehash(password_hash)
    except (InvalidHashError, ValueError):
        return False


def credential_tag(password_hash: str) -> str:
    """A short fingerprint of a stored hash: a session remembers it, so a password reset
    (a new hash) ends the sessions that began with the old password."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


GUESSABLE_SCORE = 3
"""Lowest zxcvbn score accepted: 3, "safely unguessable: moderate protection from an offline
slow-hash scenario" (fewer than 10^10 guesses for 0-2)."""


def password_problem(password: str, username: str) -> str | None:
    """Why ``password`` may not be set for ``username`` (NIST SP 800-63B-4 §3.1.1.2), or None.

    Length :data:`MIN_PASSWORD`-:data:`MAX_PASSWORD` characters (any characters, spaces
    included; no composition rules); not only spaces; not the user name and not containing it;
    and not guessable as zxcvbn judges it (score under :data:`GUESSABLE_SCORE`): zxcvbn
    matches the password, the user name included, against its bundled lists (the 30,000 most
    frequent of 10 million leaked passwords from the xato.net corpus, English words, names),
    keyboard patterns, sequences, repeats and dates, all offline. Only the first 72 characters
    are judged (zxcvbn's limit).

    Examples
    --------
    >>> password_problem("12345678", "ana")
    'at least 15 characters'
    >>> password_problem("123456789012345", "ana")
    'too easy to guess: this is similar to a commonly used password'
    >>> password_problem("victor-victor-victor", "Victor")
    'must not contain the user name'
    >>> password_problem("plum orchard at dusk", "ana") is None
    True
    """
    if len(password) < MIN_PASSWORD:
        return f"at least {MIN_PASSWORD} characters"
    if len(password) > MAX_PASSWORD:
        return f"at most {MAX_PASSWORD} characters"
    if not password.strip():
        return "must not be only spaces"
    from ectocalc.record import user_key

    name = user_key(username)
    if name and name in password.casefold():
        return "must not contain the user name"
    from zxcvbn import zxcvbn

    judged = zxcvbn(password[:72], user_inputs=[username, name])
    if judged["score"] < GUESSABLE_SCORE:
        why = judged["feedback"].get("warning") or "common words, sequences or repeats"
        return f"too easy to guess: {why[0].lower()}{why[1:].rstrip('.')}"
    return None


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
    credential: str = ""
    """:func:`credential_tag` of the password hash the session began with."""
    checked_at: float = field(default_factory=time.monotonic)
    """When the user was last looked up in the record (disabled, removed, new password?)."""

    @property
    def can_write(self) -> bool:
        """Clinicians and admins import; viewers only read."""
        return self.role in ("clinician", "admin")

    @property
    def is_admin(self) -> bool:
        """Admins also manage users."""
        return self.role == "admin"


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

    def create(self, username: str, role: Role, *, credential: str = "") -> Session:
        """Start a session with fresh random cookie and CSRF tokens."""
        now = time.monotonic()
        session = Session(token=secrets.token_urlsafe(32), username=username, role=role,
                          csrf_token=secrets.token_urlsafe(32),
                          expires_at=now + self._lifetime_s, last_seen=now,
                          credential=credential, checked_at=now)
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

    def drop_user(self, username: str) -> int:
        """End every session of one user (disabled, removed, or a new password); how many."""
        from ectocalc.record import user_key

        key = user_key(username)
        with self._lock:
            tokens = [t for t, s in self._sessions.items() if user_key(s.username) == key]
            for token in tokens:
                del self._sessions[token]
        return len(tokens)


class Throttled(Exception):
    """A sign-in attempt refused before any password check; retry after ``retry_after`` s."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"retry after {retry_after:.0f} s")
        self.retry_after = max(1, math.ceil(retry_after))


@dataclass(frozen=True)
class Attempt:
    """A reserved sign-in attempt: settle it with :meth:`SignInThrottle.settle`."""

    account: str
    address: str


class SignInThrottle:
    """Sign-in attempts per account, per client address and per (account, address).

    An attempt is *reserved* (:meth:`reserve`) before its password is checked, under one lock:
    attempts in flight count like failures, so a burst of parallel requests gets no more
    checks than sequential ones would. Then:

    * one (account, address) pair gets ``pair_attempts`` failures per ``window_s``, then 429
      until its oldest failure leaves the window: it locks only that address out of that
      account;
    * one address gets ``address_attempts`` failures per window over all accounts (spraying);
    * one account, over all addresses, is slowed down, never locked: after
      ``account_free`` failures in the window each further attempt waits
      2^(failures − account_free) seconds, at most ``max_delay_s``, so someone elsewhere can
      make the real user wait ``max_delay_s`` at most, not lock them out.

    Accounts are keyed by their compared name (:func:`ectocalc.record.user_key`) whether the
    user exists or not: an unknown name is its own key and can never throttle a real user
    (nor tell who exists). A success forgets the account's and the pair's failures, not the
    address's. State is per process: ``ectocalc serve`` runs one (sessions live there too).

    Examples
    --------
    >>> t = SignInThrottle(pair_attempts=2, clock=lambda: 0.0)
    >>> for _ in range(2):
    ...     t.settle(t.reserve("victor", "10.0.0.9"), ok=False)
    >>> t.reserve("victor", "10.0.0.9")
    Traceback (most recent call last):
    ...
    ectocalc.web._security.Throttled: retry after 900 s
    >>> t.reserve("victor", "10.0.0.1")  # the same account from elsewhere is not locked
    Attempt(account='victor', address='10.0.0.1')
    """

    def __init__(self, *, pair_attempts: int = 5, address_attempts: int = 30,
                 account_free: int = 10, window_s: float = 900, max_delay_s: float = 30,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._pair_attempts = pair_attempts
        self._address_attempts = address_attempts
        self._account_free = account_free
        self._window_s = window_s
        self._max_delay_s = max_delay_s
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._in_flight: dict[str, int] = {}
        self._next_allowed: dict[str, float] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        failures = self._failures.setdefault(key, deque())
        while failures and now - failures[0] > self._window_s:
            failures.popleft()
        if not failures:
            del self._failures[key]
        return failures

    def _used(self, key: str, now: float, limit: int) -> float | None:
        """Seconds until ``key`` has an attempt free again, or None when it has one now."""
        failures = self._recent(key, now)
        if len(failures) + self._in_flight.get(key, 0) < limit:
            return None
        return self._window_s - (now - failures[0]) if failures else 1.0

    @staticmethod
    def _keys(attempt: Attempt) -> tuple[str, str, str]:
        return (f"account:{attempt.account}", f"address:{attempt.address}",
                f"pair:{attempt.account}\n{attempt.address}")

    def reserve(self, account: str, address: str) -> Attempt:
        """Take one attempt for ``account`` from ``address``, or refuse it.

        Raises
        ------
        Throttled
            With the seconds to wait.
        """
        attempt = Attempt(account, address)
        account_key, address_key, pair_key = self._keys(attempt)
        with self._lock:
            now = self._clock()
            for key, limit in ((pair_key, self._pair_attempts),
                               (address_key, self._address_attempts)):
                wait = self._used(key, now, limit)
                if wait is not None:
                    raise Throttled(wait)
            failed = len(self._recent(account_key, now))
            if failed >= self._account_free:
                wait = self._next_allowed.get(account_key, now) - now
                if wait > 0:
                    raise Throttled(wait)
                delay = min(2.0 ** (failed - self._account_free), self._max_delay_s)
                self._next_allowed[account_key] = now + delay
            for key in (account_key, address_key, pair_key):
                self._in_flight[key] = self._in_flight.get(key, 0) + 1
        return attempt

    def settle(self, attempt: Attempt, *, ok: bool | None) -> None:
        """The outcome of a reserved attempt: a failure is counted, a success forgets the
        account's and the pair's failures, None (no check was made) only frees the slot."""
        keys = self._keys(attempt)
        with self._lock:
            now = self._clock()
            for key in keys:
                left = self._in_flight.get(key, 0) - 1
                if left > 0:
                    self._in_flight[key] = left
                else:
                    self._in_flight.pop(key, None)
            if ok is None:
                return
            if ok:
                for key in (keys[0], keys[2]):
                    self._failures.pop(key, None)
                self._next_allowed.pop(keys[0], None)
            else:
                for key in keys:
                    self._failures.setdefault(key, deque()).append(now)


class Busy(Exception):
    """Too many password checks are waiting: answer 503 and let the client retry."""


def password_workers() -> int:
    """Default size of the password-check pool: the CPU cores, at most 2.

    Each argon2 check holds 64 MiB and already runs 4 lanes, so more parallel checks would
    only add memory, not throughput, on a small server: 2 bound hashing memory at 128 MiB.
    """
    return max(1, min(2, os.cpu_count() or 1))


def _lower_priority() -> None:
    """Run the calling worker thread (and the lanes argon2 starts from it) at nice 10, so
    that the event loop thread wins the CPU over hashing (Linux: nice is per thread)."""
    with contextlib.suppress(OSError):  # not permitted: hashing keeps the process's priority
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


class PasswordChecks:
    """Password hashing and checking in a bounded pool of threads, off the event loop.

    Parameters
    ----------
    workers : int
        Checks that run at once (each holds 64 MiB while it runs).
    max_waiting : int
        Checks allowed to wait for a worker; beyond that :class:`Busy` (no queue grows
        without bound, and a waiting check holds no memory but its request).

    Attributes
    ----------
    evaluated : int
        Password checks run so far (the attack tests count them).
    """

    def __init__(self, *, workers: int | None = None, max_waiting: int = 64) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers or password_workers(),
                                        thread_name_prefix="ectocalc-argon2",
                                        initializer=_lower_priority)
        self._max_waiting = max_waiting
        self._pending = 0
        self._lock = threading.Lock()
        self.evaluated = 0

    def check(self, password_hash: str | None, password: str) -> bool:
        """:func:`verify_password`, counted in :attr:`evaluated` (call it inside :meth:`run`)."""
        with self._lock:
            self.evaluated += 1
        return verify_password(password_hash, password)

    async def run(self, function: Callable[..., T], *args: object) -> T:
        """``function(*args)`` on one of the pool's threads (a sign-in's lookup, check and
        audit together, so that a burst of sign-ins is as many threads as the pool has).

        Raises
        ------
        Busy
            ``max_waiting`` calls are already waiting.
        """
        with self._lock:
            if self._pending >= self._max_waiting:
                raise Busy
            self._pending += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, function, *args)
        finally:
            with self._lock:
                self._pending -= 1

    def shutdown(self) -> None:
        """Stop the pool's threads (running checks finish)."""
        self._pool.shutdown(wait=True, cancel_futures=True)
