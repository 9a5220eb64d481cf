"""Split a FHIR R4 Bundle by patient, so that one Bundle can carry several patients.

Each part is a Bundle of one ``Patient`` and the resources whose ``subject`` (or ``patient``)
references it, read by the project's FHIR reader (:func:`ectocalc.io.fhir.case_from_bundle`).
Errors name the entry's index in the original Bundle.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ectocalc.errors import InputError
from ectocalc.model.case import Case

_CLINICAL = {"Observation", "Condition", "MedicationStatement", "MedicationRequest"}
_ENTRY = re.compile(r"^entry\[(\d+)\]")
_ANY_ENTRY = re.compile(r"\bentry\[(\d+)\]")


@dataclass(frozen=True)
class BundlePart:
    """One patient's part of a Bundle: the record key, all identifiers and the case."""

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
    patients: list[int] = []
    aliases: dict[str, int] = {}
    for index, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict) and resource.get("resourceType") == "Patient":
            patients.append(index)
            for alias in _aliases(entry, resource):
                aliases[alias] = index
    if not patients:
        if patient_id is None:
            raise InputError(source, "entry", "the Bundle has no Patient: give --patient ID")
        return [BundlePart(key=patient_id, identifiers=[("", patient_id)],
                           case=_read_part(document, list(range(len(entries))), source))]
    members: dict[int, list[int]] = {index: [index] for index in patients}
    for index, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if index in members or not isinstance(resource, dict):
            continue
        owner = _owner(resource, aliases)
        if owner is None and len(patients) == 1:
            owner = patients[0]
        if owner is None:
            if resource.get("resourceType") in _CLINICAL:
                raise InputError(source, f"entry[{index}].resource.subject",
                                 "does not reference one of the Bundle's Patients")
            continue
        members[owner].append(index)
    parts = []
    for index in patients:
        resource = entries[index]["resource"]
        identifiers = _identifiers(resource)
        key = identifiers[0][1] if identifiers else resource.get("id")
        if not key:
            raise InputError(source, f"entry[{index}].resource.identifier",
                             "the Patient needs an identifier (or id) to link the record")
        if not identifiers:
            identifiers = [("", key)]
        parts.append(BundlePart(key=str(key), identifiers=identifiers,
                                case=_read_part(document, sorted(members[index]), source)))
    return parts


def _aliases(entry: dict[str, Any], resource: dict[str, Any]) -> list[str]:
    found = []
    if isinstance(entry.get("fullUrl"), str):
        found.append(entry["fullUrl"])
    if isinstance(resource.get("id"), str):
        found.append(f"Patient/{resource['id']}")
    return found


def _owner(resource: dict[str, Any], aliases: dict[str, int]) -> int | None:
    for key in ("subject", "patient"):
        reference = resource.get(key)
        target = reference.get("reference") if isinstance(reference, dict) else None
        if not isinstance(target, str):
            continue
        if target in aliases:
            return aliases[target]
        match = re.search(r"Patient/[^/]+$", target)  # absolute URL of a Patient/id
        if match and match.group(0) in aliases:
            return aliases[match.group(0)]
    return None


def _identifiers(resource: dict[str, Any]) -> list[tuple[str, str]]:
    found = []
    for item in resource.get("identifier") or []:
        if isinstance(item, dict) and isinstance(item.get("value"), str) and item["value"]:
            system = item.get("system")
            found.append((system if isinstance(system, str) else "", item["value"]))
    return found


def _read_part(document: dict[str, Any], indices: list[int], source: str) -> Case:
    """Read the entries ``indices`` as one Bundle; errors, skipped entries and the results'
    ``input_ref`` name the original entry index."""
    from ectocalc.io.fhir import case_from_bundle

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
