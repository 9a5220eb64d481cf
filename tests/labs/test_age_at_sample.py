"""eGFR uses the patient's age when the creatinine was taken, not the age on the case date."""

from __future__ import annotations

from ectocalc.io.case_file import case_from_mapping
from ectocalc.labs import equations as eq
from ectocalc.service import assess_case


def _egfr(document: dict[str, object]) -> tuple[float | None, str]:
    derived = assess_case(case_from_mapping(document, source="t.yaml"), scans=()).derived
    age = next(b.inputs["age_years"] for b in derived.basis
               if b.quantity == "egfr_ml_min_1_73m2")
    return derived.egfr_ml_min_1_73m2, age


def test_a_creatinine_from_a_year_before_the_case_date_uses_the_age_then() -> None:
    document = {"date": "2026-03-01", "patient": {"age_years": 66, "sex": "female"},
                "labs": [{"analyte": "creatinine", "value": 2.6, "unit": "mg/dL",
                          "date": "2025-03-01"}]}
    egfr, age = _egfr(document)
    expected = eq.egfr_ckd_epi_2021_creatinine(2.6, age_years=66 - 365 / 365.2425,
                                               sex="female")
    assert egfr is not None and abs(egfr - expected) < 0.01
    assert age == "65"
    same_day = {**document, "labs": [{**document["labs"][0], "date": "2026-03-01"}]}  # type: ignore[index]
    assert _egfr(same_day)[1] == "66"


def test_without_a_case_date_the_age_is_used_as_given() -> None:
    document = {"patient": {"age_years": 66, "sex": "female"},
                "labs": [{"analyte": "creatinine", "value": 2.6, "unit": "mg/dL",
                          "date": "2025-03-01"}]}
    egfr, _ = _egfr(document)
    assert egfr == eq.egfr_ckd_epi_2021_creatinine(2.6, age_years=66, sex="female")
