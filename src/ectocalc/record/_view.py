"""One patient over time (``record show``), the patient list, and assessment from the record."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from datetime import date as Date
from typing import Any

from sqlalchemy import func, select

from ectocalc.errors import InputError
from ectocalc.model.assessment import Assessment
from ectocalc.model.case import Case, LabResult, Patient
from ectocalc.model.display import reported
from ectocalc.model.scan import ScanResult
from ectocalc.record._query import (
    as_lab,
    case_as_of,
    find_patient,
    lab_rows,
    patient_as_of,
    patient_states,
    scan_rows,
    stored_scans,
)
from ectocalc.record._rules import record_rules
from ectocalc.record._schema import (
    AssessmentRow,
    IdentifierRow,
    LabRow,
    PatientRow,
    ScanRow,
    SourceRow,
)
from ectocalc.record._store import Store
from ectocalc.record._trends import cac_progression, egfr_trend, lab_trend, monitoring_due

DERIVED = {
    "corrected_calcium": ("corrected_calcium_mg_dl", "mg/dL"),
    "calcium_phosphate_product": ("calcium_phosphate_product_mg2_dl2", "mg2/dL2"),
    "egfr": ("egfr_ml_min_1_73m2", "mL/min/1.73m2"),
}
"""Derived series: name → (attribute of :class:`~ectocalc.model.assessment.Derived`, unit)."""


def _today() -> Date:
    return datetime.now(UTC).date()


def assess_patient(store: Store, patient_id: str, *, as_of: Date | None = None,
                   save: bool = True) -> Assessment:
    """Assess the patient from everything recorded up to ``as_of`` (default today).

    The case is rebuilt as known on that date and assessed with the stored scans up to then
    (:func:`ectocalc.service.assess_case`); the assessment is stored with its knowledge
    version unless ``save`` is False.
    """
    from ectocalc import service

    as_of = as_of or _today()
    with store.session() as session:
        patient = find_patient(session, patient_id)
        case = case_as_of(session, patient, as_of)
        scans = stored_scans(session, patient, as_of)
        row_id = patient.id
    assessment = service.assess_case(case, as_of=as_of, scans=scans)
    if save:
        with store.session(write=True) as session:
            session.add(AssessmentRow(
                patient_id=row_id, as_of=as_of, knowledge_version=assessment.knowledge_version,
                ectocalc_version=assessment.ectocalc_version,
                created_at=datetime.now(UTC).replace(tzinfo=None),
                result=assessment.model_dump(mode="json")))
    return assessment


def patient_revision(store: Store, patient_id: str) -> str:
    """A cheap value that changes whenever anything is added to the patient's record.

    Raises
    ------
    InputError
        No such patient.
    """
    with store.session() as session:
        patient = find_patient(session, patient_id)
        count, last = session.execute(select(func.count(SourceRow.id), func.max(SourceRow.id))
                                      .where(SourceRow.patient_id == patient.id)).one()
    return f"{patient.id}.{count}.{last or 0}"


def case_for(store: Store, patient_id: str, as_of: Date) -> Case:
    """The patient's case as known on ``as_of`` (results and history up to that date)."""
    with store.session() as session:
        return case_as_of(session, find_patient(session, patient_id), as_of)


def scans_for(store: Store, patient_id: str, as_of: Date) -> list[ScanResult]:
    """The patient's stored scan results up to ``as_of`` (none when not in the record)."""
    with store.session() as session:
        try:
            patient = find_patient(session, patient_id)
        except InputError:
            return []
        return stored_scans(session, patient, as_of)


