"""Read a FHIR R4 ``Bundle`` (JSON) into a :class:`Case`, through ``fhir.resources`` R4B models.

Read: Patient (gender, birthDate), Observation (LOINC code, UCUM valueQuantity,
referenceRange, effectiveDateTime), Condition (ICD-10-CM or SNOMED CT coding, text),
MedicationStatement and MedicationRequest (codeable concept text or coding display).
The reference date for the age is the Bundle timestamp, else the latest observation date.
``fhir.resources`` does not check code bindings, so the systems and statuses used are checked
here against explicit allow-lists.
"""

from __future__ import annotations

from datetime import date as Date
from datetime import datetime
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

from ectocalc.errors import InputError
from ectocalc.io.errors import located
from ectocalc.labs.results import make_lab_result
from ectocalc.model.case import Case, Condition, LabResult, Medication, Patient

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
CONDITION_SYSTEMS = {
    "http://hl7.org/fhir/sid/icd-10-cm": "icd10cm",
    "http://snomed.info/sct": "snomed",
}
MEDICATION_SYSTEMS = {
    "http://www.nlm.nih.gov/research/umls/rxnorm": "rxnorm",
    "http://www.whocc.no/atc": "atc",
    "http://snomed.info/sct": "snomed",
}
# Required bindings of the elements read (FHIR R4 value sets); fhir.resources does not check them.
BUNDLE_TYPES = {"document", "message", "transaction", "transaction-response", "batch",
                "batch-response", "history", "searchset", "collection"}
OBSERVATION_STATUSES = {"registered", "preliminary", "final", "amended", "corrected",
                        "cancelled", "entered-in-error", "unknown"}
MEDICATION_STATEMENT_STATUSES = {"active", "completed", "entered-in-error", "intended",
                                 "stopped", "on-hold", "unknown", "not-taken"}
MEDICATION_REQUEST_STATUSES = {"active", "on-hold", "cancelled", "completed", "entered-in-error",
                               "stopped", "draft", "unknown"}
GENDERS = {"male", "female", "other", "unknown"}
_SKIPPED_OBSERVATION = {"cancelled", "entered-in-error"}
_NOT_TAKEN = {"not-taken", "entered-in-error", "stopped", "cancelled"}
_REFUTED = {"refuted", "entered-in-error"}


def case_from_bundle(document: dict[str, Any], *, source: str) -> Case:
    """Validate a FHIR R4 Bundle and map it to a :class:`Case`."""
    try:
        bundle = Bundle.model_validate(document)
    except ValidationError as error:
        raise located(error, source) from None
    _check_code(bundle.type, BUNDLE_TYPES, source, "type")
    patient: dict[str, Any] = {}
    labs: list[LabResult] = []
    conditions: list[Condition] = []
    medications: list[Medication] = []
    for index, entry in enumerate(bundle.entry or []):
        resource = entry.resource
        field = f"entry[{index}].resource"
        if resource is None:
            raise InputError(source, field, "entry has no resource")
        kind = resource.get_resource_type()
        statuses = {"Observation": OBSERVATION_STATUSES,
                    "MedicationStatement": MEDICATION_STATEMENT_STATUSES,
                    "MedicationRequest": MEDICATION_REQUEST_STATUSES}.get(kind)
        if statuses is not None:
            _check_code(resource.status, statuses, source, f"{field}.status")
        if kind == "Patient":
            _check_code(resource.gender, GENDERS | {None}, source, f"{field}.gender")
            patient = _patient(resource, source, field)
        elif kind == "Observation":
            lab = _observation(resource, source, field)
            if lab is not None:
                labs.append(lab)
        elif kind == "Condition":
            conditions.append(_condition(resource, source, field))
        elif kind in {"MedicationStatement", "MedicationRequest"}:
            medications.append(_medication(resource, source, field))
    if patient.get("birth_date") is not None:
        patient["date"] = _reference_date(bundle, labs, source)
    try:
        return Case(
            id=bundle.id, patient=Patient(**patient), labs=labs, conditions=conditions,
            medications=medications, source=source,
        )
    except ValidationError as error:
        raise located(error, source, "Patient") from None


