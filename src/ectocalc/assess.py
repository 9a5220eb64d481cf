"""The assessment pipeline: a validated case in, a complete :class:`Assessment` out.

inputs (case file / FHIR) → :class:`Case` → scans quantified and joined as findings →
concepts recognised → labs flagged and indices derived → reasoning (mechanism, types,
syndromes, work-up, management, alerts) → chemistry → monitoring → :class:`Assessment`.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date as Date
from functools import partial
from types import ModuleType
from typing import Any

from ectocalc import __version__
from ectocalc.chemistry import ChemistryError, ChemistryOutcome, serum_chemistry
from ectocalc.errors import InputError
from ectocalc.knowledge import Knowledge
from ectocalc.labs.derive import derive
from ectocalc.labs.equations import ADULT_AGE_YEARS
from ectocalc.labs.results import (
    implausible,
    lab_alerts,
    lab_conflicts,
    report_labs,
    without_analytes,
)
from ectocalc.model.assessment import Alert, Assessment, ChemistrySection, Derived, LabReport
from ectocalc.model.case import Case, age_on
from ectocalc.model.scan import ScanResult
from ectocalc.monitoring import monitoring_notes, monitoring_plan
from ectocalc.reasoning import reason
from ectocalc.reasoning.concepts import Mention, recognise, set_aside
from ectocalc.reasoning.facts import unread_genetics
from ectocalc.scales import compute_scales
from ectocalc.vocabulary import ckd_stage_rank, parse_ckd_stage

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
    digest = input_digest(case)
    case = restrict_to(case, as_of) if as_of is not None else case
    imaging = [s for s in scans if known_on(s.study_date, as_of)]
    case = _join_scans(case, imaging)
    mentions = recognise(case, knowledge=knowledge)
    status = lab_status(case, knowledge=knowledge, mentions=mentions)
    labs, derived, usable = status.labs, status.derived, status.usable
    reasoning = reason(usable, knowledge=knowledge, labs=labs, derived=derived,
                       mentions=mentions)
    alerts = [*lab_alerts(status.reports, knowledge=knowledge,
                          not_computed=status.not_computed),
              *lab_conflicts(case, knowledge=knowledge), *reasoning.alerts]

    try:
        chemistry = serum_chemistry(usable, knowledge=knowledge)
    except ChemistryError as error:  # an extreme composition: say so, never an internal error
        why = str(error).splitlines()[0].removeprefix("PHREEQC failed: ERROR:").split(".")[0]
        chemistry = ChemistryOutcome(None, note=f"no saturation indices: PHREEQC found no "
                                                f"solution for this composition ({why.strip()})")
    if chemistry.section is None:
        alerts.append(Alert(
            id="chemistry_not_computed", severity="info",
            message=chemistry.note or "missing " + ", ".join(chemistry.missing),
            source="ectocalc chemistry (docs/chemistry.md)",
        ))

    adult = case.patient.age_years is None or case.patient.age_years >= ADULT_AGE_YEARS
    # The KDIGO schedule needs established CKD (> 3 months); a transplant stage (G3aT) follows
    # its GFR category (KDIGO 2017 chapter 5).
    stage = (derived.ckd_stage or "").removesuffix("T") if derived.ckd_chronicity else None
    monitoring = monitoring_plan(stage or None, knowledge=knowledge) if adult else []
    if monitoring:
        derived.notes.extend(monitoring_notes(knowledge=knowledge))
    monitoring += reasoning.monitoring  # outside CKD: hypercalcaemia, PHPT, tumour lysis

    return Assessment(
        case_id=case.id, source=case.source,
        patient={"id": case.patient.id, "age_years": case.patient.age_years,
                 "sex": case.patient.sex},
        labs=status.reports, derived=derived, mechanism=reasoning.mechanism, types=reasoning.types,
        syndromes=reasoning.syndromes, workup=reasoning.workup, management=reasoning.management,
        monitoring=monitoring, chemistry=None if chemistry.section is None
        else ChemistrySection.model_validate(chemistry.section), imaging=imaging, alerts=alerts,
        skipped_inputs=[*case.skipped, *set_aside(mentions),
                        *unread_genetics(case, knowledge)],
        scales=compute_scales(usable, knowledge=knowledge, scans=imaging,
                              ckd_stage=derived.ckd_stage, mentions=mentions),
        disclaimer=DISCLAIMER, knowledge_version=knowledge.version, ectocalc_version=__version__,
        as_of=as_of, input_digest=digest,
    )


@dataclass(frozen=True)
class LabStatus:
    """A case's results as the assessment judges them (:func:`lab_status`)."""

    reports: list[LabReport]
    """Every analyte's latest result, flagged (implausible ones included: they are shown)."""
    labs: list[LabReport]
    """The reports the assessment uses: without implausible values."""
    usable: Case
    """The case without the analytes whose latest value is implausible."""
    derived: Derived
    """Derived indices from :attr:`usable`."""
    not_computed: list[str] = field(default_factory=list)
    """Derived quantities an implausible value would have fed (named in its alert)."""


