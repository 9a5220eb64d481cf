"""Issue 20 kind 3: a value flagged implausible is excluded from every calculation and rule.

The ``implausible_value`` alert names the value and what was not computed without it.
"""

from __future__ import annotations

from tests.reasoning.case_helpers import ids, lab, run

TENDON = [{"site": "left shoulder, supraspinatus tendon", "size_mm": 8, "pain": "mild"}]


def _alert(result, alert_id):  # type: ignore[no-untyped-def]
    return next(a for a in result.alerts if a.id == alert_id)


def test_albumin_in_g_per_l_gives_no_corrected_calcium() -> None:
    """Albumin 3.9 g/L is 0.39 g/dL; used, it would give a corrected calcium of
    9.4 + 0.8 x (4.0 - 0.39) = 12.29 mg/dL (severe hypercalcaemia)."""
    result = run(labs=[lab("albumin", 3.9, "g/L"), lab("calcium", 9.4, "mg/dL"),
                       lab("phosphate", 3.3, "mg/dL"), lab("pth", 52, "pg/mL"),
                       lab("creatinine", 0.8, "mg/dL")], findings=TENDON)
    assert result.derived.corrected_calcium_mg_dl is None
    alert = _alert(result, "implausible_value")
    assert "Albumin 3.9 g/L" in alert.message
    assert "not computed: corrected_calcium_mg_dl" in alert.message
    assert "hypercalcemia" not in ids(result.alerts)
    assert "hyperparathyroidism" not in ids(result.syndromes)
    assert not {"parathyroidectomy", "calcimimetic", "bisphosphonate", "iv_fluids"} & set(
        ids(result.management))
    # the value is still reported, and albumin is asked for again
    assert "albumin" in [r.analyte for r in result.labs]
    assert "serum_albumin" in ids(result.workup)


def test_the_same_albumin_in_g_per_dl_is_used() -> None:
    result = run(labs=[lab("albumin", 3.9, "g/dL"), lab("calcium", 9.4, "mg/dL"),
                       lab("phosphate", 3.3, "mg/dL"), lab("creatinine", 0.8, "mg/dL")],
                 findings=TENDON)
    assert result.derived.corrected_calcium_mg_dl == 9.48  # 9.4 + 0.8 x 0.1
    assert "implausible_value" not in ids(result.alerts)


def test_implausible_creatinine_gives_no_egfr_and_no_stage() -> None:
    result = run(patient={"age_years": 44, "sex": "male"},
                 labs=[lab("creatinine", 25, "mg/dL"), lab("calcium", 9.6, "mg/dL"),
                       lab("phosphate", 3.4, "mg/dL")],
                 findings=[{"site": "right thigh", "modality": "xray"}])
    assert result.derived.egfr_ml_min_1_73m2 is None and result.derived.ckd_stage is None
    message = _alert(result, "implausible_value").message
    assert "Creatinine 25 mg/dL" in message and "egfr_ml_min_1_73m2" in message
    assert "ckd_mbd" not in ids(result.syndromes)
    assert "kidney_function" in ids(result.workup)


def test_an_implausible_critical_value_asks_for_a_repeat_today() -> None:
    """Calcium 18 mg/dL is beyond the plausible 4-16: not used, but never silently dropped."""
    result = run(labs=[lab("calcium", 18, "mg/dL")], findings=TENDON)
    critical = _alert(result, "critical_value")
    assert critical.severity == "critical" and "repeat the test today" in critical.message
    assert "iv_fluids" not in ids(result.management)