def patient_view(store: Store, patient_id: str, *, today: Date | None = None) -> dict[str, Any]:
    """The ``record show`` document (contract §5), JSON-ready.

    Raises
    ------
    InputError
        No such patient.
    """
    from ectocalc import service

    today = today or _today()
    rules = record_rules()
    knowledge = service.default_knowledge()
    with store.session() as session:
        patient = find_patient(session, patient_id)
        states = patient_states(session, patient)
        labs = [as_lab(row) for row in lab_rows(session, patient)]
        scans = scan_rows(session, patient)
        identifiers = [{"system": system or None, "value": value} for system, value in
                       session.execute(select(IdentifierRow.system, IdentifierRow.value).where(
                           IdentifierRow.patient_id == patient.id))]
        case_now = case_as_of(session, patient, today)
        scans_now = stored_scans(session, patient, today)
        key = patient.key
    cache: dict[Date, Patient] = {}

    def person(day: Date) -> Patient:
        if day not in cache:
            cache[day] = patient_as_of(key, states, day)[0]
        return cache[day]

    series = _lab_series(labs, person, knowledge)
    series.update(_derived_series(labs, person, knowledge))
    cac = [{"date": row.study_date, "value": row.agatston, "volume_mm3": row.volume_mm3,
            "mass_mg": row.mass_mg, "kvp": row.kvp, "slice_increment_mm": row.slice_increment_mm,
            "convention": row.convention, "study_instance_uid": row.study_instance_uid,
            "series_instance_uid": row.series_instance_uid} for row in scans]
    if cac:
        series["cac_agatston"] = cac
    trends: dict[str, Any] = {name: lab_trend(points, rules) for name, points in series.items()
                              if name not in {"egfr", "cac_agatston"}}
    if "egfr" in series:
        trends["egfr"] = egfr_trend(series["egfr"], rules)
    pairs = cac_progression(cac, rules)
    progression = {**pairs[-1], "pairs": pairs} if pairs else None

    assessment = service.assess_case(case_now, as_of=today, scans=scans_now)
    last_dates: dict[str, Date] = {}
    for lab in labs:
        if lab.date is not None and lab.date <= today:
            last_dates[lab.analyte] = max(lab.date, last_dates.get(lab.analyte, lab.date))
    due = monitoring_due(assessment.monitoring, last_dates, today, rules)
    alerts = [alert.model_dump(exclude_none=True) for alert in assessment.alerts]
    alerts.extend(_record_alerts(trends, progression, due))
    view = {
        "patient": {"id": key, "identifiers": identifiers, "sex": case_now.patient.sex,
                    "age_years": None if case_now.patient.age_years is None
                    else reported("patient.age_years", case_now.patient.age_years),
                    "as_of": today},
        "ckd_stage": assessment.derived.ckd_stage,
        "series": series, "trends": trends, "cac_progression": progression,
        "monitoring_due": due, "alerts": alerts,
        "knowledge_version": assessment.knowledge_version,
        "disclaimer": assessment.disclaimer,
    }
    jsonable: dict[str, Any] = _jsonable(view)
    return jsonable


def _lab_series(labs: list[LabResult], person: Any, knowledge: Any) -> dict[str, list[Any]]:
    """Every result per analyte, oldest first, flagged against the range in force then."""
    from ectocalc.labs.results import report_labs

    series: dict[str, list[Any]] = defaultdict(list)
    for lab in labs:
        assert lab.date is not None  # the record dates every result
        report = report_labs(Case(patient=person(lab.date), labs=[lab]), knowledge=knowledge)[0]
        series[lab.analyte].append({
            # 4 significant digits: a result given in SI (1.55 mmol/L) reads 4.8 mg/dL, not
            # 4.8004 (conversion factors carry no more precision than the assay).
            "date": lab.date, "value": float(f"{lab.canonical_value:.4g}"),
            "unit": lab.canonical_unit,
            "comparator": lab.comparator, "flag": report.flag,
            "reference_range": report.reference_range,
            "reference_source": report.reference_source,
        })
    return dict(series)


