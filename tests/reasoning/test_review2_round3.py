"""Faults of the second round 3 blind review (docs/clinical-review.md), beyond the vignettes."""

from __future__ import annotations

from typing import Any

import pytest
from tests.reasoning.case_helpers import lab, run

from ectocalc.model import Assessment


def _fhh(medications: list[dict[str, Any]], pth: float) -> Assessment:
    # calcium/creatinine clearance ratio = (4 x 0.9) / (10.8 x 100) = 0.0033 (below 0.01)
    return run(patient={"age_years": 45, "sex": "female"}, medications=medications,
               labs=[lab("calcium", 10.8, "mg/dL"), lab("albumin", 4.0, "g/dL"),
                     lab("pth", pth, "pg/mL"), lab("creatinine", 0.9, "mg/dL"),
                     lab("urine_calcium", 4, "mg/dL"), lab("urine_creatinine", 100, "mg/dL")])


def _certainty(a: Assessment, syndrome: str) -> str | None:
    return next((s.certainty for s in a.syndromes if s.id == syndrome), None)


def test_low_clearance_ratio_with_mildly_raised_pth_is_probable_fhh() -> None:
    # PTH 80 pg/mL is 1.2 times the upper limit 65: "mildly raised"
    assert _certainty(_fhh([], 80), "familial_hypocalciuric_hypercalcemia") == "probable"


def test_thiazide_caps_fhh_at_possible_and_asks_for_a_repeat_ratio() -> None:
    a = _fhh([{"text": "indapamide 2.5 mg"}], 80)
    (fhh,) = [s for s in a.syndromes if s.id == "familial_hypocalciuric_hypercalcemia"]
    assert fhh.certainty == "possible"
    assert any("off the drug" in note for note in fhh.notes)


def test_pth_twice_the_upper_limit_is_not_fhh() -> None:
    # 142 pg/mL is 2.2 times the upper limit 65 (above 1.5 times): primary hyperparathyroidism
    a = _fhh([], 142)
    assert _certainty(a, "familial_hypocalciuric_hypercalcemia") is None


@pytest.mark.parametrize(("calcium", "condition", "tls"), [
    # corrected calcium 6.8 mg/dL (albumin 4.0) with phosphate 9: Cairo-Bishop met
    (6.8, "Burkitt lymphoma, started chemotherapy 2 days ago", True),
    # corrected 8.2 mg/dL is low but above 7: with phosphate alone, only one lab criterion
    (8.2, "Burkitt lymphoma, started chemotherapy 2 days ago", False),
    # a cancer treated years ago is no TLS setting
    (6.8, "papillary thyroid cancer, total thyroidectomy 2019", False),
])
def test_tumour_lysis_needs_its_setting_and_calcium_7_or_less(
        calcium: float, condition: str, tls: bool) -> None:
    a = run(patient={"age_years": 30, "sex": "male"}, conditions=[{"text": condition}],
            labs=[lab("calcium", calcium, "mg/dL"), lab("albumin", 4.0, "g/dL"),
                  lab("phosphate", 9.0, "mg/dL"), lab("creatinine", 0.8, "mg/dL")])
    assert (_certainty(a, "tumor_lysis_syndrome") == "definitive") is tls
