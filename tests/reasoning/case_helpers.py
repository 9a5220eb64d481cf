"""Case-building helpers for the reasoning tests (plain contract documents)."""

from __future__ import annotations

from typing import Any

from ectocalc.io.case_file import case_from_mapping
from ectocalc.model import Assessment
from ectocalc.service import assess_case as assess


def lab(analyte: str, value: float, unit: str, **extra: Any) -> dict[str, Any]:
    """One lab entry of a case document."""
    return {"analyte": analyte, "value": value, "unit": unit, **extra}


NORMAL_LABS = [lab("calcium", 9.5, "mg/dL"), lab("phosphate", 3.5, "mg/dL"),
               lab("albumin", 4.2, "g/dL"), lab("creatinine", 0.8, "mg/dL"),
               lab("magnesium", 2.0, "mg/dL")]
"""Normal calcium, phosphate, albumin, kidney function and magnesium (the seeds' blood tests)."""


def ids(items: list[Any]) -> list[str]:
    """The identifiers of assessment items, in output order."""
    return [item.id for item in items]


def run(**document: Any) -> Assessment:
    """Assess a case document through the whole pipeline (as ``ectocalc assess`` does)."""
    document.setdefault("patient", {"age_years": 50, "sex": "female"})
    return assess(case_from_mapping(document, source="test-case"))
