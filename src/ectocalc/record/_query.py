"""Reading the record back: a patient's case as known on a date, and its scans."""

from __future__ import annotations

from datetime import date as Date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ectocalc.errors import InputError
from ectocalc.model.case import (
    DAYS_PER_YEAR,
    Case,
    Condition,
    Finding,
    GeneticFinding,
    LabResult,
    Medication,
    Patient,
    RiskFactors,
)
from ectocalc.model.scan import ScanResult
from ectocalc.record._schema import (
    ConditionRow,
    FindingRow,
    GeneticRow,
    IdentifierRow,
    LabRow,
    MedicationRow,
    PatientRow,
    ScanRow,
    SourceRow,
)

_PROVENANCE = {"input_ref", "resource_id"}
_TRANSIENT = ("pregnant", "gestation_weeks")
_SCORED = ("agatston", "volume_mm3", "mass_mg", "kauppila", "adragao")


def find_patient(session: Session, key: str) -> PatientRow:
    """The patient with this record id, identifier ``system|value``, or identifier value.

    Raises
    ------
    InputError
        No such patient in the record, or an identifier value that several patients have
        (issued by different systems): give ``system|value``.
    """
    patient = session.scalar(select(PatientRow).where(PatientRow.key == key))
    if patient is not None:
        return patient
    by_identifier = select(IdentifierRow.patient_id).distinct()
    system, bar, value = key.rpartition("|")
    found = list(session.scalars(by_identifier.where(
        IdentifierRow.system == system, IdentifierRow.value == value))) if bar else []
    found = found or list(session.scalars(by_identifier.where(IdentifierRow.value == key)))
    if len(found) > 1:
        raise InputError("record", "PATIENT", f"{len(found)} patients have the identifier "
                         f"value {key!r} (from different systems): give SYSTEM|VALUE")
    if not found:
        raise InputError("record", "PATIENT", f"no patient {key!r} in the record")
    return session.get_one(PatientRow, found[0])


def _ordered(session: Session, row: Any, patient: PatientRow, as_of: Date | None) -> list[Any]:
    statement = select(row, SourceRow.recorded_on, SourceRow.id).join(
        SourceRow, SourceRow.id == row.source_id).where(row.patient_id == patient.id)
    if as_of is not None:
        statement = statement.where(SourceRow.recorded_on <= as_of)
    ordered = statement.order_by(SourceRow.recorded_on, SourceRow.id, row.position)
    return [found[0] for found in session.execute(ordered)]


def lab_rows(session: Session, patient: PatientRow, as_of: Date | None = None) -> list[LabRow]:
    """Lab results up to ``as_of`` (inclusive), oldest first, in their files' order."""
    statement = select(LabRow).where(LabRow.patient_id == patient.id)
    if as_of is not None:
        statement = statement.where(LabRow.effective_at < _next_day(as_of))
    return list(session.scalars(statement.order_by(LabRow.effective_at, LabRow.source_id,
                                                   LabRow.position)))


def _next_day(day: Date) -> Any:
    from datetime import datetime, timedelta

    return datetime.combine(day + timedelta(days=1), datetime.min.time())


def scan_rows(session: Session, patient: PatientRow, as_of: Date | None = None) -> list[ScanRow]:
    """Scans up to ``as_of``, oldest first."""
    statement = select(ScanRow).where(ScanRow.patient_id == patient.id)
    if as_of is not None:
        statement = statement.where(ScanRow.study_date <= as_of)
    return list(session.scalars(statement.order_by(ScanRow.study_date, ScanRow.id)))


def as_lab(row: LabRow) -> LabResult:
    """A stored row as the model's :class:`LabResult`."""
    reference = None
    if row.reference_low is not None and row.reference_high is not None:
        reference = (row.reference_low, row.reference_high)
    return LabResult(analyte=row.analyte, value=row.value, unit=row.unit,
                     canonical_value=row.canonical_value, canonical_unit=row.canonical_unit,
                     loinc=row.loinc, date=row.effective_at.date(), reference_range=reference,
                     comparator=row.comparator,
                     taken_at=row.effective_at if row.timed else None,
                     input_ref=row.input_ref, resource_id=row.resource_id)


