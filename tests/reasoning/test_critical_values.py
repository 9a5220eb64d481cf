"""Issue 20 kinds 6, 9 and 10: critical values get a plan with urgency; severe hypercalcaemia
is treated by kidney function whatever its cause; parathyroid surgery is timed and justified.

Sources: UK Kidney Association 2020 (hyperkalaemia >= 6.5 mmol/L severe), Society for
Endocrinology 2016 and Endocrine Society 2023 (severe hypercalcaemia), Bilezikian 2014 (PHPT),
KDIGO 2009 transplant guideline (hyperparathyroidism often settles in the first year).
"""

from __future__ import annotations

import pytest
from tests.reasoning.case_helpers import ids, lab, run

ARTERIES = [{"site": "femoral arteries", "modality": "xray"}]


def _item(result, item_id):  # type: ignore[no-untyped-def]
    return next(m for m in result.management if m.id == item_id)


@pytest.mark.parametrize(("potassium", "urgency", "severity"),
                         [(6.5, "today", "critical"), (6.2, "today", "warning"),
                          (5.6, "soon", "info")])
def test_potassium_plan_follows_its_severity(potassium: float, urgency: str,
                                             severity: str) -> None:
    result = run(patient={"age_years": 79, "sex": "male"},
                 labs=[lab("potassium", potassium, "mmol/L"), lab("creatinine", 2.4, "mg/dL")],
                 medications=[{"text": "spironolactone 25 mg"},
                              {"text": "co-trimoxazole 960 mg twice daily"}],
                 findings=ARTERIES)
    plan = _item(result, "potassium_lowering")
    assert plan.urgency == urgency
    assert "spironolactone, co-trimoxazole" in plan.reason
    assert next(a for a in result.alerts if a.id == "hyperkalemia").severity == severity
    assert ("ecg" in ids(result.workup)) is (potassium >= 6.0)


def test_severe_hyperkalaemia_names_the_emergency_department() -> None:
    result = run(labs=[lab("potassium", 6.8, "mmol/L"), lab("creatinine", 1.0, "mg/dL")],
                 medications=[{"text": "ramipril 10 mg"}], findings=ARTERIES)
    assert "emergency department" in _item(result, "potassium_lowering").reason
    assert "ramipril" in _item(result, "stop_offending_agent").reason
    assert "critical_value" in ids(result.alerts)


SEVERE_CALCIUM = [lab("calcium", 14.6, "mg/dL"), lab("albumin", 3.6, "g/dL"),
                  lab("phosphate", 3.0, "mg/dL"), lab("pth", 9, "pg/mL")]


@pytest.mark.parametrize(("creatinine", "drug", "not_drug"),
                         [(0.8, "bisphosphonate", "denosumab"),
                          (2.6, "denosumab", "bisphosphonate")])
def test_severe_hypercalcaemia_treatment_follows_kidney_function(creatinine: float, drug: str,
                                                                 not_drug: str) -> None:
    """No cause named at all: the treatment still follows (fluids, calcitonin, then an
    antiresorptive chosen by eGFR: 2.6 mg/dL at 74 is an eGFR below 30)."""
    result = run(patient={"age_years": 74, "sex": "male"},
                 labs=[*SEVERE_CALCIUM, lab("creatinine", creatinine, "mg/dL")],
                 findings=[{"site": "right lung nodule", "modality": "ct"}])
    management = ids(result.management)
    assert {"iv_fluids", "calcitonin", drug} <= set(management)
    assert not_drug not in management
    assert _item(result, "iv_fluids").urgency == "today"
    assert _item(result, drug).urgency == "today"
    assert ("serum_calcium", None) in [(m.test, m.interval_months) for m in result.monitoring]


def test_denosumab_is_withheld_in_pregnancy() -> None:
    result = run(patient={"age_years": 30, "sex": "female", "pregnant": True,
                          "gestation_weeks": 20},
                 labs=[*SEVERE_CALCIUM, lab("creatinine", 3.5, "mg/dL")],
                 findings=[{"site": "both kidneys", "modality": "ultrasound"}])
    assert "denosumab" not in ids(result.management)
    assert any("denosumab is contraindicated" in w.lower()
               for m in result.management for w in m.withheld)