def _check_code(value: str | None, allowed: set[str | None] | set[str], source: str,
                field: str) -> None:
    if value not in allowed:
        shown = ", ".join(sorted(x for x in allowed if x))
        raise InputError(source, field, f"{value!r} is not a valid code (one of: {shown})")


def _reference_date(bundle: Bundle, labs: list[LabResult], source: str) -> Date:
    """The date the age is computed at; never today's date, so a bundle always reads the same."""
    if bundle.timestamp is not None:
        return bundle.timestamp.date()
    dated = [lab.date for lab in labs if lab.date is not None]
    if not dated:
        raise InputError(source, "timestamp", "the age needs a reference date: give "
                         "Bundle.timestamp or dated Observations")
    return max(dated)


def _patient(resource: Any, source: str, field: str) -> dict[str, Any]:
    gender = resource.gender if resource.gender in {"female", "male"} else None
    birth = resource.birthDate
    if birth is not None and not isinstance(birth, Date):
        raise InputError(source, f"{field}.birthDate",
                         f"partial date {birth!r}: the age needs a full birth date")
    return {"sex": gender, "birth_date": birth}


def _as_date(value: Date | datetime | str | None) -> Date | None:
    """A full date, or None for a partial FHIR date such as '2024-05' (its day is unknown)."""
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, Date) else None


def _observation(resource: Any, source: str, field: str) -> LabResult | None:
    if resource.status in _SKIPPED_OBSERVATION:
        return None
    codings = (resource.code.coding or []) if resource.code else []
    loinc = next((c.code for c in codings if c.system == LOINC and c.code), None)
    if loinc is None:
        raise InputError(source, f"{field}.code", "Observation has no LOINC coding")
    quantity = resource.valueQuantity
    if quantity is None or quantity.value is None:
        raise InputError(source, f"{field}.valueQuantity", "Observation has no numeric value")
    if quantity.system not in (None, UCUM):
        raise InputError(source, f"{field}.valueQuantity.system",
                         f"unit system {quantity.system} is not UCUM")
    unit = quantity.code or quantity.unit
    reference = None
    for item in resource.referenceRange or []:
        bounds = (item.low and item.low.value, item.high and item.high.value)
        if bounds[0] is not None and bounds[1] is not None:
            reference = (float(bounds[0]), float(bounds[1]))
            break
    return make_lab_result(
        source=source, field=field, value=float(quantity.value), unit=unit,
        loinc=loinc, date=_as_date(resource.effectiveDateTime), reference_range=reference,
        field_names={"value": f"{field}.valueQuantity.value",
                     "unit": f"{field}.valueQuantity.code", "loinc": f"{field}.code",
                     "reference_range": f"{field}.referenceRange"},
    )


def _coded(concept: Any, systems: dict[str, str]) -> tuple[str | None, str | None, str | None]:
    """Text, code and short system name of a CodeableConcept (first allowed coding)."""
    if concept is None:
        return None, None, None
    coding = next((c for c in concept.coding or [] if c.system in systems and c.code), None)
    text = concept.text or next((c.display for c in concept.coding or [] if c.display), None)
    if coding is None:
        return text, None, None
    return text, coding.code, systems[coding.system]


def _status_code(concept: Any) -> str | None:
    if concept is None:
        return None
    return next((c.code for c in concept.coding or [] if c.code), None)


def _condition(resource: Any, source: str, field: str) -> Condition:
    text, code, system = _coded(resource.code, CONDITION_SYSTEMS)
    if text is None and code is None:
        raise InputError(source, f"{field}.code",
                         "Condition needs code text or an ICD-10-CM / SNOMED CT coding")
    present = _status_code(resource.verificationStatus) not in _REFUTED
    return Condition(text=text, code=code, system=system, present=present)  # type: ignore[arg-type]


def _medication(resource: Any, source: str, field: str) -> Medication:
    text, code, system = _coded(resource.medicationCodeableConcept, MEDICATION_SYSTEMS)
    if text is None and code is None:
        raise InputError(source, f"{field}.medicationCodeableConcept",
                         "medication needs text or a coding (a Medication reference is not read)")
    return Medication(text=text, code=code, system=system,  # type: ignore[arg-type]
                      present=resource.status not in _NOT_TAKEN)