def patient_states(session: Session, patient: PatientRow) -> list[tuple[Date, dict[str, Any]]]:
    """The patient facts each added case gave, with its date, oldest first."""
    rows = session.execute(
        select(SourceRow.recorded_on, SourceRow.state).where(
            SourceRow.patient_id == patient.id, SourceRow.kind != "scan",
        ).order_by(SourceRow.recorded_on, SourceRow.id))
    return [(day, state) for day, state in rows]


def patient_as_of(key: str, states: list[tuple[Date, dict[str, Any]]],
                  as_of: Date) -> tuple[Patient, RiskFactors]:
    """Demographics as known on ``as_of``: each field from the latest case that gave it.

    The age comes from the birth date when known, else from the latest stated age plus the
    time elapsed since that case's date. Pregnancy is taken from the latest case only.
    """
    fields: dict[str, Any] = {}
    risk: dict[str, Any] = {}
    aged: tuple[float, Date] | None = None
    for day, state in states:
        if day > as_of:
            break
        given = dict(state.get("patient", {}))
        if given.get("birth_date") is None and "age_years" in given:
            aged = (float(given["age_years"]), day)
        given.pop("age_years", None)
        given.pop("date", None)
        for transient in _TRANSIENT:
            fields.pop(transient, None)
        fields.update(given)
        risk.update(state.get("risk_factors", {}))
    if fields.get("birth_date") is None and aged is not None:
        age, since = aged
        fields["age_years"] = age + (as_of - since).days / DAYS_PER_YEAR
    elif fields.get("birth_date") is not None:
        fields["date"] = as_of
    return Patient(id=key, **fields), RiskFactors(**risk)


def case_as_of(session: Session, patient: PatientRow, as_of: Date) -> Case:
    """The patient's case as known on ``as_of``: every result and history item up to then.

    History items recorded more than once are kept once; of findings with a score at the same
    site and modality, the latest.
    """
    person, risk = patient_as_of(patient.key, patient_states(session, patient), as_of)
    conditions = _unique(Condition(text=r.text, code=r.code, system=r.system, present=r.present,
                                   past=r.past, input_ref=r.input_ref,
                                   resource_id=r.resource_id)
                         for r in _ordered(session, ConditionRow, patient, as_of))
    medications = _unique(Medication(text=r.text, code=r.code, system=r.system,
                                     present=r.present, input_ref=r.input_ref,
                                     resource_id=r.resource_id)
                          for r in _ordered(session, MedicationRow, patient, as_of))
    genetics = _unique(GeneticFinding(gene=r.gene, zygosity=r.zygosity,
                                      classification=r.classification, variant=r.variant)
                       for r in _ordered(session, GeneticRow, patient, as_of))
    findings = _latest_findings(Finding.model_validate(r.data)
                                for r in _ordered(session, FindingRow, patient, as_of))
    labs = [as_lab(row) for row in lab_rows(session, patient, as_of)]
    return Case(id=patient.key, date=as_of, patient=person, risk_factors=risk, labs=labs,
                conditions=conditions, medications=medications, genetics=genetics,
                findings=findings, source=f"record:{patient.key}")


def _unique(items: Any) -> list[Any]:
    """Each item once (by content, not by where it was read); the latest mention is kept."""
    seen: dict[str, Any] = {}
    for item in items:
        seen[item.model_dump_json(exclude=_PROVENANCE)] = item
    return list(seen.values())


def _latest_findings(findings: Any) -> list[Finding]:
    kept: dict[Any, Finding] = {}
    for finding in findings:
        scored = any(getattr(finding, name) is not None for name in _SCORED)
        key = (finding.site, finding.modality) if scored else finding.model_dump_json()
        kept.pop(key, None)
        kept[key] = finding
    return list(kept.values())


def stored_scans(session: Session, patient: PatientRow, as_of: Date | None = None,
                 ) -> list[ScanResult]:
    """The stored scan results up to ``as_of``, oldest first."""
    return [ScanResult.model_validate(row.result) for row in scan_rows(session, patient, as_of)]
