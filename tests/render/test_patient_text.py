"""Issue 20 kind 11: the patient text says "today" for critical values, never states a cause the
assessment does not hold, reassures when nothing is needed, and addresses a child's parents;
the clinician text report shows the transplant stage (G2T) as the JSON does."""

from __future__ import annotations

from tests.reasoning.case_helpers import NORMAL_LABS, lab, run

from ectocalc.render import render
from ectocalc.render.patient import patient_text
from ectocalc.render.text import clinician_text

ARTERIES = [{"site": "femoral arteries", "modality": "xray"}]


def test_critical_potassium_says_today_and_emergency_department() -> None:
    result = run(labs=[lab("potassium", 6.8, "mmol/L"), *NORMAL_LABS], findings=ARTERIES)
    text = patient_text(result)
    assert "Please act today" in text and "emergency department" in text
    assert "care team soon" not in text
    assert "[TODAY] Potassium 6.5 mmol/L or more" in clinician_text(result, width=400)
    assert '<b class="urgency-today">[TODAY]</b>' in render(result, format="html")
    assert '"urgency": "today"' in render(result, format="json")


def test_a_childs_critical_text_stays_addressed_to_the_parents() -> None:
    text = patient_text(run(patient={"age_years": 8, "sex": "male", "height_cm": 128},
                            labs=[lab("potassium", 6.9, "mmol/L"), *NORMAL_LABS],
                            findings=[{"site": "both kidneys", "modality": "ultrasound"}]))
    assert "parents or carers of a child" in text
    assert "take your child to the emergency department" in text


def test_physiological_finding_is_reassured() -> None:
    text = patient_text(run(patient={"age_years": 47, "sex": "female"},
                            findings=[{"site": "pelvic phleboliths", "modality": "ct"}]))
    assert "Good news" in text and "needs no further tests or treatment" in text
    assert "not suitable for you" not in text  # set-aside tests are not withheld treatments


def test_low_confidence_cause_is_a_possibility_not_a_statement() -> None:
    """Missing core labs leave the mechanism at low confidence: the text hedges it."""
    result = run(conditions=[{"text": "CKD stage 4"}], findings=ARTERIES)
    assert result.mechanism.confidence == "low"
    text = patient_text(result)
    assert "The cause is not yet clear" in text
    assert "The pattern fits calcium and phosphate" not in text


def test_text_report_shows_the_transplant_stage() -> None:
    result = run(date="2026-11-10", patient={"age_years": 49, "sex": "male"},
                 labs=[lab("creatinine", 1.3, "mg/dL"), lab("calcium", 9.5, "mg/dL")],
                 conditions=[{"text": "kidney transplant 2024-01"}], findings=ARTERIES)
    assert result.derived.ckd_stage == "G2T"
    stage = next(d for d in result.derived.basis if d.quantity == "ckd_stage")
    assert stage.value == "G2T"
    text = clinician_text(result)
    assert "G2T" in text
    assert "[TODAY]" not in text  # nothing critical here: no urgency shown


def test_phleboliths_are_in_veins_not_muscle() -> None:
    """Round 3 blind review (case 13): a phlebolith is a calcified clot in a vein."""
    text = patient_text(run(patient={"age_years": 47, "sex": "female"}, labs=NORMAL_LABS,
                            findings=[{"site": "pelvis, phleboliths", "modality": "xray"}]))
    assert "in small veins" in text and "muscle" not in text


def test_bisphosphonate_for_high_calcium_is_worded_by_its_indication() -> None:
    """Round 3 blind review: given to lower a high calcium, a bisphosphonate is not described as
    slowing mineral deposition (its PXE use)."""
    text = patient_text(run(patient={"age_years": 60, "sex": "female"},
                            labs=[lab("calcium", 15.0, "mg/dL"), lab("albumin", 4.0, "g/dL"),
                                  lab("pth", 5, "pg/mL"), lab("creatinine", 0.8, "mg/dL")],
                            conditions=[{"text": "metastatic breast cancer"}],
                            findings=[{"site": "both kidneys, nephrocalcinosis"}]))
    assert "lowers a high blood calcium" in text
    assert "mineral deposition" not in text
