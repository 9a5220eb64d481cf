"""Record revisions per patient: a cheap value that changes whenever a patient's data does.

The record is append-only by source (every added file or scan is one ``sources`` row, never
updated), so ``(number of sources, highest source id)`` identifies a patient's content. One
query answers it for every patient, which lets the web application cache computed patients.
(Reads the record's tables through SQLAlchemy Core — no ORM session, it runs on every page
view; writes nothing.)
"""

from __future__ import annotations

from sqlalchemy import Select, bindparam, func, select

from ectocalc.record import Store
from ectocalc.record._schema import PatientRow, SourceRow

Revision = tuple[int, int]


def _revisions() -> Select[str, int, int]:
    return (select(PatientRow.key, func.count(SourceRow.id),
                   func.coalesce(func.max(SourceRow.id), 0))
            .select_from(PatientRow)
            .outerjoin(SourceRow, SourceRow.patient_id == PatientRow.id)
            .group_by(PatientRow.key))


_ALL = _revisions().order_by(PatientRow.key)
_ONE = _revisions().where(PatientRow.key == bindparam("patient_id"))


def patient_revisions(store: Store) -> dict[str, Revision]:
    """Every patient id in the record with its revision, ordered by id."""
    with store.engine.connect() as connection:
        rows = connection.execute(_ALL).all()
    return {key: (int(count), int(top)) for key, count, top in rows}


def patient_revision(store: Store, patient_id: str) -> Revision | None:
    """One patient's revision, or None when the record has no such patient."""
    with store.engine.connect() as connection:
        row = connection.execute(_ONE, {"patient_id": patient_id}).first()
    return None if row is None else (int(row[1]), int(row[2]))


def record_revision(revisions: dict[str, Revision]) -> tuple[int, int, int]:
    """One value for the whole record: patients, sources, highest source id.

    Examples
    --------
    >>> record_revision({"a": (2, 7), "b": (1, 9)})
    (2, 3, 9)
    """
    return (len(revisions), sum(c for c, _ in revisions.values()),
            max((top for _, top in revisions.values()), default=0))
