"""The record is a data source for the core: ``record show`` flags, derives and alerts exactly as
``assess`` does for the same data and date, on every vignette that has results.

Each vignette (with its ``date``, else its latest result's date, else 2026-06-01, as the case
date) goes into one SQLite record under its own patient id; the record's view on that date is
compared with the assessment of the vignette as of that date: each latest result's flag and
range, each derived value (eGFR, corrected calcium with its flag, calcium x phosphate), the CKD
stage and every alert.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date as Date
from pathlib import Path
from typing import Any

import pytest

from ectocalc.assess import assess
from ectocalc.io.case_file import load_case
from ectocalc.knowledge import load_knowledge
from ectocalc.model.case import Case
from ectocalc.record import Store, add_case, open_store, patient_view

UNDATED = Date(2026, 6, 1)
"""The case date of a vignette whose results are all undated (they take the case date)."""
VIGNETTES = Path(__file__).resolve().parents[2] / "examples" / "vignettes"
INPUTS = {"egfr_ml_min_1_73m2": ("egfr", {"creatinine", "cystatin_c"}),
          "corrected_calcium_mg_dl": ("corrected_calcium", {"calcium", "albumin"}),
          "calcium_phosphate_product_mg2_dl2": ("calcium_phosphate_product",
                                                {"calcium", "albumin", "phosphate"})}


def _dated(path: Path) -> Case | None:
    """The vignette with a patient id and a case date, or None without results (or with CTs
    to quantify: their agreement is the scan tests')."""
    case = load_case(path)
    if not case.labs or case.scans:
        return None
    day = case.date or max((lab.date for lab in case.labs if lab.date is not None),
                           default=UNDATED)
    patient = case.patient.model_copy(update={"id": f"V-{path.stem}"})
    return case.model_copy(update={"date": day, "patient": patient})


CASES = {path.stem: case for path in sorted(VIGNETTES.glob("*.yaml"))
         if (case := _dated(path)) is not None}


@pytest.fixture(scope="module")
def record(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    store = open_store(f"sqlite:///{tmp_path_factory.mktemp('agree') / 'record.db'}")
    for name, case in CASES.items():
        assert add_case(store, case, name=name) == "added"
    yield store
    store.dispose()


def _point(series: list[dict[str, Any]], day: Date) -> dict[str, Any]:
    return [p for p in series if p["date"] == day.isoformat()][-1]


@pytest.mark.parametrize("name", sorted(CASES))
def test_record_show_agrees_with_assess(record: Store, name: str) -> None:
    case = CASES[name]
    assert case.date is not None and case.patient.id is not None
    knowledge = load_knowledge()
    assessment = assess(case, knowledge=knowledge, as_of=case.date)
    view = patient_view(record, case.patient.id, today=case.date, knowledge=knowledge)

    assert assessment.labs, name
    for report in assessment.labs:
        assert report.date is not None
        point = _point(view["series"][report.analyte], report.date)
        assert point["value"] == report.canonical_value, (name, report.analyte)
        assert point["flag"] == report.flag, (name, report.analyte)
        expected = None if report.reference_range is None else list(report.reference_range)
        assert point["reference_range"] == expected, (name, report.analyte)

    derived = assessment.derived
    latest = {r.analyte: r.date for r in assessment.labs}
    for attribute, (series, inputs) in INPUTS.items():
        value = getattr(derived, attribute)
        if value is None:
            assert series not in view["series"], (name, series)
            continue
        day = max(d for analyte, d in latest.items() if analyte in inputs and d is not None)
        point = _point(view["series"][series], day)
        assert point["value"] == value, (name, series)
        if series == "corrected_calcium" and derived.ionized_calcium_mmol_l is None:
            assert point["flag"] == derived.calcium_status, name

    assert view["ckd_stage"] == derived.ckd_stage, name
    shown = [(a["id"], a["severity"], a["message"]) for a in view["alerts"]]
    expected_alerts = [(a.id, a.severity, a.message) for a in assessment.alerts]
    assert shown[:len(expected_alerts)] == expected_alerts, name


def test_the_vignettes_with_results_are_compared() -> None:
    assert len(CASES) >= 40  # most vignettes carry results; none is silently left out
