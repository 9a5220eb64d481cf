"""Users of the web application and the append-only audit log (tables of the record).

Passwords are never stored or seen here: callers pass a hash (e.g. Argon2 from
``argon2-cffi``). The audit log holds who did what and when; never clinical values.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, get_args

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from ectocalc.errors import InputError
from ectocalc.record._schema import AuditRecord, UserRecord
from ectocalc.record._store import Store

Role = Literal["clinician", "viewer", "admin"]
"""viewer: reads; clinician: reads and imports; admin: a clinician who also manages users."""


@dataclass(frozen=True)
class UserRow:
    id: int
    username: str
    role: Role
    password_hash: str
    created_at: datetime
    disabled: bool = False


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: datetime
    username: str
    action: str
    patient_id: str | None
    detail: str


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _user(row: UserRecord) -> UserRow:
    return UserRow(id=row.id, username=row.username, role=row.role,  # type: ignore[arg-type]
                   password_hash=row.password_hash, created_at=row.created_at,
                   disabled=bool(row.disabled))


def user_key(username: str) -> str:
    """The form of a user name that is compared (unique, and matched at sign-in).

    Unicode NFKC, surrounding spaces dropped, case folded: ``Alice``, ``ALICE`` and ``alice``
    are one user.

    Examples
    --------
    >>> user_key("Alice"), user_key(" ALICE "), user_key("Straße") == user_key("STRASSE")
    ('alice', 'alice', True)
    """
    return unicodedata.normalize("NFKC", username).strip().casefold()


def create_user(store: Store, username: str, role: Role, password_hash: str, *,
                by: str | None = None) -> UserRow:
    """Create a user (audited as ``user_added`` by ``by`` when given).

    Raises
    ------
    InputError
        Empty name, a name with surrounding spaces or control characters, unknown role, or
        the name is taken (case ignored: ``Alice`` when ``alice`` exists).
    """
    if not username.strip():
        raise InputError("user", "NAME", "must not be empty")
    if username != username.strip() or any(unicodedata.category(c) == "Cc" for c in username):
        raise InputError("user", "NAME", "no surrounding spaces or control characters")
    if len(user_key(username)) > 100:
        raise InputError("user", "NAME", "at most 100 characters")
    if role not in get_args(Role):
        raise InputError("user", "--role", f"{role!r} is not one of "
                                           f"{', '.join(get_args(Role))}")
    try:
        with store.session(write=True) as session:
            row = UserRecord(username=username, username_key=user_key(username), role=role,
                             password_hash=password_hash, created_at=_now(), disabled=False)
            session.add(row)
            session.flush()
            if by is not None:
                session.add(_entry(by, "user_added", f"{username} ({role})"))
            return _user(row)
    except IntegrityError:
        raise InputError("user", "NAME", f"user {username!r} already exists "
                                         "(user names ignore case)") from None


def get_user(store: Store, username: str) -> UserRow | None:
    """The user with this name, case ignored (:func:`user_key`), or None."""
    with store.session() as session:
        row = session.scalar(select(UserRecord).where(
            UserRecord.username_key == user_key(username)))
        return None if row is None else _user(row)


def _entry(by: str, action: str, detail: str) -> AuditRecord:
    return AuditRecord(at=_now(), username=by[:100], action=action, patient_id=None,
                       detail=detail)


def _change_user(store: Store, username: str, by: str, action: str,
                 **values: object) -> UserRow:
    """Change (or, with no values, delete) one user and audit it in the same transaction."""
    with store.session(write=True) as session:
        row = session.scalar(select(UserRecord).where(
            UserRecord.username_key == user_key(username)))
        if row is None:
            raise InputError("user", "NAME", f"no user {username!r}")
        before = _user(row)
        if values:
            session.execute(update(UserRecord).where(UserRecord.id == row.id).values(**values))
            session.refresh(row)
        else:
            session.execute(delete(UserRecord).where(UserRecord.id == row.id))
        session.add(_entry(by, action, before.username))
        return _user(row) if values else before


def set_password_hash(store: Store, username: str, password_hash: str, *, by: str,
                      action: str = "user_password_reset") -> UserRow:
    """Replace a user's password hash, audited as ``action`` by ``by`` (a reset, or
    ``password_rehashed``: the same password hashed with newer parameters at sign-in).

    Raises
    ------
    InputError
        No such user.
    """
    return _change_user(store, username, by, action, password_hash=password_hash)


def set_disabled(store: Store, username: str, disabled: bool, *, by: str) -> UserRow:
    """Disable a user (cannot sign in; their sessions end) or enable them again; audited as
    ``user_disabled`` / ``user_enabled`` by ``by``.

    Raises
    ------
    InputError
        No such user.
    """
    return _change_user(store, username, by, "user_disabled" if disabled else "user_enabled",
                        disabled=disabled)


def remove_user(store: Store, username: str, *, by: str) -> UserRow:
    """Delete a user, audited as ``user_removed`` by ``by`` (their own audit entries stay,
    under their name); returns the removed user.

    Raises
    ------
    InputError
        No such user.
    """
    return _change_user(store, username, by, "user_removed")


def list_users(store: Store) -> list[UserRow]:
    """Every user, by name."""
    with store.session() as session:
        return [_user(row) for row in session.scalars(
            select(UserRecord).order_by(UserRecord.username))]


def audit(store: Store, username: str, action: str, *, patient_id: str | None = None,
          detail: str = "") -> None:
    """Append one entry to the audit log (its own transaction)."""
    with store.session(write=True) as session:
        session.add(AuditRecord(at=_now(), username=username[:100], action=action,
                                patient_id=patient_id, detail=detail))


def audit_entries(store: Store, *, limit: int = 100,
                  patient_id: str | None = None) -> list[AuditRow]:
    """The latest audit entries, newest first (optionally about one patient)."""
    statement = select(AuditRecord)
    if patient_id is not None:
        statement = statement.where(AuditRecord.patient_id == patient_id)
    with store.session() as session:
        return [AuditRow(id=r.id, at=r.at, username=r.username, action=r.action,
                         patient_id=r.patient_id, detail=r.detail)
                for r in session.scalars(statement.order_by(AuditRecord.id.desc()).limit(limit))]
