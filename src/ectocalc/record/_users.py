"""Users of the web application and the append-only audit log (tables of the record).

Passwords are never stored or seen here: callers pass a hash (e.g. Argon2 from
``argon2-cffi``). The audit log holds who did what and when; never clinical values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, get_args

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ectocalc.errors import InputError
from ectocalc.record._schema import AuditRecord, UserRecord
from ectocalc.record._store import Store

Role = Literal["clinician", "viewer"]


@dataclass(frozen=True)
class UserRow:
    id: int
    username: str
    role: Role
    password_hash: str
    created_at: datetime


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
                   password_hash=row.password_hash, created_at=row.created_at)


def create_user(store: Store, username: str, role: Role, password_hash: str) -> UserRow:
    """Create a user.

    Raises
    ------
    InputError
        Empty name, unknown role, or the name is taken.
    """
    if not username.strip():
        raise InputError("user", "NAME", "must not be empty")
    if role not in get_args(Role):
        raise InputError("user", "--role", f"{role!r} is not one of clinician, viewer")
    try:
        with store.session(write=True) as session:
            row = UserRecord(username=username, role=role, password_hash=password_hash,
                             created_at=_now())
            session.add(row)
            session.flush()
            return _user(row)
    except IntegrityError:
        raise InputError("user", "NAME", f"user {username!r} already exists") from None


def get_user(store: Store, username: str) -> UserRow | None:
    """The user with this name, or None."""
    with store.session() as session:
        row = session.scalar(select(UserRecord).where(UserRecord.username == username))
        return None if row is None else _user(row)


def list_users(store: Store) -> list[UserRow]:
    """Every user, by name."""
    with store.session() as session:
        return [_user(row) for row in session.scalars(
            select(UserRecord).order_by(UserRecord.username))]


def audit(store: Store, username: str, action: str, *, patient_id: str | None = None,
          detail: str = "") -> None:
    """Append one entry to the audit log (its own transaction)."""
    with store.session(write=True) as session:
        session.add(AuditRecord(at=_now(), username=username, action=action,
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
