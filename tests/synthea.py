"""Real FHIR shapes for the identity tests: Synthea R4 Bundles from the shared folder.

Read at run time (never copied into the repository) and slimmed to the Patient and the
Observations the analyte catalogue reads, so a test stays fast; the entries keep their
Synthea form (``urn:uuid`` fullUrls, ``subject`` references, identifiers with systems).
"""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

import pytest

from ectocalc.labs.catalogue import default_catalogue
from shared_dir import SHARED

SYNTHEA = SHARED / "fhir" / "synthea-r4"
needs_synthea = pytest.mark.skipif(not SYNTHEA.is_dir(), reason="shared Synthea Bundles absent")
MRN = "http://hospital.smarthealthit.org"
"""The system of Synthea's medical record number identifier."""


@cache
def _read(prefix: str) -> dict[str, Any]:
    (path,) = SYNTHEA.glob(f"{prefix}_*.json")
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def slim_bundle(prefix: str, *, observations: int = 4) -> dict[str, Any]:
    """The Synthea Bundle of the patient whose file starts with ``prefix`` (``Louis_Maggio``):
    its Patient entry and first ``observations`` catalogue Observations, as a new dict."""
    bundle = _read(prefix)
    catalogue = default_catalogue()
    kept = [bundle["entry"][0]]
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Observation" and "valueQuantity" in resource and any(
                catalogue.find(c["code"]) for c in resource["code"]["coding"]):
            kept.append(entry)
        if len(kept) > observations:
            break
    assert kept[0]["resource"]["resourceType"] == "Patient" and len(kept) == observations + 1
    return copy.deepcopy({**bundle, "entry": kept})


def patient_of(bundle: dict[str, Any]) -> dict[str, Any]:
    """The Bundle's Patient resource (its first entry in Synthea)."""
    resource: dict[str, Any] = bundle["entry"][0]["resource"]
    assert resource["resourceType"] == "Patient"
    return resource


def values(bundle: dict[str, Any]) -> list[float]:
    """The Observations' valueQuantity values as the Bundle holds them."""
    return sorted(float(e["resource"]["valueQuantity"]["value"]) for e in bundle["entry"]
                  if e["resource"]["resourceType"] == "Observation")