PHPT = [lab("calcium", 11.6, "mg/dL"), lab("albumin", 4.0, "g/dL"),
        lab("phosphate", 2.4, "mg/dL"), lab("pth", 142, "pg/mL"), lab("creatinine", 0.9, "mg/dL")]


def test_surgery_declined_gives_cinacalcet() -> None:
    result = run(patient={"age_years": 81, "sex": "female"}, labs=PHPT,
                 conditions=[{"text": "primary hyperparathyroidism, declined parathyroidectomy"}],
                 findings=[{"site": "both kidneys, nephrocalcinosis", "modality": "ultrasound"}])
    assert "parathyroidectomy" not in ids(result.management)
    assert "cinacalcet" in _item(result, "calcimimetic").reason


def test_an_aortic_knob_is_no_reason_for_parathyroid_surgery() -> None:
    mild = [lab("calcium", 10.6, "mg/dL"), lab("albumin", 4.1, "g/dL"),
            lab("phosphate", 2.7, "mg/dL"), lab("pth", 78, "pg/mL"),
            lab("creatinine", 0.8, "mg/dL")]
    knob = run(patient={"age_years": 67, "sex": "female"}, labs=mild,
               findings=[{"site": "aortic knob", "modality": "xray"}])
    kidney = run(patient={"age_years": 67, "sex": "female"}, labs=mild,
                 findings=[{"site": "both kidneys, nephrocalcinosis", "modality": "ultrasound"}])
    assert "parathyroidectomy" not in ids(knob.management)
    assert "parathyroidectomy" in ids(kidney.management)  # nephrocalcinosis is a criterion
    assert ("serum_calcium", (12.0, 12.0)) in [(m.test, m.interval_months)
                                               for m in knob.monitoring]


TERTIARY = [lab("calcium", 11.1, "mg/dL"), lab("albumin", 4.0, "g/dL"),
            lab("phosphate", 2.3, "mg/dL"), lab("pth", 410, "pg/mL"),
            lab("creatinine", 1.3, "mg/dL")]


@pytest.mark.parametrize(("history", "case_date", "ptx"), [
    ("kidney transplant 2026-06", "2026-11-10", False),
    ("renal transplant 5 months ago", "2026-11-10", False),
    ("kidney transplant 2024-09", "2026-11-10", True),
    ("kidney transplant 2026-06", None, True),  # no case date: the delay cannot be judged
])
def test_parathyroidectomy_waits_a_year_after_transplant(history: str, case_date: str | None,
                                                         ptx: bool) -> None:
    document = {"patient": {"age_years": 49, "sex": "male"}, "labs": TERTIARY,
                "conditions": [{"text": history}],
                "findings": [{"site": "transplant kidney", "modality": "ultrasound"}]}
    if case_date:
        document["date"] = case_date
    result = run(**document)
    assert ("parathyroidectomy" in ids(result.management)) is ptx
    assert "calcimimetic" in ids(result.management)


@pytest.mark.parametrize(("calcium", "history", "ptx"), [
    (14.2, "kidney transplant 2026-06", True),            # severe: 14 mg/dL or more
    (12.8, "kidney transplant 2026-06; confusion", True),  # moderate with symptoms
    (12.8, "kidney transplant 2026-06", False),           # moderate, asymptomatic: waits
])
def test_severe_hypercalcaemia_does_not_wait_after_transplant(calcium: float, history: str,
                                                              ptx: bool) -> None:
    severe = [lab("calcium", calcium, "mg/dL"), *TERTIARY[1:]]
    result = run(date="2026-11-10", patient={"age_years": 49, "sex": "male"}, labs=severe,
                 conditions=[{"text": history}],
                 findings=[{"site": "transplant kidney", "modality": "ultrasound"}])
    assert ("parathyroidectomy" in ids(result.management)) is ptx
