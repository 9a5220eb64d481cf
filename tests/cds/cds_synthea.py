"""Reading the Synthea Bundles as an EHR would serve them, and what each record shows.

Expectations are computed here from the Bundles themselves (CKD-EPI 2021 as published, KDIGO
GFR categories), independently of ectocalc's code.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from shared_dir import SHARED

SYNTHEA = SHARED / "fhir" / "synthea-r4"
BUNDLES = sorted(SYNTHEA.glob("*.json")) if SYNTHEA.is_dir() else []
CREATININE = {"38483-4", "2160-0"}
CALCIUM = {"49765-1", "17861-6"}
ALBUMIN = {"1751-7"}
ADULT_CALCIUM_MG_DL = (8.6, 10.2)
"""Typical adult total calcium interval (shared/references/clinical.md)."""
CKD_WORDS = ("chronic kidney disease",)


@cache
def resources(path: Path) -> tuple[dict[str, Any], ...]:
    return tuple(e["resource"] for e in json.loads(path.read_text())["entry"])


def named(name: str) -> Path:
    return next(p for p in BUNDLES if p.name.startswith(name))


def searchset(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset",
            "entry": [{"fullUrl": f"{r['resourceType']}/{r['id']}", "resource": r,
                       "search": {"mode": "match"}} for r in items]}


def loinc(resource: dict[str, Any]) -> set[str]:
    return {c.get("code") for c in resource.get("code", {}).get("coding", [])
            if c.get("system") == "http://loinc.org"}


def prefetch(path: Path, lab_codes: set[str]) -> dict[str, Any]:
    """What an EHR answers to ectocalc's prefetch templates for this patient."""
    items = resources(path)
    return {
        "patient": next(r for r in items if r["resourceType"] == "Patient"),
        "labs": searchset([r for r in items if r["resourceType"] == "Observation"
                           and loinc(r) & lab_codes]),
        "conditions": searchset([r for r in items if r["resourceType"] == "Condition"]),
        "medications": searchset([r for r in items if r["resourceType"] == "MedicationRequest"]),
    }


def _when(resource: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(resource["effectiveDateTime"])


def results(path: Path, codes: set[str]) -> list[tuple[datetime, float]]:
    """(time, value) of the Observations with one of ``codes``, in Bundle order."""
    return [(_when(r), r["valueQuantity"]["value"]) for r in resources(path)
            if r["resourceType"] == "Observation" and loinc(r) & codes and "valueQuantity" in r]


def egfr_2021(creatinine_mg_dl: float, age: float, female: bool) -> float:
    """CKD-EPI 2021 creatinine (Inker 2021), written out from the publication."""
    kappa, alpha = (0.7, -0.241) if female else (0.9, -0.302)
    ratio = creatinine_mg_dl / kappa
    value = 142 * min(ratio, 1) ** alpha * max(ratio, 1) ** -1.200 * 0.9938 ** age
    return value * (1.012 if female else 1.0)


def kidney(path: Path) -> dict[str, Any]:
    """What the Bundle shows about kidney function: the last eGFR, chronic CKD or not."""
    items = resources(path)
    patient = next(r for r in items if r["resourceType"] == "Patient")
    born = date.fromisoformat(patient["birthDate"])
    female = patient["gender"] == "female"
    series = [(when, egfr_2021(value, (when.date() - born).days / 365.2425, female))
              for when, value in results(path, CREATININE)]
    last_time = max(when for when, _ in series) if series else None
    last = [value for when, value in series if when == last_time][-1] if series else None
    stated = any(any(w in (c.get("display") or "").lower() for w in CKD_WORDS)
                 for r in items if r["resourceType"] == "Condition"
                 for c in r["code"].get("coding", []))
    low = [when for when, value in series if value < 60]
    chronic = stated or (bool(low) and (max(low) - min(low)).days > 90)
    calcium = results(path, CALCIUM)
    calcium_time = max(when for when, _ in calcium) if calcium else None
    return {"egfr": last, "chronic": chronic, "ever_below_60": bool(low),
            "last_calcium": calcium_time.date() if calcium_time else None,
            "calcium_value": [v for when, v in calcium if when == calcium_time][-1]
            if calcium else None,
            "albumin_measured": bool(results(path, ALBUMIN)),
            "born": born, "last_creatinine": last_time}


def gfr_category(egfr: float) -> str:
    """KDIGO 2012 GFR category."""
    for limit, name in ((90, "G1"), (60, "G2"), (45, "G3a"), (30, "G3b"), (15, "G4")):
        if egfr >= limit:
            return name
    return "G5"


