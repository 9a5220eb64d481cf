"""One patient over time (``record show``), the patient list, and assessment from the record."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from datetime import date as Date
from typing import Any

from sqlalchemy import func, select

from ectocalc.errors import InputError
from ectocalc.knowledge import Knowledge
from ectocalc.knowledge.schema import RecordAlertId
from ectocalc.model.assessment import Assessment
from ectocalc.model.case import Case, Finding, LabResult
from ectocalc.model.display import reported
from ectocalc.model.scan import ScanResult
from ectocalc.reasoning.concepts import Mention
from ectocalc.record._query import PatientHistory, case_as_of, find_patient, patient_history
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

DERIVED: dict[str, tuple[str, str, frozenset[str]]] = {
    "corrected_calcium": ("corrected_calcium_mg_dl", "mg/dL",
                          frozenset({"calcium", "albumin"})),
    "calcium_phosphate_product": ("calcium_phosphate_product_mg2_dl2", "mg2/dL2",
                                  frozenset({"calcium", "albumin", "phosphate"})),
    "egfr": ("egfr_ml_min_1_73m2", "mL/min/1.73m2", frozenset({"creatinine", "cystatin_c"})),
}
"""Derived series: name → (attribute of :class:`~ectocalc.model.assessment.Derived`, unit,
the analytes it is computed from). A date has a point when one of them was measured then."""


def _today() -> Date:
    return datetime.now(UTC).date()


def assess_patient(store: Store, patient_id: str, *, as_of: Date | None = None,
                   save: bool = True, knowledge: Knowledge | None = None) -> Assessment:
    """Assess the patient from everything recorded up to ``as_of`` (default today).

    The case is rebuilt as known on that date (:meth:`PatientHistory.case_on`) and assessed
    with the stored scans up to then (:func:`ectocalc.service.assess_case`); the assessment is
    stored with its knowledge version unless ``save`` is False.

    Parameters
    ----------
    store : Store
    patient_id : str
        The record id or an identifier value.
    as_of : date, optional
        Default today (UTC).
    save : bool
        Store the assessment in the record.
    knowledge : Knowledge, optional
        The bundle to assess with (default the packaged one).

    Raises
    ------
    InputError
        No such patient.
    """
    from ectocalc import service

    as_of = as_of or _today()
    with store.session() as session:
        patient = find_patient(session, patient_id)
        history = patient_history(session, patient)
        row_id = patient.id
    assessment = service.assess_case(history.case_on(as_of), knowledge=knowledge, as_of=as_of,
                                     scans=history.scans_on(as_of))
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
    """The patient's stored scan results up to ``as_of`` (none when not in the record), by
    the one as-of rule (:meth:`PatientHistory.scans_on`)."""
    with store.session() as session:
        try:
            patient = find_patient(session, patient_id)
        except InputError:
            return []
        return patient_history(session, patient).scans_on(as_of)


def patient_view(store: Store, patient_id: str, *, today: Date | None = None,
                 knowledge: Knowledge | None = None) -> dict[str, Any]:
    """The ``record show`` document (contract §5), JSON-ready, at full precision.

    The record is a data source for the core: each date's flags and derived values come from
    the core on the case as known that day (:func:`ectocalc.assess.lab_status`), the alerts
    from the assessment as of ``today`` plus the record's own trend alerts
    (``alerts.yaml: record``). Renderers round it (:func:`ectocalc.model.display.shown_view`).

    Parameters
    ----------
    store : Store
    patient_id : str
        The record id or an identifier value.
    today : date, optional
        The view's date (default today, UTC): nothing dated later is used.
    knowledge : Knowledge, optional
        The bundle to judge with (default the packaged one).

    Raises
    ------
    InputError
        No such patient.
    """
    from ectocalc import service

    today = today or _today()
    knowledge = knowledge or service.default_knowledge()
    rules = record_rules(knowledge)
    with store.session() as session:
        patient = find_patient(session, patient_id)
        history = patient_history(session, patient)
        identifiers = [{"system": system or None, "value": value} for system, value in
                       session.execute(select(IdentifierRow.system, IdentifierRow.value).where(
                           IdentifierRow.patient_id == patient.id))]
    case_now = history.case_on(today)
    series = _lab_series(history, today, knowledge)
    cac = _cac_series(history, today, knowledge)
    if cac:
        series["cac_agatston"] = cac
    trends: dict[str, Any] = {name: lab_trend(points, rules) for name, points in series.items()
                              if name not in {"egfr", "cac_agatston"}}
    if "egfr" in series:
        trends["egfr"] = egfr_trend(series["egfr"], rules)
    pairs = cac_progression(cac, rules)
    progression = {**pairs[-1], "pairs": pairs} if pairs else None

    assessment = service.assess_case(case_now, knowledge=knowledge, as_of=today,
                                     scans=history.scans_on(today))
    last_dates: dict[str, Date] = {}
    for lab in case_now.labs:
        assert lab.date is not None  # the record dates every result
        last_dates[lab.analyte] = max(lab.date, last_dates.get(lab.analyte, lab.date))
    due = monitoring_due(assessment.monitoring, last_dates, today, rules)
    alerts = [alert.model_dump(exclude_none=True) for alert in assessment.alerts]
    alerts.extend(_record_alerts(trends, progression, due, knowledge))
    view = {
        "patient": {"id": history.key, "identifiers": identifiers, "sex": case_now.patient.sex,
                    "age_years": case_now.patient.age_years, "as_of": today},
        "ckd_stage": assessment.derived.ckd_stage,
        "series": series, "trends": trends, "cac_progression": progression,
        "monitoring_due": due, "alerts": alerts,
        "knowledge_version": assessment.knowledge_version,
        "disclaimer": assessment.disclaimer,
    }
    jsonable: dict[str, Any] = _jsonable(view)
    return jsonable


def _lab_series(history: PatientHistory, today: Date,
                knowledge: Knowledge) -> dict[str, list[Any]]:
    """Every result per analyte, oldest first, and the derived series, each judged by the core
    on the case as known on its date (the patient's age and sex then: the interval in force)."""
    from ectocalc.assess import lab_status
    from ectocalc.labs.derive import corrected_calcium_flag
    from ectocalc.labs.results import report_labs

    by_day: dict[Date, list[LabResult]] = defaultdict(list)
    for lab in history.labs:
        assert lab.date is not None  # the record dates every result
        if lab.date <= today:
            by_day[lab.date].append(lab)
    series: dict[str, list[Any]] = defaultdict(list)
    derived_series: dict[str, list[Any]] = defaultdict(list)
    recognised = _Recognised(history, knowledge)
    for day in sorted(by_day):
        case = history.case_on(day)
        for lab in by_day[day]:  # each result, also several of one analyte on one day
            report = report_labs(case.model_copy(update={"labs": [lab]}),
                                 knowledge=knowledge)[0]
            series[lab.analyte].append({
                "date": day, "value": lab.canonical_value, "unit": lab.canonical_unit,
                "comparator": lab.comparator, "flag": report.flag,
                "reference_range": report.reference_range,
                "reference_source": report.reference_source,
            })
        try:
            status = lab_status(case, knowledge=knowledge, mentions=recognised(case, day))
        except InputError:  # e.g. creatinine without age or sex: no eGFR that day
            continue
        measured = {lab.analyte for lab in by_day[day]}
        derived = status.derived
        by_analyte = {report.analyte: report for report in status.labs}
        for name, (attribute, unit, inputs) in DERIVED.items():
            value = getattr(derived, attribute)
            if value is None or not measured & inputs:
                continue
            point: dict[str, Any] = {"date": day, "value": value, "unit": unit}
            if name == "egfr":
                point["equation"] = derived.egfr_equation
            if name == "corrected_calcium":
                point["flag"] = corrected_calcium_flag(value, by_analyte["calcium"],
                                                       knowledge.analytes)
                point["reference_range"] = by_analyte["calcium"].reference_range
            derived_series[name].append(point)
    return {**series, **derived_series}


class _Recognised:
    """The concepts of the case as known on each date, recognised once per distinct input:
    :func:`~ectocalc.reasoning.concepts.recognise` reads the history (which only grows with the
    date), the sex, and the age only against the concepts' ``age_at_least`` guards."""

    def __init__(self, history: PatientHistory, knowledge: Knowledge) -> None:
        from ectocalc.reasoning.concepts import recognise

        self._recognise = recognise
        self._history = history
        self._knowledge = knowledge
        self._ages = sorted({c.patient.age_at_least for c in knowledge.lexicon.concepts
                             if c.patient is not None and c.patient.age_at_least is not None})
        self._seen: dict[tuple[Any, ...], list[Mention]] = {}

    def __call__(self, case: Case, day: Date) -> list[Mention]:
        history = self._history
        known = tuple(sum(1 for when, _ in items if when <= day) for items in (
            history.conditions, history.medications, history.genetics, history.findings))
        age = case.patient.age_years
        key = (known, case.patient.sex,
               None if age is None else tuple(age >= limit for limit in self._ages))
        if key not in self._seen:
            self._seen[key] = self._recognise(case, knowledge=self._knowledge)
        return self._seen[key]


def _cac_series(history: PatientHistory, today: Date,
                knowledge: Knowledge) -> list[dict[str, Any]]:
    """Coronary calcium over time: each stored CT's Agatston total, and each coronary Agatston
    a radiology report gave in a case's findings (dated when its file was recorded; a finding
    restated unchanged in a later file is not a new measurement)."""
    from ectocalc.scales import reported_coronary_agatston

    points = [point for point in history.scan_acquisitions if point["date"] <= today]
    seen: set[str] = set()
    by_day: dict[Date, list[Finding]] = defaultdict(list)
    for day, finding in history.findings:
        text = finding.model_dump_json()
        if day <= today and finding.agatston is not None and text not in seen:
            seen.add(text)
            by_day[day].append(finding)
    for day, findings in by_day.items():
        score = reported_coronary_agatston(findings, knowledge=knowledge)
        if score is not None:
            points.append({"date": day, "value": score, "origin": "reported"})
    return sorted(points, key=lambda point: point["date"])


def _record_alerts(trends: dict[str, Any], progression: dict[str, Any] | None,
                   due: list[dict[str, Any]], knowledge: Knowledge) -> list[dict[str, Any]]:
    """Alerts that only the record can raise (``alerts.yaml: record``): persistence, rapid
    eGFR decline, CAC progression, overdue monitoring."""
    def alert(alert_id: RecordAlertId, suffix: str = "", **values: Any) -> dict[str, Any]:
        entry = knowledge.alerts.record_alert(alert_id)
        return {"id": alert_id + suffix, "severity": entry.severity,
                "message": entry.message.format(**values),
                "source": "; ".join(knowledge.cite(source)
                                    for source in [entry.source, *entry.named_by])}

    alerts = [alert("persistent_high", f"_{name}", analyte=name)
              for name, trend in trends.items() if trend.get("persistent_high")]
    egfr = trends.get("egfr")
    if egfr and egfr.get("rapid_decline"):
        alerts.append(alert("egfr_rapid_decline", slope_per_year=format(
            -reported("record.trends.egfr.slope_per_year", egfr["slope_per_year"]), "g")))
    methods = [name for name in ("hokanson", "raggi", "incident")
               if progression and progression[name]]
    if methods:
        alerts.append(alert("cac_progression", methods=", ".join(methods)))
    overdue = [item["test"] for item in due if item["overdue"]]
    if overdue:
        alerts.append(alert("monitoring_overdue", tests=", ".join(overdue)))
    return alerts


def list_patients(store: Store, *, details: bool = False, today: Date | None = None,
                  knowledge: Knowledge | None = None) -> list[dict[str, Any]]:
    """The patients in the record, by id: sex, number of results, last result date.

    With ``details``, also each patient's alert ids and overdue tests (computed as
    :func:`patient_view` does, with ``knowledge``; slower).
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
            view = patient_view(store, patient.key, today=today, knowledge=knowledge)
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
