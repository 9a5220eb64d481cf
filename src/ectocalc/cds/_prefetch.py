"""Prefetch templates, and the one FHIR Bundle a CDS Hooks call's data make (pure).

The discovery document asks the EHR for ``patient``, ``labs`` (every LOINC code the analyte
catalogue reads), ``conditions`` and ``medications``. Whatever arrives (prefetch, or the
service's own FHIR searches) is joined into one ``collection`` Bundle, read by the project's
FHIR reader like any other Bundle.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ectocalc.knowledge import Knowledge

PATIENT = "{{context.patientId}}"


def prefetch_templates(knowledge: Knowledge) -> dict[str, str]:
    """The prefetch templates of every ectocalc service (CDS Hooks 2.0 prefetch tokens).

    Examples
    --------
    >>> from ectocalc.knowledge import load_knowledge
    >>> templates = prefetch_templates(load_knowledge())
    >>> templates["patient"], "http://loinc.org|2777-1" in templates["labs"]
    ('Patient/{{context.patientId}}', True)
    """
    codes = sorted({code for entry in knowledge.analytes.analytes.values()
                    for code in entry.loinc})
    return {
        "patient": f"Patient/{PATIENT}",
        "labs": f"Observation?patient={PATIENT}&code="
                + ",".join(f"http://loinc.org|{code}" for code in codes),
        "conditions": f"Condition?patient={PATIENT}",
        "medications": f"MedicationRequest?patient={PATIENT}",
    }


def fill(template: str, context: dict[str, Any]) -> str:
    """A template with its ``{{context.x}}`` tokens replaced (root-level primitives only)."""
    for key, value in context.items():
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            template = template.replace("{{context." + key + "}}", str(value))
    return template


def bundle_of(parts: dict[str, Any], *, timestamp: datetime) -> dict[str, Any]:
    """One ``collection`` Bundle of the prefetched (or fetched) resources.

    ``parts`` maps prefetch keys to a resource (``patient``) or a ``searchset`` Bundle; a
    ``null`` (nothing found) adds nothing. ``timestamp`` (the call's time, UTC) is the date
    the age is computed at.

    Examples
    --------
    >>> from datetime import UTC
    >>> doc = bundle_of({"patient": {"resourceType": "Patient", "id": "p"}, "labs": None},
    ...                 timestamp=datetime(2026, 1, 2, tzinfo=UTC))
    >>> doc["type"], [e["resource"]["id"] for e in doc["entry"]]
    ('collection', ['p'])
    """
    entries: list[dict[str, Any]] = []
    seen: set[str] = set()
    for value in parts.values():
        resources = _resources(value)
        for resource in resources:
            key = f"{resource.get('resourceType')}/{resource.get('id')}"
            if resource.get("id") is not None and key in seen:
                continue  # the same resource from two searches
            seen.add(key)
            entry: dict[str, Any] = {"resource": resource}
            if resource.get("id") is not None:
                entry["fullUrl"] = key
            entries.append(entry)
    return {"resourceType": "Bundle", "type": "collection",
            "timestamp": timestamp.isoformat(), "entry": entries}


def _resources(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, dict):
        return []
    if value.get("resourceType") != "Bundle":
        return [value]
    found = []
    for entry in value.get("entry") or []:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        search = entry.get("search") if isinstance(entry, dict) else None
        if isinstance(search, dict) and search.get("mode") == "outcome":
            continue  # an OperationOutcome about the search, not patient data
        if isinstance(resource, dict):
            found.append(resource)
    return found