def lab_status(case: Case, *, knowledge: Knowledge,
               mentions: Sequence[Mention] | None = None) -> LabStatus:
    """The flagged lab reports and derived indices of a case, exactly as :func:`assess` gives
    them (no reasoning, chemistry or scales): the patient record's per-date flags and derived
    series come from here, so they agree with the assessment on the same date.

    A value outside the plausible range is reported but used in no calculation or rule.

    Parameters
    ----------
    case : Case
        The case as known on the date of interest (:func:`restrict_to`).
    knowledge : Knowledge
        The knowledge bundle (ranges, intervals, kidney definitions).
    mentions : sequence of Mention, optional
        The case's recognised concepts (dialysis, transplant, a stated CKD stage, acute kidney
        injury); recognised here when not given.

    Returns
    -------
    LabStatus

    Raises
    ------
    InputError
        Creatinine or cystatin C without the age or sex every eGFR equation needs.
    """
    if mentions is None:
        mentions = recognise(case, knowledge=knowledge)
    affirmed = [m for m in mentions if m.present and not m.family]
    ckd = [m for m in affirmed if m.id == "chronic_kidney_disease"]
    reports = report_labs(case, knowledge=knowledge)
    # A value outside the plausible range is shown but used in no calculation or rule.
    excluded = implausible(reports, knowledge=knowledge)
    usable = without_analytes(case, excluded)
    labs = [r for r in reports if r.analyte not in excluded]
    derive_for = partial(
        derive, knowledge=knowledge,
        on_dialysis=any(m.id == "dialysis" for m in affirmed),
        recorded_ckd_stage=max((m.attributes["stage"] for m in ckd
                                if parse_ckd_stage(m.attributes.get("stage", ""))),
                               default=None, key=_stage_rank),
        kidney_damage_marker=bool(ckd),
        acute_kidney_injury=any(m.id == "acute_kidney_injury" for m in affirmed),
        kidney_transplant=any(m.id == "kidney_transplant" for m in affirmed),
    )
    derived = derive_for(usable, labs=labs)
    not_computed: list[str] = []
    if excluded:  # name what the implausible value would have fed
        kept = {d.quantity for d in derived.basis}
        not_computed = [d.quantity for d in derive_for(case, labs=reports).basis
                        if d.quantity not in kept]
    return LabStatus(reports=reports, labs=labs, usable=usable, derived=derived,
                     not_computed=not_computed)


def input_digest(case: Case) -> str:
    """``sha256:<hex>`` over the case as canonical JSON (sorted keys, no whitespace).

    Where the case was read from (``source``) is not part of it: the same content read from
    two paths has one digest.

    Examples
    --------
    >>> from ectocalc.model import Patient
    >>> a = input_digest(Case(patient=Patient(age_years=60), source="a.yaml"))
    >>> a == input_digest(Case(patient=Patient(age_years=60), source="b.yaml")), a[:7]
    (True, 'sha256:')
    """
    data = case.model_dump(mode="json", exclude={"source"})
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def known_on(day: Date | None, as_of: Date | None) -> bool:
    """Whether something dated ``day`` is known on ``as_of``: the one as-of rule.

    Every adapter (case file, record, web, cohort) leaves out what is dated after ``as_of``
    through this rule; an undated item is kept (it is taken as current), and with no
    ``as_of`` everything is known.

    Examples
    --------
    >>> known_on(Date(2026, 3, 1), Date(2026, 3, 1)), known_on(Date(2026, 3, 2), Date(2026, 3, 1))
    (True, False)
    >>> known_on(None, Date(2026, 3, 1)), known_on(Date(2030, 1, 1), None)
    (True, True)
    """
    return as_of is None or day is None or day <= as_of


