"""Write an assessment as a FHIR R4 ``Bundle`` (type ``collection``).

The Bundle holds the Patient, one Observation per laboratory result the assessment used (LOINC,
UCUM, reference range, interpretation), one Observation per derived value with ``derivedFrom``
pointing at its inputs (eGFR: LOINC 98979-8 CKD-EPI 2021 creatinine, 98980-6 CKD-EPI 2021
creatinine-cystatin C; albumin-corrected calcium 29265-6; calcium × phosphate product, which
has no LOINC code, by text), one Observation per scan total (DICOM DCM 112058 "Calcium score"
with method DCM 112055 "Agatston scoring method", DCM 122660 "Calcium Volume", DCM 122661
"Calcium Mass"; codes as in the DICOM content-mapping resource shipped with pydicom), and a
DiagnosticReport listing them all. Every resource is validated with the ``fhir.resources``
R4B models before the Bundle is returned; the project's reader
(:func:`ectocalc.io.fhir.case_from_bundle`) reads the laboratory results back.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from datetime import date as Date
from typing import Any

from ectocalc.model.assessment import Assessment, LabReport
from ectocalc.model.display import for_display
from ectocalc.model.scan import ScanResult

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
DCM = "http://dicom.nema.org/resources/ontology/DCM"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
_FLAGS = {"normal": ("N", "Normal"), "low": ("L", "Low"), "high": ("H", "High"),
          "critical_low": ("LL", "Critical low"), "critical_high": ("HH", "Critical high")}
EGFR_LOINC = {"creatinine": ("98979-8", "Glomerular filtration rate/1.73 sq M.predicted "
                                        "[Volume Rate/Area] by Creatinine-based formula "
                                        "(CKD-EPI 2021)"),
              "cystatin": ("98980-6", "Glomerular filtration rate/1.73 sq M.predicted "
                                      "[Volume Rate/Area] by Creatinine and Cystatin C-based "
                                      "formula (CKD-EPI 2021)")}
CORRECTED_CALCIUM_LOINC = ("29265-6", "Calcium.albumin corrected [Mass/volume] in Serum or Plasma")
SCAN_CODES = {"agatston": ("112058", "Calcium score", "1", "{Agatston}"),
              "volume_mm3": ("122660", "Calcium Volume", "mm3", "mm3"),
              "mass_mg": ("122661", "Calcium Mass", "mg", "mg")}


class _Ids:
    """Stable ``urn:uuid`` ids: the same assessment always gives the same Bundle ids."""

    def __init__(self, seed: str) -> None:
        self._namespace = uuid.UUID(hashlib.sha256(seed.encode()).hexdigest()[:32])

    def __call__(self, name: str) -> str:
        return str(uuid.uuid5(self._namespace, name))


def assessment_bundle(assessment: Assessment, *, patient_id: str | None = None,
                      timestamp: datetime | None = None) -> dict[str, Any]:
    """The assessment as a FHIR R4 Bundle (``collection``), every resource validated.

    Parameters
    ----------
    assessment : Assessment
    patient_id : str, optional
        The patient's identifier (``Patient.identifier``); defaults to the assessment's
        ``patient["id"]`` when present.
    timestamp : datetime, optional
        ``Bundle.timestamp`` (default now, UTC).

    Returns
    -------
    dict
        The Bundle as JSON-ready data.
    """
    assessment = for_display(assessment)  # values as reported; ids hash what is reported
    ids = _Ids(assessment.model_dump_json())
    patient_id = patient_id or assessment.patient.get("id")
    patient: dict[str, Any] = {"resourceType": "Patient", "id": ids("patient")}
    if patient_id:
        patient["identifier"] = [{"value": str(patient_id)}]
    if assessment.patient.get("sex") in {"female", "male"}:
        patient["gender"] = assessment.patient["sex"]
    subject = {"reference": f"urn:uuid:{patient['id']}"}
    resources: list[dict[str, Any]] = [patient]
    by_analyte: dict[str, str] = {}
    for lab in assessment.labs:
        observation = _lab(lab, ids(f"lab:{lab.analyte}"), subject)
        by_analyte[lab.analyte] = observation["id"]
        resources.append(observation)
    resources.extend(_derived(assessment, ids, subject, by_analyte))
    for index, scan in enumerate(assessment.imaging):
        resources.extend(_scan(scan, index, ids, subject))
    observations = [r for r in resources if r["resourceType"] == "Observation"]
    report = {
        "resourceType": "DiagnosticReport", "id": ids("report"), "status": "final",
        "code": {"text": "Ectopic calcification assessment (ectocalc)"},
        "subject": subject, "issued": _instant(timestamp),
        "result": [{"reference": f"urn:uuid:{o['id']}"} for o in observations],
        "conclusion": _conclusion(assessment),
    }
    resources.append(report)
    bundle = {"resourceType": "Bundle", "id": ids("bundle"), "type": "collection",
              "timestamp": _instant(timestamp),
              "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources]}
    _validate(bundle)
    return bundle


def _instant(timestamp: datetime | None) -> str:
    moment = timestamp or datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat(timespec="seconds")


def _quantity(value: float, unit: str, code: str | None = None,
              comparator: str | None = None) -> dict[str, Any]:
    quantity: dict[str, Any] = {"value": value, "unit": unit, "system": UCUM,
                                "code": code or unit}
    if comparator:
        quantity["comparator"] = comparator
    return quantity


def _observation(identifier: str, code: dict[str, Any], subject: dict[str, Any],
                 category: str, effective: Date | None) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Observation", "id": identifier, "status": "final",
        "category": [{"coding": [{"system": CATEGORY, "code": category}]}],
        "code": code, "subject": subject}
    if effective is not None:
        resource["effectiveDateTime"] = effective.isoformat()
    return resource


def _lab(report: LabReport, identifier: str, subject: dict[str, Any]) -> dict[str, Any]:
    from ectocalc.labs.catalogue import default_catalogue

    entry = default_catalogue().analytes[report.analyte]
    loinc = report.loinc or (entry.loinc[0] if entry.loinc else None)
    code: dict[str, Any] = {"text": report.label}
    if loinc:
        code["coding"] = [{"system": LOINC, "code": loinc}]
    resource = _observation(identifier, code, subject, "laboratory", report.date)
    resource["valueQuantity"] = _quantity(report.canonical_value, report.canonical_unit,
                                          comparator=report.comparator)
    if report.flag is not None:  # no interval: no interpretation
        flag, label = _FLAGS[report.flag]
        resource["interpretation"] = [{"coding": [{"system": INTERPRETATION, "code": flag,
                                                   "display": label}]}]
    if report.reference_range is not None:
        low, high = report.reference_range
        resource["referenceRange"] = [{"low": _quantity(low, report.canonical_unit),
                                       "high": _quantity(high, report.canonical_unit),
                                       "text": report.reference_source}]
    return resource


def _derived(assessment: Assessment, ids: _Ids, subject: dict[str, Any],
             by_analyte: dict[str, str]) -> list[dict[str, Any]]:
    derived = assessment.derived
    dates = {lab.analyte: lab.date for lab in assessment.labs if lab.date is not None}

    def observation(name: str, code: dict[str, Any], value: float, unit: str, ucum: str,
                    inputs: list[str], method: str | None) -> dict[str, Any]:
        used = [a for a in inputs if a in by_analyte]
        when = max((dates[a] for a in used if a in dates), default=None)
        resource = _observation(ids(f"derived:{name}"), code, subject, "laboratory", when)
        resource["valueQuantity"] = _quantity(value, unit, ucum)
        if method:
            resource["method"] = {"text": method}
        if used:
            resource["derivedFrom"] = [{"reference": f"urn:uuid:{by_analyte[a]}"} for a in used]
        return resource

    out = []
    if derived.egfr_ml_min_1_73m2 is not None:
        equation = derived.egfr_equation or ""
        kind = "cystatin" if "cystatin" in equation.lower() else "creatinine"
        code: dict[str, Any] = {"text": f"eGFR ({equation})"}
        if "2021" in equation and ("creatinine" in equation.lower()):
            loinc, display = EGFR_LOINC[kind]
            code["coding"] = [{"system": LOINC, "code": loinc, "display": display}]
        out.append(observation("egfr", code, derived.egfr_ml_min_1_73m2, "mL/min/1.73 m2",
                               "mL/min/{1.73_m2}", ["creatinine", "cystatin_c"], equation))
    if derived.corrected_calcium_mg_dl is not None:
        loinc, display = CORRECTED_CALCIUM_LOINC
        out.append(observation(
            "corrected_calcium", {"coding": [{"system": LOINC, "code": loinc,
                                              "display": display}], "text": display},
            derived.corrected_calcium_mg_dl, "mg/dL", "mg/dL", ["calcium", "albumin"],
            _method(assessment, "corrected")))
    if derived.calcium_phosphate_product_mg2_dl2 is not None:
        out.append(observation(
            "calcium_phosphate_product", {"text": "Calcium × phosphate product"},
            derived.calcium_phosphate_product_mg2_dl2, "mg2/dL2", "mg2/dL2",
            ["calcium", "phosphate"], None))
    return out


def _method(assessment: Assessment, word: str) -> str | None:
    return next((b.method for b in assessment.derived.basis if word in b.quantity.lower()), None)


def _scan(scan: ScanResult, index: int, ids: _Ids,
          subject: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for attribute, (code, display, ucum, unit) in SCAN_CODES.items():
        resource = _observation(ids(f"scan:{index}:{attribute}"),
                                {"coding": [{"system": DCM, "code": code, "display": display}],
                                 "text": display}, subject, "imaging", scan.study_date)
        resource["valueQuantity"] = _quantity(getattr(scan, attribute), unit, ucum)
        if attribute == "agatston":
            resource["method"] = {"coding": [{"system": DCM, "code": "112055",
                                              "display": "Agatston scoring method"}],
                                  "text": f"{scan.convention}, threshold {scan.threshold_hu:g} HU"}
        out.append(resource)
    return out


def _conclusion(assessment: Assessment) -> str:
    parts = []
    if assessment.mechanism.primary:
        parts.append(f"Leading mechanism: {assessment.mechanism.primary}.")
    if assessment.derived.ckd_stage:
        parts.append(f"CKD stage {assessment.derived.ckd_stage}.")
    parts.append(assessment.disclaimer)
    return " ".join(parts)


def _validate(bundle: dict[str, Any]) -> None:
    """Validate each resource and the Bundle with the R4B models (a failure is a bug here)."""
    from fhir.resources.R4B import get_fhir_model_class
    from fhir.resources.R4B.bundle import Bundle

    for entry in bundle["entry"]:
        resource = entry["resource"]
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    Bundle.model_validate(bundle)
