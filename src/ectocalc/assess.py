"""The assessment pipeline: a validated case in, a complete :class:`Assessment` out.

inputs (case file / FHIR) → :class:`Case` → scans quantified and joined as findings →
concepts recognised → labs flagged and indices derived → reasoning (mechanism, types,
syndromes, work-up, management, alerts) → chemistry → monitoring → :class:`Assessment`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date as Date

from ectocalc import __version__
from ectocalc.chemistry import serum_chemistry
from ectocalc.knowledge import Knowledge
from ectocalc.labs.derive import derive
from ectocalc.labs.equations import ADULT_AGE_YEARS
from ectocalc.labs.results import lab_alerts, report_labs
from ectocalc.model.assessment import Alert, Assessment, ChemistrySection
from ectocalc.model.case import Case
from ectocalc.model.scan import ScanResult
from ectocalc.monitoring import monitoring_notes, monitoring_plan
from ectocalc.reasoning import reason
from ectocalc.reasoning.concepts import recognise

DISCLAIMER = (
    "Decision support, not a diagnosis: ectocalc lists what to consider, check and discuss; "
    "the treating clinician decides. Verify every value and recommendation against the patient "
    "and current guidelines."
)


def assess(case: Case, *, knowledge: Knowledge, as_of: Date | None = None,
           scans: Sequence[ScanResult] = ()) -> Assessment:
    """Assess one validated case. Pure: reads no file, writes nothing.

    Parameters
    ----------
    case : Case
        The validated case (:func:`ectocalc.service.read_case` loads one).
    knowledge : Knowledge
        The knowledge bundle to reason with (:func:`ectocalc.knowledge.load_knowledge`).
    as_of : date, optional
        Assess the case as known on this date: results dated later are left out.
    scans : sequence of ScanResult
        Quantified CT scans of this patient (already computed; see
        :func:`ectocalc.service.quantify_scan`). Their lesions join the findings.

    Returns
    -------
    Assessment
    """
    imaging = list(scans)
    case = _join_scans(case, imaging)
    mentions = recognise(case)
    affirmed = [m for m in mentions if m.present and not m.family]
    ckd = [m for m in affirmed if m.id == "chronic_kidney_disease"]
    labs = report_labs(case)
    derived = derive(
        case, labs=labs,
        on_dialysis=any(m.id == "dialysis" for m in affirmed),
        recorded_ckd_stage=max((m.attributes["stage"] for m in ckd if "stage" in m.attributes),
                               default=None, key=_stage_order),
        kidney_damage_marker=bool(ckd),
        acute_kidney_injury=any(m.id == "acute_kidney_injury" for m in affirmed),
    )
    reasoning = reason(case, labs=labs, derived=derived, mentions=mentions)
    alerts = [*lab_alerts(labs), *reasoning.alerts]

    chemistry = serum_chemistry(case)
    if chemistry.section is None:
        alerts.append(Alert(
            id="chemistry_not_computed", severity="info",
            message=chemistry.note or "missing " + ", ".join(chemistry.missing),
            source="ectocalc chemistry (docs/chemistry.md)",
        ))

    adult = case.patient.age_years is None or case.patient.age_years >= ADULT_AGE_YEARS
    monitoring = monitoring_plan(derived.ckd_stage) if adult else []
    if monitoring:
        derived.notes.extend(monitoring_notes())

    return Assessment(
        case_id=case.id, source=case.source,
        patient={"age_years": case.patient.age_years, "sex": case.patient.sex},
        labs=labs, derived=derived, mechanism=reasoning.mechanism, types=reasoning.types,
        syndromes=reasoning.syndromes, workup=reasoning.workup, management=reasoning.management,
        monitoring=monitoring, chemistry=None if chemistry.section is None
        else ChemistrySection.model_validate(chemistry.section), imaging=imaging, alerts=alerts,
        disclaimer=DISCLAIMER, knowledge_version=knowledge.version, ectocalc_version=__version__,
    )


def _stage_order(stage: str) -> tuple[int, str]:
    """Order stated CKD stages ("2" < "3A" < "3B" < "4" < "5" < "5D") to keep the most severe."""
    return int(stage[0]), stage[1:]


def _join_scans(case: Case, scans: list[ScanResult]) -> Case:
    """Add the lesions of already-quantified scans to the case's findings."""
    if not scans:
        return case
    from ectocalc.imaging.findings import findings_from_scan  # lesions -> findings, no I/O

    findings = list(case.findings)
    for result in scans:
        findings.extend(findings_from_scan(result, scan_date=result.study_date))
    return case.model_copy(update={"findings": findings})