def as_of_date(text: str | None, *, where: str = "--as-of") -> Date | None:
    """The date an as-of option gives (ISO ``YYYY-MM-DD``), or None when not given: read one
    way by every command and the Python API.

    Raises
    ------
    InputError
        Not a calendar date (names ``where``; exit 2 on the command line).

    Examples
    --------
    >>> as_of_date("2026-03-01"), as_of_date(None)
    (datetime.date(2026, 3, 1), None)
    >>> as_of_date("2026-13-01")
    Traceback (most recent call last):
    ...
    ectocalc.errors.InputError: --as-of: not a date (YYYY-MM-DD): '2026-13-01'
    """
    if text is None:
        return None
    try:
        if len(text) != len("YYYY-MM-DD"):
            raise ValueError(text)
        return Date.fromisoformat(text)
    except ValueError:
        raise InputError(where, "", f"not a date (YYYY-MM-DD): {text!r}") from None


def restrict_to(case: Case, as_of: Date) -> Case:
    """The case as known on ``as_of``: lab results dated later are left out.

    An undated result takes the case's ``date`` (and is dated so); with neither it is kept.
    An age derived from ``birth_date`` is recomputed at ``as_of``.

    Examples
    --------
    >>> from ectocalc.model import LabResult
    >>> def lab(day):
    ...     return LabResult(analyte="phosphate", value=5.0, unit="mg/dL", canonical_value=5.0,
    ...                      canonical_unit="mg/dL", date=day)
    >>> case = Case(date=Date(2026, 3, 1), labs=[lab(Date(2026, 1, 1)), lab(None),
    ...                                          lab(Date(2026, 6, 1))])
    >>> len(restrict_to(case, Date(2026, 2, 1)).labs), len(restrict_to(case, Date(2026, 3, 1)).labs)
    (1, 2)
    """
    labs = [r if r.date is not None or case.date is None
            else r.model_copy(update={"date": case.date})
            for r in case.labs if known_on(r.date or case.date, as_of)]
    update: dict[str, object] = {"labs": labs}
    patient = case.patient
    if patient.birth_date is not None and patient.birth_date <= as_of and (
            case.date is None or as_of < case.date):
        update["patient"] = patient.model_copy(update={
            "age_years": age_on(patient.birth_date, as_of)})
    return case.model_copy(update=update)


def _stage_rank(recorded: str) -> tuple[int, int]:
    """Severity of a recorded stage ("3B", "5D"), to keep the most severe one stated (and, of
    equals, the most specific: "3A" over "3")."""
    stage = parse_ckd_stage(recorded)
    return (-1 if stage is None else ckd_stage_rank(stage)), len(recorded)


def _join_scans(case: Case, scans: list[ScanResult]) -> Case:
    """Add the lesions of already-quantified scans to the case's findings."""
    if not scans:
        return case
    from ectocalc.imaging.findings import findings_from_scan  # lesions -> findings, no I/O

    findings = list(case.findings)
    for result in scans:
        findings.extend(findings_from_scan(result, scan_date=result.study_date))
    return case.model_copy(update={"findings": findings})


class _CallableModule(ModuleType):
    """This module, callable: ``ectocalc.assess(...)`` is the Python API's
    :func:`ectocalc.api.assess` (a package attribute named like a submodule is the submodule
    once it is imported, so the module itself answers the call)."""

    def __call__(self, case: Any, **options: Any) -> Assessment:
        from ectocalc.api import assess as api_assess

        return api_assess(case, **options)


sys.modules[__name__].__class__ = _CallableModule
