"""Reading the record back: a patient's case as known on a date, and its scans."""

from __future__ import annotations

from dataclasses import dataclass
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


def _ordered(session: Session, row: Any, patient: PatientRow) -> list[tuple[Date, Any]]:
    """Every history row of the patient with the date its source was recorded, in order."""
    statement = select(row, SourceRow.recorded_on, SourceRow.id).join(
        SourceRow, SourceRow.id == row.source_id).where(row.patient_id == patient.id)
    ordered = statement.order_by(SourceRow.recorded_on, SourceRow.id, row.position)
    return [(found[1], found[0]) for found in session.execute(ordered)]


@dataclass(frozen=True)
class PatientHistory:
    """Everything the record holds of one patient, each item with the date it became known;
    :meth:`case_on` turns it into the core's :class:`Case` as known on a date."""

    key: str
    states: list[tuple[Date, dict[str, Any]]]
    conditions: list[tuple[Date, Condition]]
    medications: list[tuple[Date, Medication]]
    genetics: list[tuple[Date, GeneticFinding]]
    findings: list[tuple[Date, Finding]]
    labs: list[LabResult]
    scans: list[ScanResult]
    scan_acquisitions: list[dict[str, Any]]
    """Per stored scan (same order): study date, totals, acquisition and DICOM UIDs."""

    def case_on(self, as_of: Date) -> Case:
        """The patient's case as known on ``as_of``: every result and history item up to then.

        The one as-of rule of the core (:func:`ectocalc.assess.known_on`, through
        :func:`~ectocalc.assess.restrict_to` for the results): history items count from the
        date their file was recorded. History items recorded more than once are kept once; of
        findings with a score at the same site and modality, the latest.
        """
        from ectocalc.assess import known_on, restrict_to

        def known(items: list[tuple[Date, Any]]) -> list[Any]:
            return [item for day, item in items if known_on(day, as_of)]

        person, risk = patient_as_of(self.key, self.states, as_of)
        case = Case(id=self.key, date=as_of, patient=person, risk_factors=risk,
                    labs=self.labs, conditions=_unique(known(self.conditions)),
                    medications=_unique(known(self.medications)),
                    genetics=_unique(known(self.genetics)),
                    findings=_latest_findings(known(self.findings)),
                    source=f"record:{self.key}")
        return restrict_to(case, as_of)

    def scans_on(self, as_of: Date) -> list[ScanResult]:
        """The stored scan results known on ``as_of`` (same rule), oldest first."""
        from ectocalc.assess import known_on

        return [scan for scan in self.scans if known_on(scan.study_date, as_of)]


def patient_history(session: Session, patient: PatientRow) -> PatientHistory:
    """Read everything the record holds of ``patient`` (a few queries, then no more I/O)."""
    scans = scan_rows(session, patient)
    return PatientHistory(
        key=patient.key, states=patient_states(session, patient),
        conditions=[(day, Condition(text=r.text, code=r.code, system=r.system,
                                    present=r.present, past=r.past, input_ref=r.input_ref,
                                    resource_id=r.resource_id))
                    for day, r in _ordered(session, ConditionRow, patient)],
        medications=[(day, Medication(text=r.text, code=r.code, system=r.system,
                                      present=r.present, input_ref=r.input_ref,
                                      resource_id=r.resource_id))
                     for day, r in _ordered(session, MedicationRow, patient)],
        genetics=[(day, GeneticFinding(gene=r.gene, zygosity=r.zygosity,
                                       classification=r.classification, variant=r.variant))
                  for day, r in _ordered(session, GeneticRow, patient)],
        findings=[(day, Finding.model_validate(r.data))
                  for day, r in _ordered(session, FindingRow, patient)],
        labs=[as_lab(row) for row in lab_rows(session, patient)],
        scans=[ScanResult.model_validate(row.result) for row in scans],
        scan_acquisitions=[{
            "date": row.study_date, "value": row.agatston, "volume_mm3": row.volume_mm3,
            "mass_mg": row.mass_mg, "kvp": row.kvp, "slice_increment_mm": row.slice_increment_mm,
            "convention": row.convention, "study_instance_uid": row.study_instance_uid,
            "series_instance_uid": row.series_instance_uid} for row in scans])


def lab_rows(session: Session, patient: PatientRow) -> list[LabRow]:
    """The patient's lab results, oldest first, in their files' order."""
    statement = select(LabRow).where(LabRow.patient_id == patient.id)
    return list(session.scalars(statement.order_by(LabRow.effective_at, LabRow.source_id,
                                                   LabRow.position)))


def scan_rows(session: Session, patient: PatientRow) -> list[ScanRow]:
    """The patient's scans, oldest first (undated last)."""
    statement = select(ScanRow).where(ScanRow.patient_id == patient.id)
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
    Results dated before the first case that names the patient (a case lists earlier results)
    take that case's demographics, the age counted back to ``as_of`` and no pregnancy: the
    same patient the assessment of that case sees at those results.
    """
    fields: dict[str, Any] = {}
    risk: dict[str, Any] = {}
    aged: tuple[float, Date] | None = None
    known = [(day, state) for day, state in states if day <= as_of] or states[:1]
    for day, state in known:
        given = dict(state.get("patient", {}))
        if given.get("birth_date") is None and "age_years" in given:
            aged = (float(given["age_years"]), day)
        given.pop("age_years", None)
        given.pop("date", None)
        for transient in _TRANSIENT:
            fields.pop(transient, None)
        fields.update(given)
        risk.update(state.get("risk_factors", {}))
    if known and known[-1][0] > as_of:  # demographics of a later case: not its pregnancy
        for transient in _TRANSIENT:
            fields.pop(transient, None)
    if fields.get("birth_date") is None and aged is not None:
        age, since = aged
        fields["age_years"] = max(age + (as_of - since).days / DAYS_PER_YEAR, 0.0)
    elif fields.get("birth_date") is not None:
        fields["date"] = as_of
    return Patient(id=key, **fields), RiskFactors(**risk)


def case_as_of(session: Session, patient: PatientRow, as_of: Date) -> Case:
    """The patient's case as known on ``as_of`` (:meth:`PatientHistory.case_on`)."""
    return patient_history(session, patient).case_on(as_of)


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
