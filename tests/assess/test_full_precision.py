"""The analysis keeps full precision; numbers are rounded only when shown (model.display).

Flags and rules judge a derived quantity as it is reported, so a flag always agrees with the
number printed beside it.
"""

from __future__ import annotations

import json
from typing import Any

from ectocalc.io.case_file import case_from_mapping
from ectocalc.io.fhir_out import assessment_bundle
from ectocalc.labs import equations as eq
from ectocalc.model import Assessment, for_display
from ectocalc.service import assess_case, render_assessment


def _assess(labs: list[dict[str, Any]], **patient: Any) -> Assessment:
    document = {"patient": {"age_years": 61, "sex": "female", **patient},
                "labs": [{**lab, "unit": lab.get("unit", "mg/dL")} for lab in labs]}
    return assess_case(case_from_mapping(document, source="t.yaml"), scans=())


def test_egfr_is_kept_exact_and_shown_to_two_decimals() -> None:
    a = _assess([{"analyte": "creatinine", "value": 1.37}])
    exact = eq.egfr_ckd_epi_2021_creatinine(1.37, age_years=61, sex="female")
    assert a.derived.egfr_ml_min_1_73m2 == exact
    assert a.derived.egfr_by_equation == {"CKD-EPI 2021 creatinine": exact}
    assert round(exact, 2) != exact           # the case needs the precision to show anything
    shown = json.loads(render_assessment(a, format="json"))["derived"]
    assert shown["egfr_ml_min_1_73m2"] == round(exact, 2)
    assert shown["egfr_by_equation"] == {"CKD-EPI 2021 creatinine": round(exact, 2)}
    basis = next(b for b in shown["basis"] if b["quantity"] == "egfr_ml_min_1_73m2")
    assert basis["value"] == round(exact, 2)
    egfr = next(e["resource"] for e in assessment_bundle(a)["entry"]
                if e["resource"].get("method", {}).get("text") == "CKD-EPI 2021 creatinine")
    assert egfr["valueQuantity"]["value"] == round(exact, 2)


def test_calcium_phosphate_product_sums_exact_values() -> None:
    a = _assess([{"analyte": "calcium", "value": 9.3}, {"analyte": "albumin", "value": 3.3,
                                                         "unit": "g/dL"},
                 {"analyte": "phosphate", "value": 6.7}])
    corrected = 9.3 + 0.8 * (4.0 - 3.3)
    assert a.derived.corrected_calcium_mg_dl == corrected
    assert a.derived.calcium_phosphate_product_mg2_dl2 == corrected * 6.7
    shown = for_display(a).derived
    assert shown.corrected_calcium_mg_dl == 9.86
    assert shown.calcium_phosphate_product_mg2_dl2 == 66.1      # 66.062
    assert shown.calcium_phosphate_product_mmol2_l2 == round(corrected * 6.7 * 0.2495 * 0.3229, 2)


def test_a_flag_agrees_with_the_shown_value_at_the_limit() -> None:
    """9.8 + 0.8 x 0.5 is 10.200000000000001 in floating point: shown 10.2, judged 10.2 (the
    adult upper limit), so normal; 10.204 is shown and judged 10.2 too."""
    noisy = _assess([{"analyte": "calcium", "value": 9.8},
                     {"analyte": "albumin", "value": 3.5, "unit": "g/dL"}])
    assert noisy.derived.corrected_calcium_mg_dl is not None
    assert noisy.derived.corrected_calcium_mg_dl > 10.2
    assert noisy.derived.calcium_status == "normal"
    assert "hypercalcemia" not in {alert.id for alert in noisy.alerts}
    above = _assess([{"analyte": "calcium", "value": 10.204},
                     {"analyte": "albumin", "value": 4.0, "unit": "g/dL"}])
    assert above.derived.corrected_calcium_mg_dl == 10.204
    assert above.derived.calcium_status == "normal"
    high = _assess([{"analyte": "calcium", "value": 10.21},
                    {"analyte": "albumin", "value": 4.0, "unit": "g/dL"}])
    assert high.derived.calcium_status == "high"


def test_mechanism_scores_are_exact_and_shown_to_three_decimals() -> None:
    a = _assess([{"analyte": "phosphate", "value": 7.8}, {"analyte": "creatinine", "value": 6.0}],
                age_years=70)
    scores = [m.score for m in a.mechanism.differential]
    assert any(round(s, 3) != s for s in scores)
    shown = json.loads(render_assessment(a, format="json"))["mechanism"]["differential"]
    assert [m["score"] for m in shown] == [round(s, 3) for s in scores]
    assert [m["score"] for m in shown] == sorted((m["score"] for m in shown), reverse=True)
