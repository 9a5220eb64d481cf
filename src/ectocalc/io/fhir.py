"""Read a FHIR R4 ``Bundle`` (JSON) into a :class:`Case`, through ``fhir.resources`` R4B models.

Bundles as EHRs send them: ``document`` (an International Patient Summary), ``collection``,
``transaction``, ``searchset`` and the other Bundle types. Read:

- Patient: ``identifier`` (first value, else ``id``) as the patient id, gender, birthDate.
  A bundle about two patients is refused: split it by patient first. An identifier value must
  be a string (a JSON number or true/false is refused, naming it).
- The patient of each Observation, Condition and medication is its ``subject`` (or
  ``patient``), resolved against the Bundle's Patient (:func:`link_subjects`): by ``fullUrl``,
  ``Patient/id`` (relative or ``[base]/Patient/id``), ``urn:uuid:id`` when the Patient's id is
  that UUID (resources exported from a transaction keep such references),
  ``Patient?identifier=system|value`` or a logical ``identifier`` reference (system and
  value). A reference that does not resolve to a Patient of the Bundle
  (``Patient/someone-else``, a Group, a display only) is refused, naming the entry: a result
  is never filed under a patient its subject does not name. An entry without ``subject``
  belongs to the Bundle's one Patient.
- Observation: the first LOINC coding the analyte catalogue knows, UCUM ``valueQuantity``
  with its ``comparator`` (``<``, ``<=``, ``>=``, ``>``: kept with the value), referenceRange,
  effective date.
- Condition: ICD-10-CM or SNOMED CT coding, text or coding display.
- MedicationStatement and MedicationRequest: ``medicationCodeableConcept``, or
  ``medicationReference`` resolved to a contained or bundled Medication, else its display.

What the assessment cannot use is skipped, never guessed, and listed in ``Case.skipped``:
an Observation outside the catalogue (BUN, the laboratory's own eGFR), a panel of components
(blood pressure), a value absent (``dataAbsentReason``) or not a quantity, a cancelled or
entered-in-error result, a Condition or medication without a usable code or text, and the
resource types not read (one line for all). Entries skipped for the same reason are listed
once, with their count and each code once (its count and first entry): a whole-life export
gives a few lines, not hundreds. An Observation's time of day is kept (``taken_at``), so two
results of one day at different times are not a conflict; the same value at the same instant
from two overlapping panels is one result (the repeat is listed as skipped). What is read but
wrong (an unconvertible unit, an impossible value, another comparator, a result dated after the
bundle) is refused, naming the entry and element.

The reference date for the age is ``Bundle.timestamp``, else the document Composition's
date, else the latest Observation date: never today's date, so a bundle always reads the same.
``fhir.resources`` does not check code bindings, so the systems and statuses used are checked
here against explicit allow-lists.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import date as Date
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

from ectocalc.errors import InputError
from ectocalc.io.case_file import COMPARATORS, latest_allowed_date
from ectocalc.io.errors import located
from ectocalc.labs.catalogue import default_catalogue
from ectocalc.labs.results import make_lab_result
from ectocalc.model.case import DAYS_PER_YEAR, Case, Condition, LabResult, Medication, Patient

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
_PAST = {"inactive", "remission", "resolved"}  # Condition.clinicalStatus
_STATUSES = {"Observation": OBSERVATION_STATUSES,
             "MedicationStatement": MEDICATION_STATEMENT_STATUSES,
             "MedicationRequest": MEDICATION_REQUEST_STATUSES}
CLINICAL = ("Observation", "Condition", "MedicationStatement", "MedicationRequest")
"""The resource types read whose ``subject`` (or ``patient``) must be the Bundle's Patient."""
_READ = {"Patient", "Medication", *CLINICAL}
_PATIENT_TAIL = re.compile(r"(?:^|/)(Patient/[^/]+)(?:/_history/[^/]+)?$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_CONDITIONAL = re.compile(r"^Patient\?identifier=(?:([^|]*)\|)?(.+)$")


class _Skip(Exception):
    """An entry the assessment cannot use: ``(label, reason)`` go to ``Case.skipped``."""

    def __init__(self, label: str, reason: str) -> None:
        super().__init__(label, reason)
        self.label, self.reason = label, reason


_SHOWN_CODES = 12
"""Codes named in one grouped line of ``Case.skipped`` (the rest are counted)."""


def _skipped_lines(skipped: list[tuple[int, str, str, str]]) -> list[str]:
    """One line per (resource type, reason): the entry itself when alone, else the count and
    each code once with its count and first entry.

    Examples
    --------
    >>> _skipped_lines([(3, "Observation", " 1-8", "not in the analyte catalogue")])
    ['entry[3] Observation 1-8: not in the analyte catalogue']
    >>> _skipped_lines([(3, "Observation", " 1-8", "x"), (5, "Observation", " 1-8", "x"),
    ...                 (9, "Observation", " 2-6", "x")])
    ['Observation, 3 entries: x: 1-8 ×2 (first entry[3]), 2-6 (entry[9])']
    """
    groups: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for number, kind, label, reason in skipped:
        groups.setdefault((kind, reason), []).append((number, label))
    lines = []
    for (kind, reason), members in groups.items():
        if len(members) == 1:
            number, label = members[0]
            lines.append(f"entry[{number}]{' ' if kind else ''}{kind}{label}: {reason}")
            continue
        labels: dict[str, list[int]] = {}
        for number, label in members:
            labels.setdefault(label.strip(), []).append(number)
        named = [f"{label} ×{len(numbers)} (first entry[{numbers[0]}])" if len(numbers) > 1
                 else f"{label} (entry[{numbers[0]}])"
                 for label, numbers in labels.items() if label][:_SHOWN_CODES]
        more = len([label for label in labels if label]) - len(named)
        tail = f", and {more} other codes" if more > 0 else ""
        lines.append(f"{kind or 'Entries'}, {len(members)} entries: {reason}"
                     + (f": {', '.join(named)}{tail}" if named else ""))
    return lines


def case_from_bundle(document: dict[str, Any], *, source: str) -> Case:
    """Validate a FHIR R4 Bundle and map it to a :class:`Case`.

    Raises
    ------
    InputError
        Naming ``source`` and the entry and element at fault.
    """
    _check_resource_types(document, source)
    link_subjects(document, source=source)
    try:
        bundle = Bundle.model_validate(document)
    except ValidationError as error:
        raise located(error, source) from None
    except (KeyError, TypeError, ValueError, AttributeError) as error:  # fhir.resources internals
        raise InputError(source, "", f"not a valid FHIR R4 Bundle ({type(error).__name__})"
                         ) from None
    _check_code(bundle.type, BUNDLE_TYPES, source, "type")
    entries = bundle.entry or []
    index = _reference_index(entries)
    last = latest_allowed_date(bundle.timestamp.date() if bundle.timestamp is not None else None,
                               name="Bundle.timestamp")
    patients: list[tuple[str, Any]] = []
    labs: list[LabResult] = []
    conditions: list[Condition] = []
    medications: list[Medication] = []
    skipped: list[tuple[int, str, str, str]] = []
    seen: set[tuple[object, ...]] = set()
    not_read: Counter[str] = Counter()
    for number, entry in enumerate(entries):
        resource: Any = entry.resource
        field = f"entry[{number}].resource"
        if resource is None:
            skipped.append((number, "", "", "no resource (e.g. a delete request)"))
            continue
        kind = resource.get_resource_type()
        if kind in _STATUSES:
            _check_code(resource.status, _STATUSES[kind], source, f"{field}.status")
        try:
            if kind == "Patient":
                _check_code(resource.gender, GENDERS | {None}, source, f"{field}.gender")
                patients.append((field, resource))
            elif kind == "Observation":
                lab = _observation(resource, source, field, last)
                _check_repeat(lab, seen)
                labs.append(lab)
            elif kind == "Condition":
                conditions.append(_condition(resource))
            elif kind in {"MedicationStatement", "MedicationRequest"}:
                medications.append(_medication(resource, index))
            elif kind not in _READ:
                not_read[kind] += 1
        except _Skip as reason:
            skipped.append((number, kind, reason.label, reason.reason))
    lines = _skipped_lines(skipped)
    if not_read:
        lines.append("not read: " + ", ".join(f"{n} {kind}" for kind, n in not_read.items()))
    patient = _patient(patients, source, _reference_date(bundle, labs))
    identifier = bundle.identifier.value if bundle.identifier is not None else None
    return Case(id=bundle.id or identifier, patient=patient,
                labs=labs, conditions=conditions, medications=medications, source=source,
                skipped=lines)


def _check_repeat(lab: LabResult, seen: set[tuple[object, ...]]) -> None:
    """Skip a result already read: same analyte, same instant, same value (an overlapping
    panel reporting the same draw). Only a timed result can be told to be the same draw."""
    if lab.taken_at is None:
        return
    key = (lab.analyte, lab.taken_at, round(lab.canonical_value, 4), lab.comparator)
    if key in seen:
        raise _Skip(f" {lab.loinc}", "the same result at the same moment as an earlier entry "
                                     "(overlapping panels): read once")
    seen.add(key)


def _check_resource_types(document: dict[str, Any], source: str) -> None:
    """Refuse a resource type FHIR R4 does not define, naming the entry (before parsing)."""
    entries = document.get("entry")
    if not isinstance(entries, list):
        return  # the model names a wrong type
    for number, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            continue
        field = f"entry[{number}].resource"
        found = [(field, resource)] + [
            (f"{field}.contained[{i}]", inner)
            for i, inner in enumerate(resource.get("contained") or [])
            if isinstance(resource.get("contained"), list) and isinstance(inner, dict)]
        for where, item in found:
            kind = item.get("resourceType")
            if not isinstance(kind, str) or not _is_resource_type(kind):
                raise InputError(source, f"{where}.resourceType",
                                 f"{kind!r} is not a FHIR R4 resource type")


@dataclass(frozen=True)
class SubjectLinks:
    """Which Patient of a Bundle each entry is about (entry indices of the Bundle)."""

    patients: list[int]
    """The entries holding a Patient."""
    owners: dict[int, int | None]
    """Per other entry: the entry of the Patient its ``subject`` (or ``patient``) resolves to;
    None when it names none (absent, or a resource type not read whose reference does not
    resolve)."""


def link_subjects(document: dict[str, Any], *, source: str) -> SubjectLinks:
    """Resolve each entry's ``subject`` (or ``patient``) against the Bundle's Patients.

    Parameters
    ----------
    document : dict
        The parsed Bundle JSON (before model validation).
    source : str
        File name for messages.

    Returns
    -------
    SubjectLinks

    Raises
    ------
    InputError
        An Observation, Condition or medication whose reference names no Patient of the Bundle
        (``entry[i].resource.subject``); with no Patient in the Bundle, two entries naming
        different patients; a Patient identifier value that is not a string.
    """
    entries = document.get("entry")
    entries = entries if isinstance(entries, list) else []
    resources = [entry.get("resource") if isinstance(entry, dict) else None
                 for entry in entries]
    patients: list[int] = []
    aliases: dict[str, int] = {}
    identifiers: dict[tuple[str, str], int] = {}
    for index, resource in enumerate(resources):
        if not isinstance(resource, dict) or resource.get("resourceType") != "Patient":
            continue
        patients.append(index)
        full_url = entries[index].get("fullUrl")
        if isinstance(full_url, str):
            aliases[full_url] = index
        if isinstance(resource.get("id"), str):
            aliases[f"Patient/{resource['id']}"] = index
            if _UUID.match(resource["id"]):  # a UUID names one resource wherever it appears
                aliases.setdefault(f"urn:uuid:{resource['id']}", index)
        for identifier in patient_identifiers(resource, source=source,
                                              field=f"entry[{index}].resource"):
            identifiers.setdefault(identifier, index)
    owners: dict[int, int | None] = {}
    first_named: tuple[int, Any] | None = None
    for index, resource in enumerate(resources):
        if not isinstance(resource, dict) or resource.get("resourceType") == "Patient":
            continue
        element = "patient" if "subject" not in resource and "patient" in resource \
            else "subject"
        subject = resource.get(element)
        clinical = resource.get("resourceType") in CLINICAL
        owner = None if subject is None or not patients else \
            _subject_owner(subject, aliases, identifiers, entries)
        owners[index] = owner
        if subject is None or not clinical:
            continue
        field = f"entry[{index}].resource.{element}"
        if not patients:  # the caller names the patient: all entries must name the same one
            if first_named is None:
                first_named = (index, subject)
            elif subject != first_named[1]:
                raise InputError(source, field, f"names another patient than "
                                 f"entry[{first_named[0]}] and the Bundle has no Patient: "
                                 "one Bundle must be about one patient")
        elif owner is None:
            raise InputError(source, field, f"{_shown(subject)} is not a Patient of this "
                             "Bundle: the entry is not filed under another patient")
    return SubjectLinks(patients=patients, owners=owners)


def patient_identifiers(resource: dict[str, Any], *, source: str,
                        field: str) -> list[tuple[str, str]]:
    """A Patient's identifiers as (system, value); system '' when not given.

    Raises
    ------
    InputError
        A value or system that is not a string (a JSON number or true/false), naming it.
    """
    found = []
    items = resource.get("identifier")
    for number, item in enumerate(items if isinstance(items, list) else []):
        if not isinstance(item, dict):
            continue
        for element in ("system", "value"):
            if item.get(element) is not None and not isinstance(item[element], str):
                raise InputError(source, f"{field}.identifier[{number}].{element}",
                                 f"must be a string, not {type(item[element]).__name__} "
                                 f"{item[element]!r}")
        if item.get("value"):
            found.append((item.get("system") or "", item["value"]))
    return found


def _subject_owner(subject: Any, aliases: dict[str, int],
                   identifiers: dict[tuple[str, str], int], entries: list[Any]) -> int | None:
    """The Patient entry a Reference resolves to, or None (never assumed)."""
    if not isinstance(subject, dict) or subject.get("type") not in (None, "Patient"):
        return None
    reference = subject.get("reference")
    if isinstance(reference, str):
        if reference in aliases:
            return aliases[reference]
        conditional = _CONDITIONAL.match(reference)
        if conditional is not None:
            system, value = (unquote(part or "") for part in conditional.groups())
            return identifiers.get((system, value))
        tail = _PATIENT_TAIL.search(reference)
        owner = aliases.get(tail.group(1)) if tail is not None else None
        if owner is not None and "://" in reference:  # [base]/Patient/id: the base must agree
            full_url = entries[owner].get("fullUrl")
            if isinstance(full_url, str) and "://" in full_url and \
                    not reference.startswith(full_url.rsplit("Patient/", 1)[0]):
                return None
        return owner
    logical = subject.get("identifier")
    if isinstance(logical, dict) and isinstance(logical.get("value"), str):
        issuer = logical.get("system")
        return identifiers.get((issuer if isinstance(issuer, str) else "", logical["value"]))
    return None


def _shown(subject: Any) -> str:
    """A Reference as the message names it (its reference, identifier or display)."""
    if isinstance(subject, dict):
        logical = subject.get("identifier")
        for text in (subject.get("reference"),
                     logical.get("value") if isinstance(logical, dict) else None,
                     subject.get("display")):
            if isinstance(text, str):
                return repr(text[:80])
    return "the reference"


def _is_resource_type(kind: str) -> bool:
    try:
        model = get_fhir_model_class(kind)
    except (ValueError, KeyError):
        return False
    return getattr(model, "get_resource_type", None) is not None and kind[:1].isupper()


def _check_code(value: str | None, allowed: set[str | None] | set[str], source: str,
                field: str) -> None:
    if value not in allowed:
        shown = ", ".join(sorted(x for x in allowed if x))
        raise InputError(source, field, f"{value!r} is not a valid code (one of: {shown})")


def _reference_index(entries: list[Any]) -> dict[str, Any]:
    """Bundled resources by ``fullUrl`` and by ``Type/id`` (for references between entries)."""
    index: dict[str, Any] = {}
    for entry in entries:
        resource = entry.resource
        if resource is None:
            continue
        if resource.id:
            index[f"{resource.get_resource_type()}/{resource.id}"] = resource
        if entry.fullUrl:
            index[entry.fullUrl] = resource
    return index


def _resolve(reference: str, resource: Any, index: dict[str, Any]) -> Any | None:
    """The contained (``#id``), bundled (``fullUrl`` or ``[base/]Type/id``) resource, or None."""
    if reference.startswith("#"):
        return next((c for c in resource.contained or [] if c.id == reference[1:]), None)
    if reference in index:
        return index[reference]
    parts = reference.split("/_history/")[0].rstrip("/").split("/")
    return index.get("/".join(parts[-2:])) if len(parts) >= 2 else None


def _reference_date(bundle: Bundle, labs: list[LabResult]) -> Date | None:
    """The date the age is computed at; never today's date, so a bundle always reads the same."""
    if bundle.timestamp is not None:
        return bundle.timestamp.date()
    for entry in bundle.entry or []:
        resource: Any = entry.resource
        if resource is not None and resource.get_resource_type() == "Composition":
            return _as_date(resource.date)
    dated = [lab.date for lab in labs if lab.date is not None]
    return max(dated) if dated else None


def _identity(resource: Any) -> str | None:
    value = next((i.value for i in resource.identifier or [] if i.value), None) or resource.id
    return None if value is None else str(value)


def _patient(patients: list[tuple[str, Any]], source: str, reference: Date | None) -> Patient:
    """The bundle's one patient (identity, sex, age at ``reference``), or an empty Patient."""
    if not patients:
        return Patient()
    field, resource = patients[0]
    for other_field, other in patients[1:]:
        if other.model_dump() != resource.model_dump():
            raise InputError(source, other_field, f"a second Patient (the first is {field}): "
                             "one bundle must hold one patient; split it by patient")
    birth = resource.birthDate
    if birth is not None and not isinstance(birth, Date):
        raise InputError(source, f"{field}.birthDate",
                         f"partial date {birth!r}: the age needs a full birth date")
    if birth is not None:
        if reference is None:
            raise InputError(source, "timestamp", "the age needs a reference date: give "
                             "Bundle.timestamp or dated Observations")
        if birth > reference:
            raise InputError(source, f"{field}.birthDate",
                             f"{birth} is after the bundle's date {reference}")
        if (reference - birth).days / DAYS_PER_YEAR > 130:
            raise InputError(source, f"{field}.birthDate",
                             f"{birth} is more than 130 years before the bundle's date "
                             f"{reference}")
    identity = _identity(resource)
    if identity is not None and len(identity) > 200:
        raise InputError(source, f"{field}.identifier", "longer than 200 characters")
    gender = resource.gender if resource.gender in {"female", "male"} else None
    return Patient(id=identity, sex=gender, birth_date=birth,
                   date=reference if birth is not None else None)


def _as_date(value: Date | datetime | str | None) -> Date | None:
    """A full date, or None for a partial FHIR date such as '2024-05' (its day is unknown)."""
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, Date) else None


