"""Tables of the patient record (SQLAlchemy 2 ORM).

The schema is created and changed only by the Alembic migrations in ``migrations/``; these
classes describe the current head. Every clinical row points at the ``sources`` row (one added
file, or one patient's part of a FHIR Bundle) it came from, so a file is wholly in or out.
"""

from __future__ import annotations

from datetime import date as Date
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy import (
    Date as SADate,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON,
                                                     datetime: DateTime(timezone=False)}


class PatientRow(Base):
    """One patient: the record key (``patient.id`` / FHIR identifier) and stable demographics."""

    __tablename__ = "patients"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    sex: Mapped[str | None] = mapped_column(String(10))
    birth_date: Mapped[Date | None] = mapped_column(SADate)
    race_ethnicity: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class IdentifierRow(Base):
    """An identifier of a patient (FHIR ``Patient.identifier``; system '' when not given)."""

    __tablename__ = "identifiers"
    __table_args__ = (UniqueConstraint("system", "value"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"),
                                            index=True)
    system: Mapped[str] = mapped_column(String(300), default="")
    value: Mapped[str] = mapped_column(String(200), index=True)


class SourceRow(Base):
    """One added piece of content, identified by its digest (adding it again changes nothing)."""

    __tablename__ = "sources"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"),
                                            index=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    """SHA-256 of the patient's validated content in canonical JSON."""
    file_digest: Mapped[str] = mapped_column(String(64), index=True)
    """SHA-256 of the file's bytes."""
    kind: Mapped[str] = mapped_column(String(10))  # case | fhir | scan
    name: Mapped[str] = mapped_column(String(500))
    recorded_on: Mapped[Date] = mapped_column(SADate)
    """The content's date: the case ``date`` (else its latest result), or the study date."""
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Time-dependent patient facts as given then: age, pregnancy, height, risk factors."""
    added_at: Mapped[datetime] = mapped_column(DateTime)


class LabRow(Base):
    __tablename__ = "lab_results"
    __table_args__ = (
        Index("ix_lab_patient_analyte_time", "patient_id", "analyte", "effective_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"),
                                           index=True)
    position: Mapped[int] = mapped_column(Integer)
    analyte: Mapped[str] = mapped_column(String(50))
    loinc: Mapped[str | None] = mapped_column(String(20))
    value: Mapped[float] = mapped_column(Float)
    comparator: Mapped[str | None] = mapped_column(String(2))
    unit: Mapped[str] = mapped_column(String(30))
    canonical_value: Mapped[float] = mapped_column(Float)
    canonical_unit: Mapped[str] = mapped_column(String(30))
    effective_at: Mapped[datetime] = mapped_column(DateTime)
    timed: Mapped[bool] = mapped_column(Boolean, default=False)
    """True when the input gave the time of day (else ``effective_at`` is the date at 00:00)."""
    input_ref: Mapped[str | None] = mapped_column(String(100))
    """Where in the added file the result was (``labs[2]``, ``entry[5]``)."""
    resource_id: Mapped[str | None] = mapped_column(String(200))
    reference_low: Mapped[float | None] = mapped_column(Float)
    reference_high: Mapped[float | None] = mapped_column(Float)


class _Dated:
    """Columns shared by history items: source, order in the source and the date recorded."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    recorded_on: Mapped[Date] = mapped_column(SADate)


class ConditionRow(_Dated, Base):
    __tablename__ = "conditions"
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"),
                                            index=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    text: Mapped[str | None] = mapped_column(Text)
    code: Mapped[str | None] = mapped_column(String(50))
    system: Mapped[str | None] = mapped_column(String(20))
    present: Mapped[bool] = mapped_column(Boolean)
    past: Mapped[bool] = mapped_column(Boolean, server_default=false())
    input_ref: Mapped[str | None] = mapped_column(String(100))
    resource_id: Mapped[str | None] = mapped_column(String(200))


class MedicationRow(_Dated, Base):
    __tablename__ = "medications"
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"),
                                            index=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    text: Mapped[str | None] = mapped_column(Text)
    code: Mapped[str | None] = mapped_column(String(50))
    system: Mapped[str | None] = mapped_column(String(20))
    present: Mapped[bool] = mapped_column(Boolean)
    input_ref: Mapped[str | None] = mapped_column(String(100))
    resource_id: Mapped[str | None] = mapped_column(String(200))


class GeneticRow(_Dated, Base):
    __tablename__ = "genetics"
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"),
                                            index=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    gene: Mapped[str] = mapped_column(String(50))
    zygosity: Mapped[str | None] = mapped_column(String(30))
    classification: Mapped[str] = mapped_column(String(30))
    variant: Mapped[str | None] = mapped_column(String(200))


class FindingRow(_Dated, Base):
    __tablename__ = "findings"
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"),
                                            index=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    site: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The whole finding (contract §2 fields)."""


class ScanRow(Base):
    """One quantified CT (``scan --format json``) with its acquisition."""

    __tablename__ = "scans"
    __table_args__ = (Index("ix_scan_patient_date", "patient_id", "study_date"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    study_date: Mapped[Date] = mapped_column(SADate)
    study_instance_uid: Mapped[str | None] = mapped_column(String(64))
    series_instance_uid: Mapped[str | None] = mapped_column(String(64))
    kvp: Mapped[float | None] = mapped_column(Float)
    slice_increment_mm: Mapped[float] = mapped_column(Float)
    convention: Mapped[str] = mapped_column(String(50))
    agatston: Mapped[float] = mapped_column(Float)
    volume_mm3: Mapped[float] = mapped_column(Float)
    mass_mg: Mapped[float] = mapped_column(Float)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The whole ScanResult (contract §4)."""


class AssessmentRow(Base):
    """An assessment made from the record, with the knowledge it was made with."""

    __tablename__ = "assessments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"),
                                            index=True)
    as_of: Mapped[Date] = mapped_column(SADate)
    knowledge_version: Mapped[str] = mapped_column(String(100))
    ectocalc_version: Mapped[str] = mapped_column(String(30))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)


class UserRecord(Base):
    """A user of the web application (password hash only, never the password)."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    username_key: Mapped[str] = mapped_column(String(100), unique=True)
    """The name as compared at sign-in (NFKC, case-folded): ``Alice`` and ``alice`` are one."""
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)


class AuditRecord(Base):
    """Append-only audit trail: who did what, when (no clinical values)."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    username: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(100))
    patient_id: Mapped[str | None] = mapped_column(String(200), index=True)
    detail: Mapped[str] = mapped_column(Text, default="")
