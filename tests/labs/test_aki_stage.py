"""KDIGO 2012 AKI by creatinine (2.1.1) and its stage (2.1.2, Table 2)."""

from __future__ import annotations

from datetime import date

import pytest

from ectocalc.knowledge import load_knowledge
from ectocalc.labs.derive import creatinine_aki
from ectocalc.labs.results import make_lab_result
from ectocalc.model import Derived
from ectocalc.model.case import Case

KB = load_knowledge()


def _case(*series: tuple[float, int]) -> Case:
    labs = [make_lab_result(source="c", field=f"labs[{i}]", analyte_name="creatinine", value=v,
                            unit="mg/dL", date=date(2026, 10, day))
            for i, (v, day) in enumerate(series)]
    return Case(date=date(2026, 10, 20), labs=labs)


@pytest.mark.parametrize(("series", "stage"), [
    (((1.0, 1), (1.4, 2)), 1),               # +0.4 mg/dL within 48 h, 1.4 x
    (((1.0, 1), (1.6, 6)), 1),               # 1.6 x within 7 days
    (((1.0, 1), (2.2, 5)), 2),               # 2.2 x
    (((1.0, 1), (3.1, 6)), 3),               # 3.1 x
    (((3.0, 1), (4.1, 2)), 3),               # creatinine 4.0 mg/dL or more after an acute rise
    (((1.0, 1), (1.5, 3), (2.5, 5)), 2),     # staged on the lowest value of the 7 days
])
def test_kdigo_stage(series: tuple[tuple[float, int], ...], stage: int) -> None:
    text = creatinine_aki(_case(*series), KB)
    assert text is not None and text.endswith(f"KDIGO stage {stage}")


def test_no_aki_without_an_acute_rise() -> None:
    assert creatinine_aki(_case((1.0, 1), (1.2, 2)), KB) is None        # +0.2 in 48 h
    assert creatinine_aki(_case((1.0, 1), (1.6, 12)), KB) is None       # 1.6 x over 11 days


def _derived(first: str, second: str, **extra: object) -> Derived:
    from ectocalc.io.case_file import case_from_mapping
    from ectocalc.service import assess_case

    document = {"date": second, "patient": {"age_years": 74, "sex": "female"},
                "labs": [{"analyte": "creatinine", "value": 0.8, "unit": "mg/dL", "date": first},
                         {"analyte": "creatinine", "value": 2.0, "unit": "mg/dL",
                          "date": second}], **extra}
    return assess_case(case_from_mapping(document, source="t.yaml"), scans=()).derived


def test_normal_kidney_function_under_3_months_ago_is_acute_kidney_disease() -> None:
    derived = _derived("2026-01-01", "2026-03-01")      # 59 days: not AKI (> 7 days), not CKD
    assert derived.acute_kidney_injury is None
    assert derived.ckd_stage is None
    assert any("acute kidney disease, not CKD" in n and "59 days" in n
               for n in derived.notes)


def test_single_reduced_egfr_after_a_presumed_baseline_is_not_staged() -> None:
    # 195 days: not AKI by the 7-day window, but creatinine 0.8 -> 2.0 mg/dL is 2.5 x a normal
    # result of the past year and the only reduced one: acute kidney disease (KDIGO 2012 AKI
    # 2.1.1, baseline "known or presumed"), second round 3 review: no CKD G4 from it
    derived = _derived("2025-07-01", "2026-01-12")
    assert derived.ckd_stage is None
    assert any("presumed baseline" in n and "195 days" in n for n in derived.notes)


def test_normal_kidney_function_over_a_year_ago_still_stages() -> None:
    derived = _derived("2024-07-01", "2026-01-12")      # 560 days: no presumed baseline
    assert derived.ckd_stage == "G4"
    assert derived.ckd_chronicity is None


def test_small_rise_after_an_older_normal_result_still_stages() -> None:
    # 0.8 -> 1.1 mg/dL (1.4 x, below the 1.5 x AKI ratio) 195 days apart: eGFR 53 is G3a
    from ectocalc.io.case_file import case_from_mapping
    from ectocalc.service import assess_case

    document = {"date": "2026-01-12", "patient": {"age_years": 74, "sex": "female"},
                "labs": [{"analyte": "creatinine", "value": 0.8, "unit": "mg/dL",
                          "date": "2025-07-01"},
                         {"analyte": "creatinine", "value": 1.1, "unit": "mg/dL",
                          "date": "2026-01-12"}]}
    derived = assess_case(case_from_mapping(document, source="t.yaml"), scans=()).derived
    assert derived.ckd_stage == "G3a"


def test_stated_ckd_keeps_its_stage() -> None:
    derived = _derived("2026-01-01", "2026-03-01",
                       conditions=[{"text": "chronic kidney disease"}])
    assert derived.ckd_stage == "G4"