def _observation_date(resource: Any) -> tuple[Date | None, str, datetime | None]:
    """The result's date, the element it came from, and its time of day when given (UTC)."""
    for element in ("effectiveDateTime", "effectiveInstant", "issued"):
        value = getattr(resource, element, None)
        if value is not None:
            return _as_date(value), element, _utc(value)
    period = resource.effectivePeriod
    if period is not None and period.start is not None:
        return _as_date(period.start), "effectivePeriod.start", _utc(period.start)
    return None, "effectiveDateTime", None


def _utc(value: Any) -> datetime | None:
    """A date-time as naive UTC (what ``LabResult.taken_at`` holds); None for a bare date."""
    if not isinstance(value, datetime):
        return None
    offset = value.utcoffset()
    return value.replace(tzinfo=None) - offset if offset is not None else value


def _observation(resource: Any, source: str, field: str,
                 last: tuple[Date, str]) -> LabResult:
    codings = (resource.code.coding or []) if resource.code else []
    loincs = [c for c in codings if c.system == LOINC and c.code]
    label = next((f" {c.code}" + (f" '{c.display}'" if c.display else "") for c in loincs),
                 f" '{resource.code.text}'" if resource.code and resource.code.text else "")
    if resource.status in _SKIPPED_OBSERVATION:
        raise _Skip(label, f"status {resource.status}")
    quantity = resource.valueQuantity
    if quantity is None or quantity.value is None:
        if resource.dataAbsentReason is not None:
            reason = resource.dataAbsentReason
            code = next((c.code for c in reason.coding or [] if c.code), reason.text)
            raise _Skip(label, f"no value (dataAbsentReason {code})")
        if resource.component:
            raise _Skip(label, "a panel of components (e.g. blood pressure), not read")
        raise _Skip(label, "no numeric value (valueQuantity)")
    catalogue = default_catalogue()
    known = next((c for c in loincs if catalogue.find(c.code) is not None), None)
    if known is None:
        raise _Skip(label, "not in the analyte catalogue" if loincs else "no LOINC code")
    if quantity.comparator is not None and quantity.comparator not in COMPARATORS:
        raise InputError(source, f"{field}.valueQuantity.comparator",
                         f"{quantity.comparator!r} is not one of {', '.join(COMPARATORS)}")
    if quantity.system not in (None, UCUM):
        raise InputError(source, f"{field}.valueQuantity.system",
                         f"unit system {quantity.system} is not UCUM")
    date, element, taken_at = _observation_date(resource)
    if date is not None and date > last[0]:
        raise InputError(source, f"{field}.{element}", f"{date} is after {last[1]}")
    reference = None
    for item in resource.referenceRange or []:
        bounds = (item.low and item.low.value, item.high and item.high.value)
        if bounds[0] is not None and bounds[1] is not None:
            reference = (float(bounds[0]), float(bounds[1]))
            break
    return make_lab_result(
        source=source, field=field, value=float(quantity.value),
        unit=quantity.code or quantity.unit, loinc=known.code, date=date,
        reference_range=reference, comparator=quantity.comparator, taken_at=taken_at,
        resource_id=f"Observation/{resource.id}" if resource.id else None,
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


def _condition(resource: Any) -> Condition:
    text, code, system = _coded(resource.code, CONDITION_SYSTEMS)
    if text is None and code is None:
        raise _Skip("", "no text and no ICD-10-CM / SNOMED CT coding")
    present = _status_code(resource.verificationStatus) not in _REFUTED
    past = _status_code(resource.clinicalStatus) in _PAST
    return Condition(text=text, code=code, system=system, present=present, past=past)


def _medication(resource: Any, index: dict[str, Any]) -> Medication:
    concept = resource.medicationCodeableConcept
    reference = resource.medicationReference
    display = None
    if concept is None and reference is not None:
        target = _resolve(reference.reference, resource, index) if reference.reference else None
        if target is not None and target.get_resource_type() == "Medication":
            concept = target.code
        display = reference.display
    text, code, system = _coded(concept, MEDICATION_SYSTEMS)
    text = text or display
    if text is None and code is None:
        raise _Skip("", "the medication is not identified (no text, coding, resolvable "
                        "reference or display)")
    return Medication(text=text, code=code, system=system,
                      present=resource.status not in _NOT_TAKEN)
