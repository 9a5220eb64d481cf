"""Split a FHIR R4 Bundle by patient, so that one Bundle can carry several patients.

Each part is a Bundle of one ``Patient``, the resources whose ``subject`` (or ``patient``)
resolves to it (:func:`ectocalc.io.fhir.link_subjects`, the same resolution the one-patient
reader uses) and the resources about no patient (a ``Medication``), read by the project's FHIR
reader (:func:`ectocalc.io.fhir.case_from_bundle`). An Observation, Condition or medication
whose subject is not one of the Bundle's Patients is refused, naming the entry, whether the
Bundle holds one Patient or several. Errors name the entry's index in the original Bundle.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ectocalc.errors import InputError
from ectocalc.io.fhir import CLINICAL, case_from_bundle, link_subjects, patient_identifiers
from ectocalc.model.case import Case

_ENTRY = re.compile(r"^entry\[(\d+)\]")
_ANY_ENTRY = re.compile(r"\bentry\[(\d+)\]")


@dataclass(frozen=True)
class BundlePart:
    """One patient's part of a Bundle: the record key (the first identifier's value, else
    ``Patient.id``), all identifiers as (system, value) and the case."""

    key: str
    identifiers: list[tuple[str, str]]
    case: Case


def split_bundle(document: dict[str, Any], *, source: str,
                 patient_id: str | None = None) -> list[BundlePart]:
    """Read a Bundle into one :class:`BundlePart` per ``Patient`` it holds.

    Parameters
    ----------
    document : dict
        The parsed Bundle JSON (``transaction``, ``collection``, ``searchset``, ...).
    source : str
        File name for messages.
    patient_id : str, optional
        The record key when the Bundle has no ``Patient`` resource.

    Raises
    ------
    InputError
        A malformed entry, a clinical resource whose patient cannot be told, or a Patient
        without ``identifier`` or ``id``.
    """
    entries = document.get("entry") or []
    if not isinstance(entries, list):
        raise InputError(source, "entry", "must be a list")
    links = link_subjects(document, source=source)
    patients = links.patients
    if not patients:
        if patient_id is None:
            raise InputError(source, "entry", "the Bundle has no Patient: give --patient ID")
        return [BundlePart(key=patient_id, identifiers=[("", patient_id)],
                           case=_read_part(document, list(range(len(entries))), source))]
    members: dict[int, list[int]] = {index: [index] for index in patients}
    for index, owner in links.owners.items():
        resource = entries[index]["resource"]
        if owner is not None:
            members[owner].append(index)
        elif len(patients) == 1 or resource.get("resourceType") not in CLINICAL:
            for part in members.values():  # the one patient's, or shared (a Medication)
                part.append(index)
        else:
            raise InputError(source, f"entry[{index}].resource.subject",
                             "names no Patient, and the Bundle holds several: give the "
                             "subject of each entry")
    parts = []
    for index in patients:
        resource = entries[index]["resource"]
        field = f"entry[{index}].resource"
        identifiers = patient_identifiers(resource, source=source, field=field)
        key = identifiers[0][1] if identifiers else resource.get("id")
        if not isinstance(key, str) or not key:
            raise InputError(source, f"{field}.identifier",
                             "the Patient needs an identifier (or id) to link the record")
        parts.append(BundlePart(key=key, identifiers=identifiers or [("", key)],
                                case=_read_part(document, sorted(members[index]), source)))
    return parts


def _read_part(document: dict[str, Any], indices: list[int], source: str) -> Case:
    """Read the entries ``indices`` as one Bundle; errors, skipped entries and the results'
    ``input_ref`` name the original entry index."""
    def original(text: str) -> str:
        match = _ENTRY.match(text)
        return text if match is None else \
            f"entry[{indices[int(match.group(1))]}]" + text[match.end():]

    entries = document.get("entry") or []
    part = {**document, "entry": [entries[i] for i in indices]}
    try:
        case = case_from_bundle(part, source=source)
    except InputError as error:
        if _ENTRY.match(error.field) is None:
            raise
        raise InputError(error.source, original(error.field), error.message) from None
    if indices == list(range(len(entries))):
        return case

    def moved(items: list[Any]) -> list[Any]:
        return [item.model_copy(update={"input_ref": original(item.input_ref)})
                if item.input_ref else item for item in items]

    return case.model_copy(update={
        "skipped": [_ANY_ENTRY.sub(lambda m: f"entry[{indices[int(m.group(1))]}]", line)
                    for line in case.skipped], "labs": moved(case.labs),
        "conditions": moved(case.conditions), "medications": moved(case.medications)})
