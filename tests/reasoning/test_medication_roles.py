"""Issue 20 kind 1: a medication has an indication and a role (replacement, treatment, culprit).

A drug the patient needs (calcitriol replacing PTH in hypoparathyroidism) is adjusted
(``adjust_dose``); only a drug that is itself the cause and not needed is stopped
(``stop_offending_agent``); each reason names the drug as the case writes it.
"""

from __future__ import annotations

from tests.reasoning.case_helpers import ids, lab, run

from ectocalc.model import Assessment

HYPOPARA_HIGH_CALCIUM = [lab("calcium", 10.9, "mg/dL"), lab("albumin", 4.0, "g/dL"),
                         lab("phosphate", 3.2, "mg/dL"), lab("pth", 4, "pg/mL"),
                         lab("creatinine", 0.6, "mg/dL")]


def _item(result: Assessment, item_id: str):  # type: ignore[no-untyped-def]
    return next(m for m in result.management if m.id == item_id)


def test_replacement_calcitriol_is_adjusted_not_stopped() -> None:
    result = run(patient={"age_years": 31, "sex": "female", "pregnant": True,
                          "gestation_weeks": 22},
                 labs=HYPOPARA_HIGH_CALCIUM,
                 conditions=[{"text": "post-surgical hypoparathyroidism"}],
                 medications=[{"text": "calcitriol 0.5 micrograms twice daily"}],
                 findings=[{"site": "both kidneys, nephrocalcinosis", "modality": "ultrasound"}])
    management = ids(result.management)
    assert "adjust_dose" in management
    assert "stop_offending_agent" not in management and "calcimimetic" not in management
    adjust = _item(result, "adjust_dose")
    assert "calcitriol" in adjust.reason and "reduce the dose" in adjust.reason
    assert adjust.urgency == "soon"
    assert any("replacement" in e for e in adjust.evidence)
    assert any("Pregnancy" in c for c in adjust.cautions)


def test_calcitriol_without_its_indication_is_stopped() -> None:
    """The same drug and calcium without hypoparathyroidism: a culprit (vitamin D loading)."""
    result = run(labs=[lab("calcium", 11.4, "mg/dL"), lab("albumin", 4.0, "g/dL"),
                       lab("phosphate", 4.0, "mg/dL"), lab("pth", 15, "pg/mL"),
                       lab("creatinine", 0.8, "mg/dL")],
                 medications=[{"text": "calcitriol 0.5 micrograms daily"}],
                 findings=[{"site": "both kidneys, nephrocalcinosis", "modality": "ultrasound"}])
    assert "stop_offending_agent" in ids(result.management)
    assert "adjust_dose" not in ids(result.management)


def test_ppi_is_named_as_the_culprit_of_low_magnesium() -> None:
    result = run(patient={"age_years": 68, "sex": "male"},
                 labs=[lab("magnesium", 0.7, "mg/dL"), lab("calcium", 7.2, "mg/dL"),
                       lab("albumin", 4.0, "g/dL"), lab("phosphate", 3.9, "mg/dL"),
                       lab("creatinine", 0.9, "mg/dL")],
                 medications=[{"text": "pantoprazole 40 mg daily"}],
                 findings=[{"site": "bilateral basal ganglia", "modality": "ct"}])
    stop = _item(result, "stop_offending_agent")
    assert "proton pump inhibitor (pantoprazole)" in stop.reason
    assert "adjust_dose" not in ids(result.management)


def test_ppi_with_normal_magnesium_is_left_alone() -> None:
    result = run(labs=[lab("magnesium", 2.0, "mg/dL"), lab("calcium", 9.4, "mg/dL"),
                       lab("phosphate", 3.5, "mg/dL"), lab("creatinine", 0.8, "mg/dL")],
                 medications=[{"text": "omeprazole 20 mg"}],
                 findings=[{"site": "right shoulder tendon", "pain": "mild"}])
    assert "stop_offending_agent" not in ids(result.management)


def test_binder_with_low_phosphate_on_home_haemodialysis_is_stopped() -> None:
    result = run(patient={"age_years": 52, "sex": "male"},
                 labs=[lab("phosphate", 2.1, "mg/dL"), lab("calcium", 9.1, "mg/dL"),
                       lab("albumin", 3.9, "g/dL"), lab("creatinine", 7.8, "mg/dL")],
                 conditions=[{"text": "ESKD on nocturnal home haemodialysis"}],
                 medications=[{"text": "sevelamer carbonate 1600 mg with meals"}],
                 findings=[{"site": "femoral arteries", "modality": "xray"}])
    management = ids(result.management)
    assert "stop_phosphate_binder" in management and "phosphate_binder" not in management
    assert "sevelamer" in _item(result, "stop_phosphate_binder").reason


def test_nsaid_with_lithium_names_the_nsaid_and_keeps_lithium() -> None:
    result = run(patient={"age_years": 59, "sex": "female"},
                 labs=[lab("creatinine", 1.35, "mg/dL"), lab("calcium", 9.4, "mg/dL"),
                       lab("phosphate", 3.6, "mg/dL")],
                 conditions=[{"text": "CKD stage 3b"}],
                 medications=[{"text": "lithium carbonate 800 mg"}, {"text": "naproxen 500 mg"}],
                 findings=[{"site": "right shoulder tendon", "size_mm": 9, "pain": "moderate"}])
    stop = _item(result, "stop_offending_agent")
    assert "NSAID (naproxen) with lithium" in stop.reason
    adjust = _item(result, "adjust_dose")
    assert adjust.reason.startswith("lithium carbonate with an NSAID")
    assert "do not stop it abruptly" in adjust.reason


def test_teriparatide_is_re_timed_not_stopped() -> None:
    result = run(patient={"age_years": 72, "sex": "female"},
                 labs=[lab("calcium", 10.8, "mg/dL"), lab("albumin", 4.0, "g/dL"),
                       lab("phosphate", 3.3, "mg/dL"), lab("pth", 12, "pg/mL"),
                       lab("creatinine", 0.8, "mg/dL")],
                 conditions=[{"text": "osteoporosis with vertebral fractures"}],
                 medications=[{"text": "teriparatide 20 micrograms daily"}],
                 findings=[{"site": "abdominal aorta", "modality": "xray"}])
    adjust = _item(result, "adjust_dose")
    assert adjust.reason.startswith("High calcium on teriparatide")
    assert "16 hours after the last dose" in adjust.reason
    assert "stop_offending_agent" not in ids(result.management)
    assert "parathyroidectomy" not in ids(result.management)