def _derived_series(labs: list[LabResult], person: Any,
                    knowledge: Any) -> dict[str, list[Any]]:
    """Derived values per date from that date's results (same methods as the assessment)."""
    from ectocalc.labs.catalogue import flag_value
    from ectocalc.labs.derive import derive
    from ectocalc.labs.results import report_labs

    by_day: dict[Date, list[LabResult]] = defaultdict(list)
    for lab in labs:
        assert lab.date is not None
        by_day[lab.date].append(lab)
    calcium = knowledge.analytes.analytes["calcium"]
    series: dict[str, list[Any]] = defaultdict(list)
    for day in sorted(by_day):
        case = Case(date=day, patient=person(day), labs=by_day[day])
        try:
            derived = derive(case, knowledge=knowledge,
                             labs=report_labs(case, knowledge=knowledge))
        except InputError:  # e.g. creatinine without age or sex: no eGFR that day
            continue
        for name, (attribute, unit) in DERIVED.items():
            value = getattr(derived, attribute)
            if value is None:
                continue
            value = reported(f"derived.{attribute}", value)  # the series as reported
            point: dict[str, Any] = {"date": day, "value": value, "unit": unit}
            if name == "egfr":
                point["equation"] = derived.egfr_equation
            if name == "corrected_calcium":
                reference = calcium.reference_for(case.patient.sex)
                point["flag"] = flag_value(value, reference, calcium.critical)
                point["reference_range"] = reference
            series[name].append(point)
    return dict(series)


def _record_alerts(trends: dict[str, Any], progression: dict[str, Any] | None,
                   due: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Alerts that only the record can raise: persistence, rapid decline, progression, overdue."""
    alerts = []
    for name, trend in trends.items():
        if trend.get("persistent_high"):
            alerts.append({"id": f"persistent_high_{name}", "severity": "warning",
                           "message": f"{name}: the last results are all above the range",
                           "source": trend["persistent_high_source"]})
    egfr = trends.get("egfr")
    if egfr and egfr.get("rapid_decline"):
        alerts.append({"id": "egfr_rapid_decline", "severity": "warning",
                       "message": f"eGFR falls {-egfr['slope_per_year']:g} mL/min/1.73 m² per "
                                  "year (rapid decline)", "source": egfr["source"]})
    if progression and (progression["hokanson"] or progression["raggi"]
                        or progression["incident"]):
        methods = [name for name in ("hokanson", "raggi", "incident") if progression[name]]
        alerts.append({"id": "cac_progression", "severity": "warning",
                       "message": "calcium score progressed between the last two scans ("
                                  + ", ".join(methods) + ")",
                       "source": "; ".join([progression["hokanson_source"],
                                            progression["raggi_source"]])})
    overdue = [item["test"] for item in due if item["overdue"]]
    if overdue:
        alerts.append({"id": "monitoring_overdue", "severity": "info",
                       "message": "monitoring overdue: " + ", ".join(overdue),
                       "source": due[0]["source"]})
    return alerts


def list_patients(store: Store, *, details: bool = False,
                  today: Date | None = None) -> list[dict[str, Any]]:
    """The patients in the record, by id: sex, number of results, last result date.

    With ``details``, also each patient's alert ids and overdue tests (computed as
    :func:`patient_view` does; slower).
    """
    with store.session() as session:
        counts = dict(session.execute(select(LabRow.patient_id, func.count()).group_by(
            LabRow.patient_id)).all())
        last = dict(session.execute(select(LabRow.patient_id, func.max(LabRow.effective_at))
                                    .group_by(LabRow.patient_id)).all())
        scans = dict(session.execute(select(ScanRow.patient_id, func.count()).group_by(
            ScanRow.patient_id)).all())
        patients = list(session.scalars(select(PatientRow).order_by(PatientRow.key)))
    rows = []
    for patient in patients:
        row: dict[str, Any] = {
            "id": patient.key, "sex": patient.sex, "results": counts.get(patient.id, 0),
            "scans": scans.get(patient.id, 0),
            "last_result": last[patient.id].date() if patient.id in last else None}
        if details:
            view = patient_view(store, patient.key, today=today)
            row["alerts"] = [{"id": a["id"], "severity": a["severity"]} for a in view["alerts"]]
            row["overdue"] = [m["test"] for m in view["monitoring_due"] if m["overdue"]]
        rows.append(row)
    jsonable: list[dict[str, Any]] = _jsonable(rows)
    return jsonable


def _jsonable(value: Any) -> Any:
    """Dates as ISO text, tuples as lists: ready for ``json.dumps``."""
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, Date):
        return value.isoformat()
    return value
